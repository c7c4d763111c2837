import { DONE_STATUSES, subtract, type Interval, type StepTrack } from '../journal/replay.js';
import type { IdleGap, IdleKind } from './model.js';

/** What idle-gap detection needs from the replay. */
export interface TrackSet {
  tracks: Map<string, StepTrack>;
  runStart: number;
  runEnd: number;
  down: Interval[];
}

/** Gaps shorter than this are scheduling noise, not idle time. */
export const DEFAULT_MIN_GAP_MS = 1000;

interface Edge {
  at: number;
  active: number;
  approval: number;
  down: number;
}

/** Steps that could have started at `at`: not started yet and every need done by then. */
function readyAt(tracks: StepTrack[], byId: Map<string, StepTrack>, at: number): string[] {
  const ready: string[] = [];
  for (const t of tracks) {
    if (t.info.rollbackOf !== undefined) continue;
    const first = t.starts[0];
    if (first !== undefined && first <= at) continue;
    if (t.skipped !== undefined && t.skipped.at <= at) continue;
    if (t.overrideDoneAt !== undefined && t.overrideDoneAt <= at) continue;
    const ok = t.info.needs.every((id) => {
      const n = byId.get(id);
      return n !== undefined && n.end !== undefined && n.end <= at && DONE_STATUSES.has(n.status);
    });
    if (ok) ready.push(t.info.id);
  }
  return ready;
}

/**
 * Intervals of the run when no step was working: waiting for an approval, the process down
 * after a crash, or nothing running although a step was ready to start.
 */
export function findIdleGaps(set: TrackSet, minGapMs: number = DEFAULT_MIN_GAP_MS): IdleGap[] {
  const { runStart, runEnd } = set;
  const tracks = [...set.tracks.values()];
  const edges: Edge[] = [];
  const add = (from: number, to: number, key: 'active' | 'approval' | 'down'): void => {
    const a = Math.max(from, runStart);
    const b = Math.min(to, runEnd);
    if (b <= a) return;
    edges.push({ at: a, active: 0, approval: 0, down: 0, [key]: 1 });
    edges.push({ at: b, active: 0, approval: 0, down: 0, [key]: -1 });
  };
  const waitsOf = new Map<string, { from: number; to: number }[]>();
  for (const t of tracks) {
    // Time a step spends waiting for an approval (a manual step's sign-off included) is time
    // nothing automated runs on its behalf: it counts as idle when nothing else runs.
    const waits = t.approvalWaits.map((w) => ({ from: w.from, to: w.to ?? t.end ?? runEnd }));
    waitsOf.set(t.info.id, waits);
    for (const w of waits) add(w.from, w.to, 'approval');
    // A retry delay is not idle: the step is deliberately waiting to try again.
    for (const s of t.sessions) {
      const to = s.to ?? t.barEnd;
      if (to === undefined) continue;
      for (const p of subtract({ from: s.from, to }, waits)) add(p.from, p.to, 'active');
    }
  }
  for (const d of set.down) add(d.from, d.to, 'down');
  edges.sort((x, y) => x.at - y.at);

  const segments: { kind: IdleKind; from: number; to: number; steps: string[] }[] = [];
  let active = 0;
  let approval = 0;
  let down = 0;
  let cursor = runStart;
  let i = 0;
  while (cursor < runEnd) {
    while (i < edges.length && edges[i]!.at <= cursor) {
      active += edges[i]!.active;
      approval += edges[i]!.approval;
      down += edges[i]!.down;
      i++;
    }
    const next = i < edges.length ? Math.min(edges[i]!.at, runEnd) : runEnd;
    if ((active === 0 || down > 0) && next > cursor) {
      const at = cursor;
      let kind: IdleKind | undefined;
      let steps: string[] = [];
      if (down > 0) {
        kind = 'process-down';
      } else if (approval > 0) {
        kind = 'awaiting-approval';
        steps = tracks
          .filter((t) => (waitsOf.get(t.info.id) ?? []).some((w) => w.from <= at && w.to > at))
          .map((t) => t.info.id);
      } else {
        steps = readyAt(tracks, set.tracks, at);
        if (steps.length > 0) kind = 'nothing-running';
      }
      if (kind !== undefined) {
        const prev = segments.at(-1);
        if (prev !== undefined && prev.kind === kind && prev.to === cursor) {
          prev.to = next;
          for (const s of steps) if (!prev.steps.includes(s)) prev.steps.push(s);
        } else {
          segments.push({ kind, from: cursor, to: next, steps });
        }
      }
    }
    cursor = next;
  }
  return segments
    .filter((s) => s.to - s.from >= minGapMs)
    .map((s) => ({
      kind: s.kind,
      startedAt: new Date(s.from).toISOString(),
      endedAt: new Date(s.to).toISOString(),
      startOffsetMs: s.from - runStart,
      durationMs: s.to - s.from,
      steps: s.steps.slice(0, 10),
      reason: describeGap(s.kind, s.steps),
    }));
}

function describeGap(kind: IdleKind, steps: string[]): string {
  const list = steps.slice(0, 5).join(', ') + (steps.length > 5 ? ` and ${steps.length - 5} more` : '');
  switch (kind) {
    case 'process-down':
      return 'drctl was not running (the run was interrupted and later resumed)';
    case 'awaiting-approval':
      return `waiting for approval of ${list}`;
    case 'nothing-running':
      return `nothing running although ${list} could have started`;
  }
}
