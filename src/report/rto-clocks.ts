import { formatDuration } from '../util/duration.js';
import type { RtoClock } from './model.js';
import { DONE_STATUSES, startOf, type StepTrack } from './step-tracks.js';

/**
 * Measures one RTO clock: from the `from` step's first start to the `to` step's end. A `to`
 * step that never finished (or failed) leaves the clock "not reached"; the elapsed time is then
 * measured to the last event, which already proves a miss when it exceeds the objective.
 */
export function measureRtoClock(
  name: RtoClock['name'],
  bounds: { from: string; to: string } | undefined,
  objectiveMs: number | undefined,
  tracks: Map<string, StepTrack>,
  runStart: number,
  lastEvent: number,
): RtoClock {
  const base = {
    name,
    fromStep: bounds?.from,
    toStep: bounds?.to,
    objectiveMs,
    startedAt: undefined,
    endedAt: undefined,
    startOffsetMs: undefined,
    elapsedMs: undefined,
    marginMs: undefined,
  };
  if (bounds === undefined) {
    return { ...base, status: 'not-defined', verdict: 'no rto bounds in the runbook' };
  }
  const from = tracks.get(bounds.from);
  const to = tracks.get(bounds.to);
  const start = from === undefined ? undefined : startOf(from);
  if (start === undefined) {
    return { ...base, status: 'not-started', verdict: `not started: step ${bounds.from} never started` };
  }
  const objective = objectiveMs === undefined ? '' : ` against ${formatDuration(objectiveMs)}`;
  const startedAt = new Date(start).toISOString();
  const startOffsetMs = start - runStart;
  const reached =
    to !== undefined && to.end !== undefined && DONE_STATUSES.has(to.status) && to.status !== 'skipped';
  if (!reached) {
    const elapsedMs = Math.max(0, lastEvent - start);
    const marginMs = objectiveMs === undefined ? undefined : elapsedMs - objectiveMs;
    const why =
      to === undefined
        ? `step ${bounds.to} is not in the plan`
        : `step ${bounds.to} ${describeUnreached(to)}`;
    const tail =
      marginMs === undefined
        ? ''
        : marginMs > 0
          ? `; already over the objective by ${formatDuration(marginMs)} (missed)`
          : `; ${formatDuration(-marginMs)} of the objective left`;
    return {
      ...base,
      startedAt,
      startOffsetMs,
      elapsedMs,
      marginMs,
      status: 'not-reached',
      verdict: `not reached: ${why}; ${formatDuration(elapsedMs)} elapsed at the last event${objective}${tail}`,
    };
  }
  const elapsedMs = to.end! - start;
  const endedAt = new Date(to.end!).toISOString();
  if (objectiveMs === undefined) {
    return {
      ...base,
      startedAt,
      endedAt,
      startOffsetMs,
      elapsedMs,
      status: 'no-objective',
      verdict: `${formatDuration(elapsedMs)} (no objective set)`,
    };
  }
  const marginMs = elapsedMs - objectiveMs;
  const met = marginMs <= 0;
  return {
    ...base,
    startedAt,
    endedAt,
    startOffsetMs,
    elapsedMs,
    marginMs,
    status: met ? 'met' : 'missed',
    verdict: met
      ? `${formatDuration(elapsedMs)}${objective}: met with ${formatDuration(-marginMs)} to spare`
      : `${formatDuration(elapsedMs)}${objective}: missed by ${formatDuration(marginMs)}`,
  };
}

function describeUnreached(t: StepTrack): string {
  if (t.status === 'not-run') return 'never ran';
  if (t.status === 'running') return 'is still running';
  if (t.status === 'awaiting-approval') return 'is still awaiting approval';
  return `ended ${t.status}`;
}
