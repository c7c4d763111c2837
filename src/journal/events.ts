import type { CheckResult } from '../../checkers/types.js';

/** Final state of a step in a run. `unknown`: it was running when the process died. */
export type StepStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'unknown' | 'done-by-override';

/**
 * committed: the change is on the remote system; rolled-back / not-run: nothing changed;
 * unknown: it may or may not have committed (e.g. killed during COMMIT); read: nothing to undo.
 */
export type StepEffectOutcome = 'committed' | 'rolled-back' | 'not-run' | 'failed' | 'unknown' | 'read';

export type RunStatus = 'succeeded' | 'failed' | 'aborted' | 'interrupted';

/** A step as the plan saw it when the run started (the report needs no runbook file). */
export interface JournalStepInfo {
  id: string;
  title: string;
  owner: string;
  phase?: string | undefined;
  kind: string;
  needs: string[];
  estimateMs?: number | undefined;
  /** Set for steps that only run during rollback. */
  rollbackOf?: string | undefined;
  /** In an unplanned switch: what the step does instead of running as written. */
  unplanned?: UnplannedVariant | undefined;
}

/** `unplanned: skip`, `unplanned: { replace }`, or a MySQL gate turned replica-only gate + reconcile. */
export type UnplannedVariant = 'skipped' | 'replaced' | 'replica-only-gate';

/** Fields the journal adds to every event. */
/** The preflight of a switch, as journaled in run-started. Never a secret: lines are redacted. */
export interface PreflightRecord {
  status: 'ready' | 'warnings' | 'failed' | 'skipped';
  /** `--skip-preflight --reason …`: who skipped it and why. */
  skipped?: { reason: string; by: string };
  counts?: { ok: number; warning: number; fail: number };
  durationMs?: number;
  /** The warning and fail lines (bounded). */
  problems?: { status: 'warning' | 'fail'; group: string; item: string; message: string }[];
}

export interface EventEnvelope {
  /** 0-based position in the journal. */
  seq: number;
  /** Wall clock, ISO 8601 with milliseconds. */
  ts: string;
  /** Monotonic milliseconds since this process started the run (resets on resume). */
  mono: number;
  /** sha-256 hex of the previous line as written (64 zeros for the first event). */
  prev: string;
}

export type JournalEventBody =
  | {
      type: 'run-started';
      runId: string;
      runbook: { name: string; file: string; sha256: string };
      direction: 'switchover' | 'switchback';
      drill: boolean;
      dryRun: boolean;
      /** `drctl switch --unplanned` (Main may be gone); `drctl resume` applies it again. */
      unplanned?: boolean;
      /** A dry run previewed without these secrets (`env:NAME`, `file:PATH`): placeholders stood in. */
      placeholders?: string[];
      /** What `drctl preflight` found before the start, or why it was skipped (`--skip-preflight --reason`). */
      preflight?: PreflightRecord;
      who: { user: string; host: string; pid: number; argv: string[]; version: string };
      objectives: { technicalMs?: number; complianceMs?: number; rpo?: number };
      rto: { technical?: { from: string; to: string }; compliance?: { from: string; to: string } };
      steps: JournalStepInfo[];
    }
  | { type: 'run-resumed'; who: { user: string; host: string; pid: number; argv: string[]; version: string } }
  | {
      type: 'step-started';
      step: string;
      attempt: number;
      drill?: boolean;
      dryRun?: boolean;
      description?: string;
    }
  | {
      type: 'step-attempt';
      step: string;
      attempt: number;
      ok: boolean;
      durationMs: number;
      exitCode?: number;
      error?: string;
      /** Delay before the next attempt, when one follows. */
      retryInMs?: number;
    }
  | {
      type: 'step-finished';
      step: string;
      status: StepStatus;
      durationMs: number;
      attempts: number;
      exitCode?: number;
      error?: string;
      /** Last lines of stderr/stdout for a failed run step. */
      outputTail?: string[];
    }
  | {
      /**
       * What one attempt did to a remote system, as it happened: a sql statement or transaction
       * committed or rolled back, redis keys written, a value read. Resume reads it to avoid
       * repeating work that committed.
       */
      type: 'step-effect';
      step: string;
      attempt: number;
      /** What was touched: `transaction`, `statement 2`, `keys`, `get bcf.x`. */
      target: string;
      outcome: StepEffectOutcome;
      detail?: string;
    }
  | { type: 'step-skipped'; step: string; reason: string }
  | {
      type: 'approval-requested';
      step: string;
      role: string;
      instructions: string;
      /** Roles whose members may decide (owner first). */
      approvers?: string[];
      /** Members the runbook declares for those roles (the users file may add more). */
      members?: string[];
      /** Distinct people who must approve (absent: 1). */
      minApprovals?: number;
    }
  | {
      type: 'approval';
      step: string;
      decision: 'approved' | 'rejected';
      by: string;
      comment?: string;
      via: 'prompt' | 'cli' | 'bridge' | 'auto';
      /** The inbox request this decision came from (`drctl approve|reject`, the bridge). */
      request?: string;
      /** A second approval of a step already approved: recorded as another approver, decides nothing. */
      concurring?: boolean;
      /** The role `by` decided as. */
      role?: string;
      /** Who submitted it: the OS user and host of `drctl approve`, or the bridge's client address. */
      osUser?: string;
      host?: string;
      address?: string;
      /**
       * With `minApprovals:` above 1: this approval is the count-th of `needed` distinct people;
       * below `needed` it decides nothing yet (the step keeps waiting).
       */
      count?: number;
      needed?: number;
    }
  | {
      /** A submitted decision that did not decide the step, and why (e.g. it lost a race). */
      type: 'approval-refused';
      step: string;
      decision: 'approved' | 'rejected';
      by: string;
      comment?: string;
      request: string;
      reason: string;
      /**
       * Why, for programs: `not-allowed` (not a member of an allowed role), `duplicate` (the same
       * person again under minApprovals), `not-waiting` (no approval asked or already decided).
       */
      code?: 'not-allowed' | 'duplicate' | 'not-waiting';
      via?: 'prompt' | 'cli' | 'bridge';
      osUser?: string;
      host?: string;
      address?: string;
    }
  | {
      /**
       * A run step's process, journaled (fsynced) before the command runs, so that after a crash
       * resume can tell whether it still runs. `startTime`: field 22 of /proc/<pid>/stat (clock
       * ticks since boot), which tells a reused pid from the original.
       */
      type: 'step-process';
      step: string;
      attempt: number;
      pid: number;
      pgid: number;
      startTime?: string;
      host: string;
    }
  | { type: 'gate-result'; step: string; result: CheckResult }
  | { type: 'override'; step: string; action: 'mark-done' | 'retry-unknown'; by: string; reason: string }
  | { type: 'rollback-started'; reason: string; steps: string[] }
  | {
      type: 'rollback-finished';
      status: 'succeeded' | 'failed';
      /** Steps whose rollback succeeded, failed, or did not run (second Ctrl-C), newest first. */
      undone?: string[];
      failed?: string[];
      notRun?: string[];
      /** Completed steps that have no rollback action (left as they are). */
      noRollbackAction?: string[];
    }
  | {
      /**
       * A switch lock this process took (after run-started or run-resumed). `host`: the lock
       * file of the environment on this host; `redis`: the runbook's shared lock, with the
       * fencing token checked before each step. `tookOver`: the dead holder it replaced.
       */
      type: 'lock-acquired';
      scope: 'host' | 'redis';
      where: string;
      key?: string;
      token?: number;
      ttlMs?: number;
      tookOver?: string;
    }
  /** A lock is no longer ours (expired, taken, token moved): no step starts after this. */
  | { type: 'lock-lost'; reason: string }
  | { type: 'run-finished'; status: RunStatus; durationMs: number; error?: string }
  | {
      /**
       * A notification a webhook accepted (2xx). `channel`: its name in `notify.channels` (never
       * the URL); `notice`: what it told (step-failed…); `about`: the step, if any; `cause`: the
       * seq of the event it reports. May follow run-finished, within the grace (docs/notify.md).
       */
      type: 'notify-delivered';
      channel: string;
      notice: string;
      about?: string;
      cause: number;
      attempts: number;
      httpStatus: number;
      durationMs: number;
    }
  | {
      /** A notification not delivered, for good: retries spent, refused, queue full, or the run ended. */
      type: 'notify-gave-up';
      channel: string;
      notice: string;
      about?: string;
      cause: number;
      attempts: number;
      reason: string;
    };

export type JournalEvent = EventEnvelope & JournalEventBody;
export type JournalEventType = JournalEventBody['type'];
