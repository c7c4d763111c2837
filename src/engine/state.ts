import type { CheckResult } from '../../checkers/types.js';
import type { JournalEvent, JournalStepInfo, RunStatus, StepStatus } from '../journal/events.js';

/** A step's state as read back from the journal. */
export type StepState = 'pending' | 'running' | 'waiting-approval' | StepStatus;

export interface StepView extends JournalStepInfo {
  state: StepState;
  attempts: number;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  durationMs?: number | undefined;
  exitCode?: number | undefined;
  error?: string | undefined;
  outputTail?: string[] | undefined;
  skipReason?: string | undefined;
  /** The last approval decision since the step last started. */
  approval?: { decision: 'approved' | 'rejected'; by: string; comment?: string | undefined } | undefined;
  gate?: Pick<CheckResult, 'ok' | 'status' | 'summary'> | undefined;
  /** Order in which steps reached a final state (for rollback order). */
  finishedSeq?: number | undefined;
  dryRun?: boolean | undefined;
  description?: string | undefined;
}

export type Who = Extract<JournalEvent, { type: 'run-started' }>['who'];

export interface RunView {
  runId: string;
  runbook: { name: string; file: string; sha256: string };
  direction: 'switchover' | 'switchback';
  drill: boolean;
  dryRun: boolean;
  startedAt: string;
  /** The process that last started or resumed the run. */
  who: Who;
  steps: StepView[];
  byId: Map<string, StepView>;
  /** Set once a run-finished event is the last word (a later resume clears it). */
  finished?: { status: RunStatus; durationMs: number; error?: string | undefined; at: string } | undefined;
  rolledBack: boolean;
  events: number;
  lastEventAt: string;
}

/** Final states: the step will not run again on resume. */
export const COMPLETED_STATES: ReadonlySet<StepState> = new Set(['succeeded', 'skipped', 'done-by-override']);

/** Rebuilds every step's state by replaying the journal's events in order. */
export function replayJournal(events: JournalEvent[]): RunView {
  const first = events[0];
  if (first?.type !== 'run-started') {
    throw new Error('journal does not begin with a run-started event');
  }
  const steps: StepView[] = first.steps.map((s) => ({ ...s, state: 'pending', attempts: 0 }));
  const view: RunView = {
    runId: first.runId,
    runbook: first.runbook,
    direction: first.direction,
    drill: first.drill,
    dryRun: first.dryRun,
    startedAt: first.ts,
    who: first.who,
    steps,
    byId: new Map(steps.map((s) => [s.id, s])),
    rolledBack: false,
    events: events.length,
    lastEventAt: events.at(-1)!.ts,
  };
  let finishedSeq = 0;
  for (const ev of events) {
    switch (ev.type) {
      case 'run-started':
        break;
      case 'run-resumed':
        view.who = ev.who;
        view.finished = undefined;
        break;
      case 'step-started': {
        const s = view.byId.get(ev.step);
        if (!s) break;
        s.state = 'running';
        s.attempts = Math.max(s.attempts, ev.attempt);
        s.startedAt ??= ev.ts;
        s.approval = undefined;
        s.dryRun = ev.dryRun;
        s.description = ev.description;
        break;
      }
      case 'step-attempt': {
        const s = view.byId.get(ev.step);
        if (s) s.attempts = Math.max(s.attempts, ev.attempt);
        break;
      }
      case 'step-finished': {
        const s = view.byId.get(ev.step);
        if (!s) break;
        s.state = ev.status;
        s.attempts = Math.max(s.attempts, ev.attempts);
        s.finishedAt = ev.ts;
        s.durationMs = ev.durationMs;
        s.exitCode = ev.exitCode;
        s.error = ev.error;
        s.outputTail = ev.outputTail;
        s.finishedSeq = finishedSeq++;
        break;
      }
      case 'step-skipped': {
        const s = view.byId.get(ev.step);
        if (!s) break;
        s.state = 'skipped';
        s.skipReason = ev.reason;
        s.finishedAt = ev.ts;
        s.finishedSeq = finishedSeq++;
        break;
      }
      case 'approval-requested': {
        const s = view.byId.get(ev.step);
        if (s && s.state === 'running') s.state = 'waiting-approval';
        break;
      }
      case 'approval': {
        const s = view.byId.get(ev.step);
        if (!s) break;
        if (ev.concurring) break;
        s.approval = { decision: ev.decision, by: ev.by, comment: ev.comment };
        if (s.state === 'waiting-approval') s.state = 'running';
        break;
      }
      case 'gate-result': {
        const s = view.byId.get(ev.step);
        if (s) s.gate = { ok: ev.result.ok, status: ev.result.status, summary: ev.result.summary };
        break;
      }
      case 'override':
      case 'approval-refused':
      case 'step-process':
        break;
      case 'rollback-started':
        view.rolledBack = true;
        break;
      case 'rollback-finished':
        break;
      case 'run-finished':
        view.finished = { status: ev.status, durationMs: ev.durationMs, error: ev.error, at: ev.ts };
        break;
    }
  }
  return view;
}

/** Steps started and never finished: after a crash, their effect is unknown. */
export function danglingSteps(view: RunView): StepView[] {
  return view.steps.filter(
    (s) => s.state === 'running' || s.state === 'waiting-approval' || s.state === 'unknown',
  );
}
