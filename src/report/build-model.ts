import type { CheckStatus } from '../../checkers/types.js';
import type { JournalEvent } from '../journal/events.js';
import { formatDuration } from '../util/duration.js';
import { summarizeRpo } from './rpo-summary.js';
import { redactStrings } from './redact-model.js';
import { findCriticalPath } from './critical-path.js';
import { totalBy } from './group-totals.js';
import { DEFAULT_MIN_GAP_MS, findIdleGaps } from './idle-gaps.js';
import {
  REPORT_SCHEMA,
  type GateEvidence,
  type IntegrityReport,
  type ReportModel,
  type RunInfo,
  type StepReport,
} from './model.js';
import { pickKeyEvidence } from './key-evidence.js';
import { measureRtoClock } from './rto-clocks.js';
import {
  countAttempts,
  isIdleRollbackStep,
  replayRun,
  workOf,
  type RunReplay,
  type StepTrack,
} from '../journal/replay.js';

export interface BuildReportInput {
  runId: string;
  events: JournalEvent[];
  integrity: IntegrityReport;
}

export interface BuildReportOptions {
  /** Idle gaps shorter than this are left out. Default 1000 ms. */
  minGapMs?: number;
  /** "Now" (epoch ms) for clocks still open: default the last event (a pure, repeatable model). */
  now?: number | undefined;
  /** The run's process is alive: open steps run to `now` rather than to the last event. */
  live?: boolean | undefined;
  /** Asked instead of `live` for a run without run-finished: is the process that last ran it alive? */
  liveness?: ((who: { host: string; pid: number }) => boolean | 'unknown') | undefined;
  /**
   * The replay of `events` the caller already made (`openUntil: now` when `live`, none otherwise):
   * readers that also need the step view (status, the bridge) replay once for both.
   */
  replay?: RunReplay | undefined;
}

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

/** Turns a run's journal into everything a report shows. Pure; the result is redacted. */
export function buildReportModel(input: BuildReportInput, options: BuildReportOptions = {}): ReportModel {
  const { events } = input;
  const warnings: string[] = [];
  const started = events.find((e) => e.type === 'run-started');
  if (started === undefined)
    warnings.push('the journal has no run-started event: plan, objectives and RTO bounds are unknown');
  if (!input.integrity.verified) {
    const b = input.integrity.breakAt;
    warnings.push(
      `hash chain NOT VERIFIED${b ? ` (breaks at event ${b.seq}, line ${b.line}: ${b.reason})` : ''}`,
    );
  }
  if (started !== undefined && started.runId !== input.runId) {
    warnings.push(
      `the journal records run ${started.runId} but was read as run ${input.runId} (a copied or renamed run directory?)`,
    );
  }
  let replay = options.replay ?? replayRun(events);
  const live =
    options.live ??
    (replay.finished === undefined && replay.who !== undefined && options.liveness !== undefined
      ? options.liveness(replay.who) !== false
      : false);
  if (live && options.now !== undefined && options.replay === undefined)
    replay = replayRun(events, { openUntil: options.now });
  warnings.push(...replay.warnings);
  warnings.push(...undeliveredNotifications(events));
  const { runStart } = replay;
  const runEnd = replay.openUntil;
  // Rollback steps that never ran (no rollback happened for them) take no part in this run.
  const ordered = [...replay.tracks.values()]
    .filter((t) => !isIdleRollbackStep(t, replay))
    .sort((a, b) => a.order - b.order);
  const tracks = new Map(ordered.map((t) => [t.info.id, t]));

  const run = describeRun(input.runId, events, started, replay);
  const critical = findCriticalPath(tracks, runStart);
  const onPath = new Set(critical.steps);
  const lastGate = new Map<string, { status: CheckStatus; ok: boolean; summary: string }>();
  for (const e of events) if (e.type === 'gate-result') lastGate.set(e.step, e.result);
  const steps = ordered.map((t) => describeStep(t, runStart, onPath.has(t.info.id), lastGate.get(t.info.id)));

  // A clock not reached keeps running while the switch is not done: to now for a live,
  // crashed or interrupted run; to its end for a run that finished otherwise.
  const fin = replay.finished;
  const clockUntil =
    fin !== undefined && fin.status !== 'interrupted' ? fin.at : Math.max(options.now ?? runEnd, runEnd);
  const objectives = started?.objectives ?? {};
  const gates = collectGates(events);
  const model: ReportModel = {
    schema: REPORT_SCHEMA,
    run,
    integrity: input.integrity,
    rto: {
      technical: measureRtoClock(
        'technical',
        started?.rto.technical,
        objectives.technicalMs,
        replay,
        clockUntil,
      ),
      compliance: measureRtoClock(
        'compliance',
        started?.rto.compliance,
        objectives.complianceMs,
        replay,
        clockUntil,
      ),
    },
    steps,
    phases: totalBy(
      ordered,
      (t) => t.info.phase ?? (t.info.rollbackOf !== undefined ? 'rollback' : '(no phase)'),
    ),
    roles: totalBy(ordered, (t) => t.info.owner),
    criticalPath: critical,
    idleGaps: findIdleGaps(
      { tracks, runStart, runEnd, down: replay.down },
      options.minGapMs ?? DEFAULT_MIN_GAP_MS,
    ),
    gates,
    rpo: summarizeRpo(gates),
    warnings,
  };
  return redactStrings(model);
}

function describeRun(
  runId: string,
  events: JournalEvent[],
  started: Extract<JournalEvent, { type: 'run-started' }> | undefined,
  replay: RunReplay,
): RunInfo {
  const { runStart } = replay;
  const runEnd = replay.finished?.at ?? replay.openUntil;
  const finished = replay.finished;
  const rbStart = events.findLast((e) => e.type === 'rollback-started');
  const rbEnd = events.findLast((e) => e.type === 'rollback-finished');
  return {
    id: started?.runId ?? runId,
    runbook: started?.runbook ?? { name: '(unknown)', file: '', sha256: '' },
    direction: started?.direction ?? '(unknown)',
    drill: started?.drill ?? false,
    unplanned: started?.unplanned === true,
    dryRun: started?.dryRun ?? false,
    startedBy: started === undefined ? '(unknown)' : `${started.who.user}@${started.who.host}`,
    argv: started?.who.argv ?? [],
    version: started?.who.version ?? '',
    status: finished?.status ?? 'in-progress',
    startedAt: new Date(runStart).toISOString(),
    endedAt: new Date(runEnd).toISOString(),
    durationMs: runEnd - runStart,
    error: finished?.error,
    resumes: events.flatMap((e) =>
      e.type === 'run-resumed' ? [{ at: e.ts, by: `${e.who.user}@${e.who.host}` }] : [],
    ),
    rollback:
      rbStart === undefined
        ? undefined
        : {
            startedAt: rbStart.ts,
            reason: rbStart.reason,
            steps: rbStart.steps,
            ...(rbEnd === undefined ? {} : { finishedAt: rbEnd.ts, status: rbEnd.status }),
          },
    objectives: started?.objectives ?? {},
  };
}

function describeStep(
  t: StepTrack,
  runStart: number,
  critical: boolean,
  gate: { status: CheckStatus; ok: boolean; summary: string } | undefined,
): StepReport {
  const gateNotPassed =
    gate !== undefined && !gate.ok && t.status === 'succeeded'
      ? { status: gate.status, summary: gate.summary }
      : undefined;
  const start = t.starts[0];
  const ran = start !== undefined && t.status !== 'dry-run';
  const durationMs = ran && t.end !== undefined ? t.end - start : undefined;
  const workMs = ran ? workOf(t) : undefined;
  const estimateMs = t.info.estimateMs;
  return {
    id: t.info.id,
    title: t.info.title,
    owner: t.info.owner,
    phase: t.info.phase,
    kind: t.info.kind,
    needs: t.info.needs,
    rollbackOf: t.info.rollbackOf,
    estimateMs,
    status: t.status,
    startedAt: iso(start),
    finishedAt: iso(t.end),
    startOffsetMs: start === undefined ? undefined : start - runStart,
    endOffsetMs: t.barEnd === undefined ? undefined : t.barEnd - runStart,
    durationMs,
    workMs,
    waitMs: durationMs !== undefined && workMs !== undefined ? durationMs - workMs : undefined,
    varianceMs: durationMs !== undefined && estimateMs !== undefined ? durationMs - estimateMs : undefined,
    attempts: countAttempts(t),
    ranBy: t.ranBy,
    approvedBy: t.approvals.findLast((a) => a.decision === 'approved')?.by,
    approvals: t.approvals,
    overrides: t.overrides,
    exitCode: t.finished?.exitCode,
    error: t.finished?.error,
    outputTail: t.finished?.outputTail,
    drill: t.drill,
    dryRun: t.dryRun,
    notes: [
      ...(gateNotPassed
        ? [`gate ${gateNotPassed.status.toUpperCase()}, not a pass: ${gateNotPassed.summary}`]
        : []),
      ...noteStep(t),
    ],
    critical,
    ...(t.info.unplanned ? { unplanned: t.info.unplanned } : {}),
    ...(gateNotPassed ? { gateNotPassed } : {}),
  };
}

function noteStep(t: StepTrack): string[] {
  const notes: string[] = [];
  if (t.drill) notes.push('drill');
  if (t.dryRun) notes.push('dry run: not executed');
  if (t.info.rollbackOf !== undefined) notes.push(`rollback of ${t.info.rollbackOf}`);
  if (t.skipped !== undefined) notes.push(`skipped: ${t.skipped.reason}`);
  for (const w of t.approvalWaits) {
    if (w.to !== undefined) notes.push(`waited ${formatDuration(w.to - w.from)} for approval`);
  }
  for (const a of t.approvals) {
    notes.push(`${a.decision} by ${a.by} via ${a.via}${a.comment ? `: ${a.comment}` : ''}`);
  }
  for (const o of t.overrides) notes.push(`override ${o.action} by ${o.by}: ${o.reason}`);
  if (t.interruptedAt !== undefined) {
    notes.push(
      t.status === 'unknown'
        ? 'was running when drctl stopped; outcome unknown'
        : 'was running when drctl stopped; re-run after resume',
    );
  }
  notes.push(...t.attemptErrors);
  if (t.finished?.error !== undefined && !t.attemptErrors.some((e) => e.endsWith(t.finished!.error!))) {
    notes.push(`error: ${t.finished.error}`);
  }
  return notes;
}

function collectGates(events: JournalEvent[]): GateEvidence[] {
  return events.flatMap((e) =>
    e.type === 'gate-result'
      ? [
          {
            step: e.step,
            at: e.ts,
            checker: e.result.checker,
            status: e.result.status,
            ok: e.result.ok,
            summary: e.result.summary,
            counts: e.result.counts,
            evidence: e.result.evidence,
            keyEvidence: pickKeyEvidence(e.result.evidence),
            findings: e.result.findings,
            findingsOmitted: e.result.findingsOmitted,
            startedAt: e.result.startedAt,
            finishedAt: e.result.finishedAt,
            durationMs: e.result.durationMs,
          },
        ]
      : [],
  );
}

/** Notifications that never went out (docs/notify.md), one line per channel. */
function undeliveredNotifications(events: readonly JournalEvent[]): string[] {
  const byChannel = new Map<string, { count: number; last: string }>();
  for (const e of events) {
    if (e.type !== 'notify-gave-up') continue;
    const c = byChannel.get(e.channel) ?? { count: 0, last: '' };
    c.count += 1;
    c.last = `${e.notice}: ${e.reason}`;
    byChannel.set(e.channel, c);
  }
  return [...byChannel].map(
    ([channel, c]) =>
      `notify channel ${channel}: ${c.count} notification${c.count === 1 ? '' : 's'} not delivered (last: ${c.last})`,
  );
}
