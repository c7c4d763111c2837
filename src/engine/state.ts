import type { CheckResult } from '../../checkers/types.js';
import type { JournalEvent, JournalStepInfo, RunStatus, StepStatus } from '../journal/events.js';
import {
  countAttempts,
  isIdleRollbackStep,
  replayRun,
  workOf,
  type ReplayOptions,
  type RunReplay,
  type StepTrack,
  type Who,
} from '../journal/replay.js';

/** A step's state as read back from the journal. */
export type StepState = 'pending' | 'running' | 'waiting-approval' | 'dry-run' | StepStatus;

export interface StepView extends JournalStepInfo {
  state: StepState;
  attempts: number;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  /** First start → end (wall time, across resumes); undefined while open or for a dry run. */
  durationMs?: number | undefined;
  /** Time its attempts were running (approval waits, retry delays and downtime excluded). */
  workMs?: number | undefined;
  exitCode?: number | undefined;
  error?: string | undefined;
  outputTail?: string[] | undefined;
  skipReason?: string | undefined;
  /** The last approval decision since the step last started. */
  approval?: { decision: 'approved' | 'rejected'; by: string; comment?: string | undefined } | undefined;
  /**
   * While the step waits for approval: who may decide (roles, and members the runbook names),
   * how many distinct people must approve, and who has so far.
   */
  awaiting?:
    | {
        approvers: string[];
        members: string[];
        minApprovals: number;
        approvedBy: string[];
        instructions: string;
      }
    | undefined;
  /** Every decision recorded for the step (each approver of a four-eyes step), oldest first. */
  approvals?:
    | {
        at: string;
        decision: 'approved' | 'rejected';
        by: string;
        via: string;
        comment?: string | undefined;
      }[]
    | undefined;
  gate?: Pick<CheckResult, 'ok' | 'status' | 'summary'> | undefined;
  /** Order in which steps reached a final state (for rollback order). */
  finishedSeq?: number | undefined;
  dryRun?: boolean | undefined;
  description?: string | undefined;
  /**
   * Work that committed (or may have) on a remote system in attempts not yet covered by a
   * decision: a failed step with any is never re-run without --retry-unknown or --mark-done.
   */
  committed?: string[] | undefined;
}

export type { Who };

export interface RunView {
  runId: string;
  runbook: { name: string; file: string; sha256: string };
  direction: 'switchover' | 'switchback';
  drill: boolean;
  /** Started with `drctl switch --unplanned`. */
  unplanned: boolean;
  dryRun: boolean;
  startedAt: string;
  /** The process that last started or resumed the run. */
  who: Who;
  /** Every step, rollback steps included (`status` hides those that take no part in the run). */
  steps: StepView[];
  byId: Map<string, StepView>;
  /** Set once a run-finished event is the last word (a later resume clears it). */
  finished?: { status: RunStatus; durationMs: number; error?: string | undefined; at: string } | undefined;
  rolledBack: boolean;
  events: number;
  lastEventAt: string;
  /** First event → run-finished (or the replay's open-until): wall time across every session. */
  durationMs: number;
  /** The replay this view was made from (the report model is built from the same). */
  replay: RunReplay;
}

/** Final states: the step will not run again on resume. */
export const COMPLETED_STATES: ReadonlySet<StepState> = new Set(['succeeded', 'skipped', 'done-by-override']);

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

function stateOf(t: StepTrack, runFinished: boolean): StepState {
  if (t.status === 'not-run') return 'pending';
  if (t.status === 'awaiting-approval') return 'waiting-approval';
  // Still running as far as the journal knows until a resume decides; `unknown` once the run ended.
  if (t.status === 'unknown' && !runFinished) return 'running';
  return t.status;
}

function viewStep(t: StepTrack, runFinished: boolean): StepView {
  const skipped = t.skipped !== undefined && t.finished === undefined ? t.skipped : undefined;
  const finSeq = t.finished?.seq ?? skipped?.seq;
  const ran = t.starts.length > 0 && t.status !== 'dry-run';
  const info = t.info;
  // Field by field, not `...t.info`: the bridge builds this for every step of every snapshot,
  // and the spread's generic copy was most of a replay's time in its profile.
  return {
    id: info.id,
    title: info.title,
    owner: info.owner,
    phase: info.phase,
    kind: info.kind,
    needs: info.needs,
    estimateMs: info.estimateMs,
    rollbackOf: info.rollbackOf,
    unplanned: info.unplanned,
    state: stateOf(t, runFinished),
    attempts: countAttempts(t),
    startedAt: iso(t.starts[0]),
    finishedAt: iso(t.end),
    durationMs: ran && t.end !== undefined ? t.end - t.starts[0]! : undefined,
    workMs: ran ? workOf(t) : undefined,
    exitCode: t.finished?.exitCode,
    error: t.finished?.error,
    outputTail: t.finished?.outputTail,
    skipReason: skipped?.reason,
    approval:
      t.lastApproval === undefined
        ? undefined
        : { decision: t.lastApproval.decision, by: t.lastApproval.by, comment: t.lastApproval.comment },
    awaiting:
      t.status === 'awaiting-approval' && t.approvalAsk !== undefined && !runFinished
        ? {
            approvers: t.approvalAsk.approvers,
            members: t.approvalAsk.members,
            minApprovals: t.approvalAsk.minApprovals,
            approvedBy: [...t.approvalAsk.approvedBy],
            instructions: t.approvalAsk.instructions,
          }
        : undefined,
    approvals: t.approvals.length > 0 ? t.approvals.map((a) => ({ ...a })) : undefined,
    gate: t.gate,
    finishedSeq: finSeq,
    dryRun: t.dryRun || undefined,
    description: t.description,
    committed: t.committed.length > 0 ? [...t.committed] : undefined,
  };
}

/** Rebuilds every step's state from the journal (through the one replay, `replayRun`). */
export function replayJournal(events: JournalEvent[], options: ReplayOptions = {}): RunView {
  return viewOfReplay(events, replayRun(events, options));
}

/** The step view of `replay`, a replay of `events` (for readers that also build a report from it). */
export function viewOfReplay(events: JournalEvent[], replay: RunReplay): RunView {
  const first = events[0];
  if (first?.type !== 'run-started') {
    throw new Error('journal does not begin with a run-started event');
  }
  const finished = replay.finished !== undefined;
  const steps = [...replay.tracks.values()]
    .sort((a, b) => a.order - b.order)
    .map((t) => viewStep(t, finished));
  return {
    runId: first.runId,
    runbook: first.runbook,
    direction: first.direction,
    drill: first.drill,
    unplanned: first.unplanned === true,
    dryRun: first.dryRun,
    startedAt: first.ts,
    who: replay.who ?? first.who,
    steps,
    byId: new Map(steps.map((s) => [s.id, s])),
    finished:
      replay.finished === undefined
        ? undefined
        : { ...replay.finished, at: new Date(replay.finished.at).toISOString() },
    rolledBack: replay.rollback !== undefined,
    events: events.length,
    lastEventAt: events.at(-1)!.ts,
    durationMs: (replay.finished?.at ?? replay.openUntil) - replay.runStart,
    replay,
  };
}

/** Steps that take part in the run: rollback steps only when a rollback happened for them. */
export function visibleSteps(view: RunView): StepView[] {
  return view.steps.filter((s) => {
    const t = view.replay.tracks.get(s.id);
    return t === undefined || !isIdleRollbackStep(t, view.replay);
  });
}

/** Failed or cancelled steps whose earlier attempts committed work that re-running would repeat. */
export function partiallyCommittedSteps(view: RunView): StepView[] {
  return view.steps.filter(
    (s) => (s.state === 'failed' || s.state === 'cancelled') && (s.committed?.length ?? 0) > 0,
  );
}

/** Steps started and never finished: after a crash, their effect is unknown. */
export function danglingSteps(view: RunView): StepView[] {
  return view.steps.filter(
    (s) => s.state === 'running' || s.state === 'waiting-approval' || s.state === 'unknown',
  );
}
