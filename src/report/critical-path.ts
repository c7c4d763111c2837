import { startOf, workOf, type StepTrack } from '../journal/replay.js';
import type { CriticalPath } from './model.js';

/**
 * The chain of steps that determined when the run ended (rollback steps aside): start from the
 * step that ended last and repeatedly step back to the need that ended last before it (its
 * binding predecessor). Work is the path's steps' work; wait is the rest of the path's elapsed
 * time (approval waits, retry delays, drctl down, waiting for a slot or an operator).
 */
export function findCriticalPath(tracks: Map<string, StepTrack>, runStart: number): CriticalPath {
  let last: StepTrack | undefined;
  for (const t of tracks.values()) {
    // Rollback steps undo the run after it failed; the path is about the run's own steps.
    if (t.barEnd === undefined || t.info.rollbackOf !== undefined) continue;
    if (last === undefined || t.barEnd > last.barEnd! || (t.barEnd === last.barEnd && t.order > last.order))
      last = t;
  }
  if (last === undefined) return { steps: [], startOffsetMs: 0, endOffsetMs: 0, workMs: 0, waitMs: 0 };
  const path: StepTrack[] = [];
  const seen = new Set<string>();
  let cur: StepTrack | undefined = last;
  while (cur !== undefined && !seen.has(cur.info.id)) {
    seen.add(cur.info.id);
    path.push(cur);
    let best: StepTrack | undefined;
    for (const id of cur.info.needs) {
      const p = tracks.get(id);
      if (p === undefined || p.barEnd === undefined || seen.has(id)) continue;
      if (best === undefined || p.barEnd > best.barEnd!) best = p;
    }
    cur = best;
  }
  path.reverse();
  const firstStart = Math.min(...path.map((t) => startOf(t) ?? t.barEnd!));
  const workMs = path.reduce((sum, t) => sum + workOf(t), 0);
  const elapsed = last.barEnd! - firstStart;
  return {
    steps: path.map((t) => t.info.id),
    startOffsetMs: firstStart - runStart,
    endOffsetMs: last.barEnd! - runStart,
    workMs,
    waitMs: Math.max(0, elapsed - workMs),
  };
}
