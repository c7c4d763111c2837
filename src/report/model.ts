import type { CheckStatus, Finding } from '../../checkers/types.js';
import type { RunStatus, UnplannedVariant } from '../journal/events.js';
import type { ApprovalNote, OverrideNote, TrackStatus } from '../journal/replay.js';

export type { ApprovalNote, OverrideNote };

/** Version tag of the JSON report; bump when a field changes meaning. */
export const REPORT_SCHEMA = 'drctl.report/v1';

/**
 * A step's state in the report. Journal statuses plus: `running` (started, no end yet, run
 * still going), `awaiting-approval`, `not-run` (never started), `dry-run` (only shown, not run).
 */
export type ReportStepStatus = TrackStatus;

/** The run as a whole; `in-progress` when the journal has no run-finished event. */
export type ReportRunStatus = RunStatus | 'in-progress';

export interface ReportWho {
  user: string;
  host: string;
}

/** One step of the run, with what actually happened to it. */
export interface StepReport {
  id: string;
  title: string;
  /** Owner role. */
  owner: string;
  phase: string | undefined;
  kind: string;
  needs: string[];
  rollbackOf: string | undefined;
  estimateMs: number | undefined;
  status: ReportStepStatus;
  /** First start (ISO), undefined if the step never started. */
  startedAt: string | undefined;
  /** End (ISO): finished or skipped; undefined while running or never started. */
  finishedAt: string | undefined;
  /** Milliseconds from the run start to the step start / end. */
  startOffsetMs: number | undefined;
  endOffsetMs: number | undefined;
  /** Wall time from first start to end (includes approval waits, retry delays and downtime). */
  durationMs: number | undefined;
  /**
   * Time its attempts were running: each session (step-started → its step-finished, or the last
   * event before drctl stopped, or open-until for an open step) minus approval waits and retry
   * delays. Defined for every step that started, open ones included.
   */
  workMs: number | undefined;
  /** durationMs - workMs: approval waits, retry delays, drctl down between sessions. */
  waitMs: number | undefined;
  /** durationMs - estimateMs, when both are known. */
  varianceMs: number | undefined;
  attempts: number;
  /** `user@host` of the drctl session that ran the step. */
  ranBy: string | undefined;
  /** Who approved (manual steps and approval-gated steps). */
  approvedBy: string | undefined;
  approvals: ApprovalNote[];
  overrides: OverrideNote[];
  exitCode: number | undefined;
  error: string | undefined;
  /** Last lines of output of a failed step. */
  outputTail: string[] | undefined;
  drill: boolean;
  dryRun: boolean;
  /** Human-readable notes: overrides, approval comments, skip reasons, drill/dry-run marks. */
  notes: string[];
  /** On the critical path of the actual run. */
  critical: boolean;
  /** In an unplanned run: skipped, replaced, or a replica-only gate instead of the planned step. */
  unplanned?: UnplannedVariant | undefined;
  /**
   * The step's last gate result did not prove consistency (unverified, different, error) and yet
   * the step succeeded (an unplanned gate went on after the data-risk approval, or an override).
   * Every renderer shows it beside the status: "succeeded" alone would read as a pass.
   */
  gateNotPassed?: { status: CheckStatus; summary: string } | undefined;
}

export type RtoClockStatus =
  | 'met'
  | 'missed'
  | 'not-reached'
  | 'not-started'
  | 'rolled-back'
  | 'dry-run'
  | 'no-objective'
  | 'not-defined';

/** One RTO clock: from the `from` step's start to the `to` step's end. */
export interface RtoClock {
  name: 'technical' | 'compliance';
  fromStep: string | undefined;
  toStep: string | undefined;
  objectiveMs: number | undefined;
  startedAt: string | undefined;
  endedAt: string | undefined;
  startOffsetMs: number | undefined;
  /**
   * Measured clock when reached; for an open clock the time elapsed up to `measuredTo`
   * (now for a live, crashed or interrupted run; the run's end for a finished one).
   */
  elapsedMs: number | undefined;
  /** Where an open clock was measured to (ISO); undefined when reached or never started. */
  measuredTo: string | undefined;
  status: RtoClockStatus;
  /** elapsedMs - objectiveMs; positive means missed by that much. */
  marginMs: number | undefined;
  /** One sentence for the bridge, e.g. `1h26m against 1h30m: met with 4m00s to spare`. */
  verdict: string;
}

/** Totals of one phase or role. */
export interface GroupTotal {
  name: string;
  steps: number;
  succeeded: number;
  failed: number;
  notRun: number;
  /** Sum of the steps' work (workMs): overlapping steps count twice. */
  sumMs: number;
  /** Wall time during which at least one of its steps was working (union of their work intervals). */
  activeMs: number;
  /** First start to last end. */
  spanMs: number;
  startedAt: string | undefined;
  endedAt: string | undefined;
  estimateMs: number;
}

export interface CriticalPath {
  /** Step ids, first to last. */
  steps: string[];
  /** Run start to the start of the first step on the path. */
  startOffsetMs: number;
  /** Run start to the end of the last step on the path. */
  endOffsetMs: number;
  /** Sum of the path's steps' work (workMs). */
  workMs: number;
  /** (endOffsetMs - startOffsetMs) - workMs: approvals, retry delays, downtime, slots, gaps between steps. */
  waitMs: number;
}

export type IdleKind = 'awaiting-approval' | 'nothing-running' | 'process-down';

/** An interval when no step was working although something could have. */
export interface IdleGap {
  kind: IdleKind;
  startedAt: string;
  endedAt: string;
  startOffsetMs: number;
  durationMs: number;
  /** Steps waiting for approval, or ready to start, during the gap (first few). */
  steps: string[];
  reason: string;
}

export interface GateEvidence {
  step: string;
  /** When the gate result was recorded. */
  at: string;
  checker: string;
  status: CheckStatus;
  ok: boolean;
  summary: string;
  counts: Record<string, number>;
  evidence: Record<string, unknown>;
  /** The telling fields of `evidence` (positions on both sides, endpoints, versions) as dotted paths. */
  keyEvidence: { key: string; value: string }[];
  findings: Finding[];
  findingsOmitted: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

/** An account with entries in transit, as the unplanned gate recorded it. */
export interface InTransitAccount {
  account: string;
  transactions: number;
  /** Currency ('' without one) → exact sum. */
  amounts: Record<string, string>;
}

/**
 * The RPO verdict of a run. `proven`: every gate's last result consistent. `not-proven`: an
 * unplanned gate ran (Main may be gone: the funds in transit and the blacklist say what is at
 * risk), or a gate ended unverified. `failed`: a gate found differences. `no-gates`.
 */
export interface RpoSummary {
  status: 'proven' | 'not-proven' | 'failed' | 'no-gates';
  /** One line, e.g. `RPO not proven: 4 transactions, amount 1625.74 in transit, 3 accounts blacklisted`. */
  line: string;
  /** Totals of the reconciles of unplanned gates (undefined when none ran). */
  inTransit:
    | { transactions: number; amounts: Record<string, string>; accounts: number; blacklisted: number }
    | undefined;
  /** Where accounts were blacklisted, and which (the first 100 per reconcile). */
  blacklists: { resource: string; target: string; size: number; accounts: InTransitAccount[] }[];
}

export interface IntegrityReport {
  verified: boolean;
  events: number;
  /** Where the hash chain breaks: the event seq, its line in the file, and why. */
  breakAt: { seq: number; line: number; reason: string } | undefined;
  /** The last line was cut short by a crash (not a break: the writer never finished it). */
  tornTail: boolean;
  corruptLines: number[];
}

export interface RunInfo {
  id: string;
  runbook: { name: string; file: string; sha256: string };
  direction: string;
  drill: boolean;
  /** `drctl switch --unplanned`: Main may have been gone, RPO = 0 not provable. */
  unplanned: boolean;
  dryRun: boolean;
  startedBy: string;
  argv: string[];
  version: string;
  status: ReportRunStatus;
  startedAt: string;
  /** run-finished time, or the last event's time for a run without one. */
  endedAt: string;
  durationMs: number;
  error: string | undefined;
  resumes: { at: string; by: string }[];
  rollback:
    { startedAt: string; reason: string; steps: string[]; finishedAt?: string; status?: string } | undefined;
  objectives: {
    technicalMs?: number | undefined;
    complianceMs?: number | undefined;
    rpo?: number | undefined;
  };
}

/** Everything a report shows, built from the journal alone. */
export interface ReportModel {
  schema: typeof REPORT_SCHEMA;
  run: RunInfo;
  integrity: IntegrityReport;
  rto: { technical: RtoClock; compliance: RtoClock };
  steps: StepReport[];
  phases: GroupTotal[];
  roles: GroupTotal[];
  criticalPath: CriticalPath;
  idleGaps: IdleGap[];
  gates: GateEvidence[];
  /** What the gates prove about RPO, with the funds in transit and the blacklist of an unplanned run. */
  rpo: RpoSummary;
  /** Oddities found while reading the journal (events for unknown steps, missing run-started…). */
  warnings: string[];
}

export interface StepDelta {
  id: string;
  title: string;
  phase: string | undefined;
  a: { status: ReportStepStatus; durationMs: number | undefined } | undefined;
  b: { status: ReportStepStatus; durationMs: number | undefined } | undefined;
  /** b - a, when both durations are known. */
  deltaMs: number | undefined;
}

export interface GroupDelta {
  name: string;
  a: number | undefined;
  b: number | undefined;
  deltaMs: number | undefined;
  /** RTO rows: each side's clock status; a delta is given only when both clocks were reached. */
  aStatus?: RtoClockStatus | undefined;
  bStatus?: RtoClockStatus | undefined;
}

/** One run in a comparison. */
export interface CompareSide {
  id: string;
  runbook: string;
  startedAt: string;
  status: ReportRunStatus;
  verified: boolean;
  /** `planned`, `unplanned` (Main may be gone), `drill`, with `dry run` added when it was one. */
  mode: string;
  /** The run's RPO verdict (proven, or not proven with the funds in transit). */
  rpo: { status: RpoSummary['status']; line: string };
}

/** A step that one run ran as written and the other did not (skipped, replaced, absent). */
export interface ModeStepDelta {
  id: string;
  title: string;
  /** `as written`, `skipped (unplanned)`, `replaced (unplanned)`, `replica-only gate (unplanned)`, `absent`. */
  a: string;
  b: string;
}

/** `drctl report --compare A B`: B measured against A. */
export interface CompareModel {
  schema: 'drctl.compare/v1';
  a: CompareSide;
  b: CompareSide;
  /** Steps that differ by mode: skipped or replaced in an unplanned run, or present in one run only. */
  modeSteps: ModeStepDelta[];
  total: GroupDelta;
  rto: { technical: GroupDelta; compliance: GroupDelta };
  /** Phase spans (first start to last end). */
  phases: GroupDelta[];
  roles: GroupDelta[];
  steps: StepDelta[];
  /** E.g. the two runs come from different runbooks (name or sha-256). */
  warnings: string[];
}
