import type { CriticalPath } from './model.js';
import { startOf, type StepTrack } from './step-tracks.js';

/**
 * The chain of steps that determined when the run ended (rollback steps aside): start from the step that ended last
 * and repeatedly step back to the need that ended last before it (its binding predecessor).
 */
export function findCriticalPath(tracks: Map<string, StepTrack>, runStart: number): CriticalPath {
  let last: StepTrack | undefined;
  for (const t of tracks.values()) {
    // Rollback steps undo the run after it failed; the path is about the run's own steps.
    if (t.barEnd === undefined || t.info.rollbackOf !== undefined) continue;
    if (last === undefined || t.barEnd > last.barEnd! || (t.barEnd === last.barEnd && t.order > last.order))
      last = t;
  }
  if (last === undefined) return { steps: [], endOffsetMs: 0, workMs: 0, waitMs: 0 };
  const path: StepTrack[] = [];
  const seen = new Set<string>();
  let cur: StepTrack | undefined = last;
  let waitMs = 0;
  while (cur !== undefined && !seen.has(cur.info.id)) {
    seen.add(cur.info.id);
    path.push(cur);
    const curStart = startOf(cur) ?? cur.barEnd!;
    let best: StepTrack | undefined;
    for (const id of cur.info.needs) {
      const p = tracks.get(id);
      if (p === undefined || p.barEnd === undefined || seen.has(id)) continue;
      if (best === undefined || p.barEnd > best.barEnd!) best = p;
    }
    if (best !== undefined) waitMs += Math.max(0, curStart - best.barEnd!);
    cur = best;
  }
  path.reverse();
  const workMs = path.reduce((sum, t) => sum + (t.starts[0] === undefined ? 0 : t.barEnd! - t.starts[0]), 0);
  return { steps: path.map((t) => t.info.id), endOffsetMs: last.barEnd! - runStart, workMs, waitMs };
}
