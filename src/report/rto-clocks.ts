import { formatDuration, formatDurationAgainst } from '../util/duration.js';
import { type RunReplay, type StepTrack } from '../journal/replay.js';
import type { RtoClock } from './model.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Measures one RTO clock. The rule (docs/report.md, "RTO clocks"): only what drctl itself saw
 * run counts. The clock starts at the first step-started of its `from` step (a skipped, not
 * selected, drill-skipped or marked-done step never started it) and is reached at the
 * step-finished `succeeded` of its `to` step, after that start. A dry run measures nothing; a
 * reached clock of a run that then rolled back is `rolled-back`, never met. An open clock is
 * measured to `openClockUntil` (now for a live, crashed or interrupted run).
 */
export function measureRtoClock(
  name: RtoClock['name'],
  bounds: { from: string; to: string } | undefined,
  objectiveMs: number | undefined,
  replay: RunReplay,
  openClockUntil: number,
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
    measuredTo: undefined,
    marginMs: undefined,
  };
  if (bounds === undefined) {
    return { ...base, status: 'not-defined', verdict: 'no rto bounds in the runbook' };
  }
  if (replay.started?.dryRun === true) {
    return { ...base, status: 'dry-run', verdict: 'dry run: no step ran, so nothing was measured' };
  }
  const from = replay.tracks.get(bounds.from);
  const to = replay.tracks.get(bounds.to);
  const start = from?.starts[0];
  if (from === undefined || start === undefined) {
    const why = from === undefined ? 'is not in the plan' : describeNotStarted(from);
    return { ...base, status: 'not-started', verdict: `not started: step ${bounds.from} ${why}` };
  }
  const startedAt = iso(start);
  const startOffsetMs = start - replay.runStart;
  const objective = (ms: number): string => {
    if (objectiveMs === undefined) return formatDuration(ms);
    const t = formatDurationAgainst(ms, objectiveMs);
    return `${t.value} against ${t.objective}`;
  };
  const reached =
    to !== undefined &&
    to.finished !== undefined &&
    to.finished.status === 'succeeded' &&
    to.overrideDoneAt === undefined &&
    to.finished.at >= start;
  if (!reached) {
    const until = Math.max(openClockUntil, start);
    const elapsedMs = until - start;
    const marginMs = objectiveMs === undefined ? undefined : elapsedMs - objectiveMs;
    const why = to === undefined ? 'is not in the plan' : describeUnreached(to, start);
    const at =
      until === replay.lastEvent
        ? 'at the last event'
        : until > replay.lastEvent
          ? `at ${iso(until)} (clock still open: measured to now)`
          : `at ${iso(until)}`;
    const tail =
      marginMs === undefined || objectiveMs === undefined
        ? ''
        : marginMs > 0
          ? `; already over the objective by ${formatDuration(marginMs)} (missed)`
          : `; ${formatDuration(-marginMs)} of the objective left`;
    return {
      ...base,
      startedAt,
      startOffsetMs,
      elapsedMs,
      measuredTo: iso(until),
      marginMs,
      status: 'not-reached',
      verdict: `not reached: step ${bounds.to} ${why}; ${objective(elapsedMs)} elapsed ${at}${tail}`,
    };
  }
  const end = to.finished!.at;
  const elapsedMs = end - start;
  const endedAt = iso(end);
  const measured = { ...base, startedAt, endedAt, startOffsetMs, elapsedMs };
  const rb = replay.rollback;
  if (rb !== undefined && rb.at >= start) {
    return {
      ...measured,
      marginMs: objectiveMs === undefined ? undefined : elapsedMs - objectiveMs,
      status: 'rolled-back',
      verdict: `rolled back: reached in ${objective(elapsedMs)}, then the run rolled back at ${iso(rb.at)} (${rb.reason}); the switch was undone, so the objective was not met`,
    };
  }
  if (objectiveMs === undefined) {
    return {
      ...measured,
      status: 'no-objective',
      verdict: `${formatDuration(elapsedMs)} (no objective set)`,
    };
  }
  const marginMs = elapsedMs - objectiveMs;
  const met = marginMs <= 0;
  return {
    ...measured,
    marginMs,
    status: met ? 'met' : 'missed',
    verdict: met
      ? `${objective(elapsedMs)}: met with ${formatDuration(-marginMs)} to spare`
      : `${objective(elapsedMs)}: missed by ${formatDuration(marginMs)}`,
  };
}

function describeNotStarted(t: StepTrack): string {
  if (t.overrideDoneAt !== undefined || t.status === 'done-by-override') {
    const o = t.overrides.findLast((x) => x.action === 'mark-done');
    return `was marked done by override${o ? ` (by ${o.by}: ${o.reason})` : ''} without drctl running it, so the clock has no recorded start`;
  }
  if (t.skipped !== undefined) return `was skipped (${t.skipped.reason})`;
  if (t.status === 'awaiting-approval') return 'is awaiting approval';
  return 'never started';
}

function describeUnreached(t: StepTrack, start: number): string {
  if (t.overrideDoneAt !== undefined || t.status === 'done-by-override') {
    const o = t.overrides.findLast((x) => x.action === 'mark-done');
    return `was marked done by override${o ? ` at ${o.at} (by ${o.by}: ${o.reason})` : ''}; drctl did not see it finish`;
  }
  if (t.finished?.status === 'succeeded' && t.finished.at < start) {
    return 'ended before the from step started (the bounds are reversed)';
  }
  if (t.skipped !== undefined && t.finished === undefined) return `was skipped (${t.skipped.reason})`;
  if (t.status === 'not-run') return 'never ran';
  if (t.status === 'running') return 'is still running';
  if (t.status === 'awaiting-approval') return 'is still awaiting approval';
  return `ended ${t.status}`;
}
