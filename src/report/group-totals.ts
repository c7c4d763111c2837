import { startOf, unionLength, workOf, type StepTrack } from '../journal/replay.js';
import type { GroupTotal } from './model.js';

export { unionLength };

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
    let sumMs = 0;
    let estimateMs = 0;
    let first: number | undefined;
    let last: number | undefined;
    for (const t of list) {
      estimateMs += t.info.estimateMs ?? 0;
      sumMs += workOf(t);
      const s = startOf(t);
      const e = t.barEnd;
      if (s !== undefined && (first === undefined || s < first)) first = s;
      if (e !== undefined && (last === undefined || e > last)) last = e;
    }
    return {
      name,
      steps: list.length,
      succeeded: list.filter((t) => t.status === 'succeeded' || t.status === 'done-by-override').length,
      failed: list.filter((t) => t.status === 'failed' || t.status === 'unknown').length,
      notRun: list.filter((t) => t.status === 'not-run').length,
      sumMs,
      activeMs: unionLength(list.flatMap((t) => t.work)),
      spanMs: first !== undefined && last !== undefined ? last - first : 0,
      startedAt: first === undefined ? undefined : new Date(first).toISOString(),
      endedAt: last === undefined ? undefined : new Date(last).toISOString(),
      estimateMs,
    };
  });
}
