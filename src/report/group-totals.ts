import type { GroupTotal } from './model.js';
import { startOf, type StepTrack } from './step-tracks.js';

/** Merges intervals and returns the total length covered. */
export function unionLength(intervals: [number, number][]): number {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [a, b] of sorted) {
    if (a > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else if (b > curEnd) {
      curEnd = b;
    }
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/** Totals per group (phase or role), groups in order of first appearance in the plan. */
export function totalBy(tracks: StepTrack[], keyOf: (t: StepTrack) => string): GroupTotal[] {
  const groups = new Map<string, StepTrack[]>();
  for (const t of tracks) {
    const key = keyOf(t);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [t]);
    else list.push(t);
  }
  return [...groups].map(([name, list]) => {
    const intervals: [number, number][] = [];
    let sumMs = 0;
    let estimateMs = 0;
    let first: number | undefined;
    let last: number | undefined;
    for (const t of list) {
      estimateMs += t.info.estimateMs ?? 0;
      const s = t.starts[0];
      const e = t.barEnd;
      if (s !== undefined && e !== undefined) {
        intervals.push([s, e]);
        sumMs += e - s;
      }
      const s2 = startOf(t);
      if (s2 !== undefined && (first === undefined || s2 < first)) first = s2;
      if (e !== undefined && (last === undefined || e > last)) last = e;
    }
    return {
      name,
      steps: list.length,
      succeeded: list.filter((t) => t.status === 'succeeded' || t.status === 'done-by-override').length,
      failed: list.filter((t) => t.status === 'failed' || t.status === 'unknown').length,
      notRun: list.filter((t) => t.status === 'not-run').length,
      sumMs,
      activeMs: unionLength(intervals),
      spanMs: first !== undefined && last !== undefined ? last - first : 0,
      startedAt: first === undefined ? undefined : new Date(first).toISOString(),
      endedAt: last === undefined ? undefined : new Date(last).toISOString(),
      estimateMs,
    };
  });
}
