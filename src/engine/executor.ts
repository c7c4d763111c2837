import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckResult } from '../../checkers/types.js';
import type {
  JournalEvent,
  JournalEventBody,
  JournalStepInfo,
  PreflightRecord,
  RunStatus,
} from '../journal/events.js';
import type { JournalWriter } from '../journal/journal.js';
import type { Plan } from '../plan/types.js';
import { Scheduler } from '../plan/scheduler.js';
import type { Action, Runbook, Step } from '../runbook/schema.js';
import { describeAction, executeAction } from '../steps/handlers.js';
import type { ApprovalDecision, StepContext, StepOutcome } from '../steps/types.js';
import { abortReason } from '../steps/run.js';
import { DEFAULT_WAIT_TIMEOUT_MS } from '../steps/wait.js';
import { ConfigError, ExitCode } from '../errors.js';
import { findPlaceholders } from '../runbook/interpolate.js';
import { formatDuration } from '../util/duration.js';
import { redact } from '../util/redact.js';
import { takeApprovals, type ApprovalRequest } from './approvals.js';
import { approvalPolicy, authorizeApprover, type ApprovalPolicy, type Authorization } from './approvers.js';
import { readUsers, type Users } from './users.js';
import { loadFailpoint, type Failpoint } from './failpoint.js';
import { Notifier } from '../notify/notifier.js';
import { describeWho } from './run-dir.js';
import { describeProcess } from './step-process.js';
import type { ResumePlan } from './resume.js';
import { retryDelayMs } from './retry.js';
import type { LockGuard } from './run-lock.js';
import { COMPLETED_STATES } from './state.js';

/** Listens to the run: renderers implement this. */
export interface EngineObserver {
  onEvent?(event: JournalEvent): void;
  /** Progress lines from a running step (already redacted). */
  onLog?(step: string, line: string): void;
  /** Engine notices such as "stopping: waiting for 2 running steps". */
  onNotice?(message: string): void;
  /** Asks at the terminal; resolves undefined when it cannot ask. Aborted when decided elsewhere. */
  promptApproval?(
    step: Step,
    instructions: string,
    role: string,
    signal: AbortSignal,
  ): Promise<ApprovalDecision | undefined>;
}

export interface ExecutorOptions {
  runbook: Runbook;
  runId: string;
  runDir: string;
  journal: JournalWriter;
  dryRun: boolean;
  /**
   * The plan of this runbook (`buildPlan` with the run's --concurrency and --only/--from): its
   * `schedule` (priorities, limits, selection) is what the scheduler runs from, the same the
   * forecast ran. Steps it leaves out are journaled as skipped.
   */
  plan: Pick<Plan, 'schedule'>;
  /** Continue a run recorded in `journal` (prepared and validated by prepareResume). */
  resume?: (ResumePlan & { by: string }) | undefined;
  observer?: EngineObserver | undefined;
  failpoint?: Failpoint | undefined;
  /**
   * The users file whose roles count for approvals (besides the runbook's `members:`), read at
   * each decision; undefined: the runbook's members only.
   */
  usersFile?: string | undefined;
  /** How long to wait between looks into the approvals inbox (default 250 ms). */
  approvalPollMs?: number | undefined;
  /** The switch locks: journaled at the start, checked before each step starts (none in a dry run). */
  lockGuard?: LockGuard | undefined;
  /** Replaces how actions run (benchmarks measure the executor alone with a no-op). */
  runAction?: ((action: Action, ctx: StepContext) => Promise<StepOutcome>) | undefined;
  /** The switch's preflight (or its skip and reason), journaled in run-started. */
  preflight?: PreflightRecord | undefined;
}

export interface RunResult {
  status: RunStatus;
  exitCode: number;
  durationMs: number;
  failed: string[];
  error?: string | undefined;
}

export const ROLLBACK_PREFIX = 'rollback/';

/** The journal's view of the steps, including the rollback steps that run only on failure. */
export function journalSteps(runbook: Runbook): JournalStepInfo[] {
  const out: JournalStepInfo[] = runbook.steps.map((s) => ({
    id: s.id,
    title: s.title,
    owner: s.owner,
    ...(s.phase === undefined ? {} : { phase: s.phase }),
    kind: s.action.kind,
    needs: s.needs,
    ...(s.estimateMs === undefined ? {} : { estimateMs: s.estimateMs }),
    ...(runbook.unplanned && s.unplanned?.mode === 'skip' ? { unplanned: 'skipped' as const } : {}),
    ...(runbook.unplanned && s.unplanned?.mode === 'action' ? { unplanned: 'replaced' as const } : {}),
    ...(s.unplannedGate ? { unplanned: 'replica-only-gate' as const } : {}),
  }));
  for (const s of runbook.steps) {
    if (s.rollback) {
      out.push({
        id: ROLLBACK_PREFIX + s.id,
        title: `Roll back: ${s.title}`,
        owner: s.owner,
        kind: s.rollback.action.kind,
        needs: [],
        rollbackOf: s.id,
      });
    }
  }
  return out;
}

/**
 * Runs a runbook's DAG: starts each step as soon as what it needs has succeeded, within the run,
 * role and resource limits, longest remaining path first; records every event in the journal
 * (fsynced) before telling the renderer. Dry run is enforced here and only here.
 */
export class Executor {
  private readonly steps: Map<string, Step>;
  private readonly soft = new AbortController();
  private readonly hard = new AbortController();
  /** The run-wide timeout: stops running steps like a second Ctrl-C, but rollback still runs. */
  private readonly runTimeout = new AbortController();
  private readonly failpoint: Failpoint;
  private readonly failed: string[] = [];
  /** Successful steps in finish order (rollback goes in reverse). */
  private readonly completedOrder: string[] = [];
  private stopReason: string | undefined;
  private interrupted = false;
  private timedOut = false;
  private rollbackWanted = false;
  private wake: (() => void) | undefined;
  private syncing: Promise<void> | undefined;
  private journalError: Error | undefined;
  /** Why a switch lock is no longer ours, once known. */
  private lockLost: string | undefined;
  private rollbackRunning = false;
  /** Manual steps waiting for a decision now: step id → settles the wait. */
  private readonly waiting = new Map<string, Waiting>();
  /** The decision that settled each step's last wait in this process. */
  private readonly decided = new Map<string, { decision: string; by: string; seq: number }>();
  /** Webhooks of `notify:` (none in a dry run); it journals deliveries through emit. */
  private readonly notifier: Notifier | undefined;

  constructor(private readonly opts: ExecutorOptions) {
    this.steps = new Map(opts.runbook.steps.map((s) => [s.id, s]));
    this.failpoint = opts.failpoint ?? loadFailpoint();
    const notify = opts.runbook.notify;
    this.notifier =
      notify === undefined || opts.dryRun
        ? undefined
        : new Notifier({
            config: notify,
            runbook: opts.runbook,
            runId: opts.runId,
            schedule: opts.plan.schedule,
            record: (body) => this.emit(body),
            resumedSteps: opts.resume?.view.steps,
          });
  }

  /**
   * Ctrl-C, SIGTERM or SIGHUP (a dropped SSH session). First: start nothing new, cancel waits
   * and approvals, let running steps end. Second: terminate them. `cause` names the signal in
   * the journal ("interrupted (Ctrl-C)", "terminated (SIGTERM)", "session hung up (SIGHUP)").
   */
  interrupt(cause: 'SIGINT' | 'SIGTERM' | 'SIGHUP' = 'SIGINT'): void {
    // After run-finished, only the notifications' grace is left: it ends now, nothing else to stop.
    if (this.notifier?.interrupted() === true) return;
    this.interrupted = true;
    const what =
      cause === 'SIGINT'
        ? 'interrupted (Ctrl-C)'
        : cause === 'SIGTERM'
          ? 'terminated (SIGTERM)'
          : 'session hung up (SIGHUP)';
    const again = cause === 'SIGINT' ? 'Press Ctrl-C again' : `Send ${cause} again`;
    if (!this.soft.signal.aborted) {
      this.stop(what);
      this.notice(
        `stopping (${what}): no new steps start; running steps finish. ${again} to terminate them.`,
      );
    } else if (!this.hard.signal.aborted) {
      this.hard.abort(new Error(`terminated (second ${cause === 'SIGINT' ? 'Ctrl-C' : cause})`));
      this.notice('terminating running steps');
    }
  }

  async run(): Promise<RunResult> {
    const t0 = performance.now();
    const { runbook, resume } = this.opts;
    const done = new Set<string>();
    // A placeholder stands where a missing secret would go; only a preview may carry one, so it
    // can never reach a real system (the CLI refuses earlier; this holds for every caller).
    const placeholders = findPlaceholders({ resources: runbook.resources, steps: runbook.steps });
    if (placeholders.length > 0 && !this.opts.dryRun) {
      throw new ConfigError(
        `refusing to run with placeholders for missing secrets: ${placeholders.join(', ')}`,
        {
          hint: 'set them (export NAME=…, or create the file) and start again; --dry-run previews without them',
        },
      );
    }
    if (resume) {
      this.emit({ type: 'run-resumed', who: describeWho() });
      this.applyResumeDecisions(resume, done);
    } else {
      this.emit({
        type: 'run-started',
        runId: this.opts.runId,
        runbook: { name: runbook.name, file: runbook.file, sha256: runbook.sha256 },
        direction: runbook.direction,
        drill: runbook.drill,
        dryRun: this.opts.dryRun,
        ...(runbook.unplanned ? { unplanned: true } : {}),
        ...(placeholders.length > 0 ? { placeholders } : {}),
        ...(this.opts.preflight ? { preflight: this.opts.preflight } : {}),
        who: describeWho(),
        objectives: stripUndefined(runbook.objectives),
        rto: stripUndefined(runbook.rto),
        steps: journalSteps(runbook),
      });
    }
    for (const ev of this.opts.lockGuard?.acquired ?? []) this.emit(ev);
    const { schedule } = this.opts.plan;
    if (schedule.selected) {
      for (const s of runbook.steps) {
        if (!schedule.selected.has(s.id) && !done.has(s.id)) {
          this.emit({ type: 'step-skipped', step: s.id, reason: 'not selected (--only/--from)' });
          done.add(s.id);
        }
      }
    }
    const scheduler = new Scheduler(schedule.steps, schedule.limits, done);
    const runTimer =
      runbook.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            this.timedOut = true;
            const reason = `run timeout after ${formatDuration(runbook.timeoutMs!)}`;
            this.stop(reason);
            this.runTimeout.abort(new Error(reason));
          }, runbook.timeoutMs);
    runTimer?.unref();
    // Decisions left in the inbox by a previous process decide nothing now: answer them first.
    this.sweepApprovals('the run was not waiting for it when this drctl process started');
    const inbox = setInterval(() => this.sweepApprovals(), this.opts.approvalPollMs ?? 250);
    try {
      for (;;) {
        if (!this.soft.signal.aborted) {
          for (let id = scheduler.next(); id !== undefined; id = scheduler.next()) {
            if (!(await this.lockHeld())) break;
            scheduler.start(id);
            const step = this.steps.get(id)!;
            if (schedule.instant.has(id)) {
              // Skipped in a drill: takes no time, so its dependents may start in this same pass
              // (as in the forecast).
              const reason =
                this.opts.runbook.unplanned && step.unplanned?.mode === 'skip'
                  ? 'unplanned: skipped (Main may be gone)'
                  : 'drill: skipped in rehearsal';
              this.emit({ type: 'step-skipped', step: id, reason });
              this.failpoint.afterFinished(id);
              scheduler.finish(id, true);
              continue;
            }
            void this.runStep(step).then((ok) => {
              scheduler.finish(id, ok);
              this.wake?.();
            });
          }
        }
        if (scheduler.running === 0) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      if (runTimer) clearTimeout(runTimer);
    }
    let rollbackSummary: string | undefined;
    if (this.rollbackWanted && !this.hard.signal.aborted) rollbackSummary = await this.rollback();
    clearInterval(inbox);
    this.sweepApprovals('the run ended before it was taken');
    const notRun = runbook.steps.filter((s) => scheduler.phaseOf(s.id) !== 'done').map((s) => s.id);
    const status: RunStatus = this.interrupted
      ? 'interrupted'
      : this.timedOut
        ? 'aborted'
        : notRun.length === 0
          ? 'succeeded'
          : 'failed';
    const error =
      status === 'succeeded'
        ? undefined
        : (this.stopReason ??
          (this.failed.length > 0
            ? `failed: ${this.failed.join(', ')}`
            : `not run: ${notRun.slice(0, 5).join(', ')}`));
    const durationMs = Math.round(performance.now() - t0);
    this.emit({
      type: 'run-finished',
      status,
      durationMs,
      ...(error === undefined ? {} : { error: rollbackSummary ? `${error}; ${rollbackSummary}` : error }),
    });
    // After run-finished, so the grace never counts in the run's duration or its RTO.
    await this.notifier?.close();
    const exitCode =
      status === 'succeeded'
        ? ExitCode.ok
        : status === 'interrupted'
          ? ExitCode.interrupted
          : ExitCode.failed;
    return { status, exitCode, durationMs, failed: [...this.failed], error };
  }

  private applyResumeDecisions(resume: ResumePlan & { by: string }, done: Set<string>): void {
    for (const s of resume.view.steps) {
      if (s.rollbackOf === undefined && COMPLETED_STATES.has(s.state)) done.add(s.id);
    }
    for (const s of [...resume.view.steps]
      .filter((v) => v.state === 'succeeded')
      .sort((a, b) => (a.finishedSeq ?? 0) - (b.finishedSeq ?? 0))) {
      this.completedOrder.push(s.id);
    }
    for (const d of resume.dangling) {
      this.emit({
        type: 'override',
        step: d.id,
        action: d.decision === 'mark-done' ? 'mark-done' : 'retry-unknown',
        by: d.automatic ? 'drctl' : resume.by,
        reason: d.reason,
      });
      if (d.decision === 'mark-done') {
        this.markDone(d.id, resume.view.byId.get(d.id)?.attempts ?? 0);
        done.add(d.id);
      }
    }
    for (const m of resume.markDone) {
      this.emit({ type: 'override', step: m.id, action: 'mark-done', by: resume.by, reason: m.reason });
      this.markDone(m.id, resume.view.byId.get(m.id)?.attempts ?? 0);
      done.add(m.id);
    }
  }

  private markDone(id: string, attempts: number): void {
    this.emit({ type: 'step-finished', step: id, status: 'done-by-override', durationMs: 0, attempts });
  }

  /** Runs one step to a final state; true when it completed (succeeded or skipped). */
  private async runStep(step: Step): Promise<boolean> {
    const { runbook, dryRun } = this.opts;
    let action = step.action;
    let timeoutMs = step.timeoutMs;
    if (runbook.drill && step.drill.mode === 'action') {
      action = step.drill.action;
      timeoutMs = step.drill.timeoutMs ?? timeoutMs;
    }
    const drill = runbook.drill ? { drill: true } : {};
    const description = describeAction(action);
    if (dryRun) {
      this.emit({
        type: 'step-started',
        step: step.id,
        attempt: 1,
        ...drill,
        dryRun: true,
        description: `would run: ${description}`,
      });
      this.emit({ type: 'step-finished', step: step.id, status: 'succeeded', durationMs: 0, attempts: 0 });
      this.completedOrder.push(step.id);
      return true;
    }
    if (action.kind === 'wait') timeoutMs ??= DEFAULT_WAIT_TIMEOUT_MS;
    const previous = this.opts.resume?.view.byId.get(step.id)?.attempts ?? 0;
    const first = previous + 1;
    const last = first + step.retry.count;
    const t0 = performance.now();
    let outcome: StepOutcome = { ok: false, error: 'not run' };
    let attempt = first;
    this.emit({ type: 'step-started', step: step.id, attempt: first, ...drill, description });
    this.failpoint.afterStarted(step.id);
    for (; attempt <= last; attempt++) {
      const a0 = performance.now();
      outcome = await this.attempt(step, action, timeoutMs, attempt);
      const retryable =
        !outcome.ok &&
        outcome.retryable !== false &&
        attempt < last &&
        !this.soft.signal.aborted &&
        !this.hard.signal.aborted &&
        !this.runTimeout.signal.aborted;
      const retryInMs = retryable ? retryDelayMs(step.retry, attempt - first + 1) : undefined;
      if (!outcome.ok) {
        this.emit({
          type: 'step-attempt',
          step: step.id,
          attempt,
          ok: false,
          durationMs: Math.round(performance.now() - a0),
          ...(outcome.exitCode === undefined ? {} : { exitCode: outcome.exitCode }),
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
          ...(retryInMs === undefined ? {} : { retryInMs }),
        });
      }
      if (outcome.ok || retryInMs === undefined) break;
      try {
        await sleep(retryInMs, undefined, { signal: AbortSignal.any([this.soft.signal, this.hard.signal]) });
      } catch {
        break;
      }
    }
    // A step stopped by the run timeout failed (its onFailure applies, rollback included); one
    // stopped by Ctrl-C, or a wait ended by the stop, was cancelled.
    const cancelled =
      !outcome.ok &&
      !this.runTimeout.signal.aborted &&
      (this.hard.signal.aborted || (this.soft.signal.aborted && isWaiting(action)));
    const status = outcome.ok ? 'succeeded' : cancelled ? 'cancelled' : 'failed';
    this.emit({
      type: 'step-finished',
      step: step.id,
      status,
      durationMs: Math.round(performance.now() - t0),
      attempts: Math.min(attempt, last) - previous,
      ...(outcome.exitCode === undefined ? {} : { exitCode: outcome.exitCode }),
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
      ...(outcome.ok || outcome.outputTail === undefined ? {} : { outputTail: outcome.outputTail }),
    });
    this.failpoint.afterFinished(step.id);
    if (outcome.ok) {
      this.completedOrder.push(step.id);
      return true;
    }
    this.failed.push(step.id);
    if (!cancelled) this.onStepFailure(step);
    return false;
  }

  private onStepFailure(step: Step): void {
    switch (step.onFailure) {
      case 'continue':
        return;
      case 'abort':
        this.stop(`step ${step.id} failed (onFailure: abort)`);
        return;
      case 'rollback':
        this.rollbackWanted = true;
        this.stop(`step ${step.id} failed (onFailure: rollback)`);
        return;
    }
  }

  private async attempt(
    step: Step,
    action: Action,
    timeoutMs: number | undefined,
    attempt: number,
    rollback = false,
  ): Promise<StepOutcome> {
    const signals = [this.hard.signal];
    // Waiting changes nothing, so the first Ctrl-C (or an abort) ends waits and approvals at once.
    // Rollback steps run after the stop (and after a run timeout): only a second Ctrl-C and
    // their own timeout end them.
    if (!rollback) {
      signals.push(this.runTimeout.signal);
      if (isWaiting(action)) signals.push(this.soft.signal);
    }
    if (timeoutMs !== undefined) signals.push(timeoutSignal(timeoutMs));
    const signal = AbortSignal.any(signals);
    // A run step's command waits behind its gate until its process is journaled (recordProcess),
    // so its process can be started while step-started is being made durable: the gate opens only
    // once both are on disk. One flush of waiting per step on a chain, not two in a row.
    const gated = action.kind === 'run' && this.opts.runAction === undefined;
    let started: Promise<void> | undefined;
    const ctx: StepContext = {
      step,
      runDir: this.opts.runDir,
      resources: this.opts.runbook.resources,
      signal,
      attempt,
      log: (line) => this.opts.observer?.onLog?.(step.id, redact(line)),
      requestApproval: (instructions, role) => this.requestApproval(step, action, instructions, role, signal),
      recordGate: (result: CheckResult) => this.emit({ type: 'gate-result', step: step.id, result }),
      recordEffect: (e) =>
        this.emit({
          type: 'step-effect',
          step: step.id,
          attempt,
          target: redact(e.target),
          outcome: e.outcome,
          ...(e.detail === undefined ? {} : { detail: redact(e.detail) }),
        }),
      recordProcess: async (pid) => {
        // Written at once (a crash of drctl keeps it: resume must know this process), then
        // fsynced off the event loop: the command waits behind its gate until it is durable, and
        // other steps do not wait for this fsync. If either fails the gate closes unopened and
        // the command never runs (it exits 125).
        try {
          this.opts.journal.append(
            { type: 'step-process', step: step.id, attempt, pid, ...describeProcess(pid), host: hostname() },
            { sync: false },
          );
          await Promise.all([started, this.opts.journal.syncAsync()]);
        } catch (err) {
          this.onJournalError(err);
          throw err;
        }
      },
    };
    try {
      if (gated) {
        started = this.durable();
        started.catch((err: unknown) => this.onJournalError(err));
      } else {
        try {
          await this.durable();
        } catch (err) {
          this.onJournalError(err);
        }
      }
      if (this.journalError !== undefined) {
        return { ok: false, retryable: false, error: 'not started: the journal cannot be written' };
      }
      const outcome = await (this.opts.runAction ?? executeAction)(action, ctx);
      // Whatever the command did (it may not have started at all), its step-started is durable
      // before the step's end is journaled.
      await started?.catch(() => undefined);
      // A result that arrives after the timeout or abort is never a success.
      if (outcome.ok && signal.aborted) {
        return { ok: false, error: `${action.kind} step ended: ${abortReason(signal)} (it returned late)` };
      }
      return outcome;
    } catch (err) {
      if (this.journalError !== undefined) {
        return { ok: false, retryable: false, error: 'not started: the journal cannot be written' };
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS') {
        return {
          ok: false,
          retryable: false,
          error: `cannot write under ${this.opts.runDir} (${code}${code === 'EROFS' ? ': read-only' : ': disk full'}): ${(err as Error).message}`,
        };
      }
      // A wait or approval ended by the run's abort, Ctrl-C or the step timeout is not a bug.
      if (signal.aborted) return { ok: false, error: `${action.kind} step ended: ${abortReason(signal)}` };
      return {
        ok: false,
        error: redact(`internal error in ${action.kind} step: ${(err as Error).stack ?? String(err)}`),
      };
    }
  }

  private requestApproval(
    step: Step,
    action: Action,
    instructions: string,
    role: string,
    signal: AbortSignal,
  ): Promise<ApprovalDecision> {
    // A manual step is decided by its owner and approvers: roles; an approval another kind of
    // step asks for (the data-risk approval of an unplanned gate) only by the role it names.
    const policy: ApprovalPolicy =
      action.kind === 'manual'
        ? approvalPolicy(this.opts.runbook, step, action)
        : { roles: [role], members: this.opts.runbook.roles[role]?.members ?? [], minApprovals: 1 };
    this.emit({
      type: 'approval-requested',
      step: step.id,
      role,
      instructions,
      approvers: policy.roles,
      members: policy.members,
      ...(policy.minApprovals > 1 ? { minApprovals: policy.minApprovals } : {}),
    });
    this.decided.delete(step.id);
    const decided = new AbortController();
    const both = AbortSignal.any([signal, decided.signal]);
    return new Promise<ApprovalDecision>((resolve, reject) => {
      let settled = false;
      const finish = (d: Submitted, extra: { role: string; count?: number; needed?: number }): void => {
        if (settled) return;
        settled = true;
        this.waiting.delete(step.id);
        signal.removeEventListener('abort', onAbort);
        const ev = this.emit({
          type: 'approval',
          step: step.id,
          decision: d.decision,
          by: d.by,
          ...(d.comment ? { comment: d.comment } : {}),
          via: d.via,
          ...(d.request === undefined ? {} : { request: d.request }),
          ...extra,
          ...origin(d),
        });
        this.decided.set(step.id, { decision: d.decision, by: d.by, seq: ev.seq });
        decided.abort();
        resolve({ decision: d.decision, by: d.by, comment: d.comment, via: d.via });
      };
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        this.waiting.delete(step.id);
        decided.abort();
        const r: unknown = signal.reason;
        reject(r instanceof Error ? r : new Error('aborted'));
      };
      this.waiting.set(step.id, { finish, policy, approvedBy: new Set() });
      // A listener added to a signal already aborted never fires: a Ctrl-C that landed between
      // step-started and here must end the wait now, not leave it open forever.
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.sweepApprovals();
      this.opts.observer
        ?.promptApproval?.(step, instructions, role, both)
        .then((d) => d && this.consider({ ...d, step: step.id, via: d.via === 'prompt' ? 'prompt' : 'cli' }))
        .catch(() => undefined);
    });
  }

  /**
   * Answers every decision in the inbox, in submission order, with exactly one journal event
   * each (see `consider`).
   */
  private sweepApprovals(notWaiting?: string): void {
    let requests: ApprovalRequest[];
    try {
      requests = takeApprovals(this.opts.runDir);
    } catch (err) {
      this.notice(`cannot read the approvals inbox: ${(err as Error).message}`);
      return;
    }
    for (const req of requests) {
      this.consider(
        {
          step: req.step,
          decision: req.decision,
          by: req.by,
          comment: req.comment,
          via: req.via === 'bridge' ? 'bridge' : 'cli',
          request: req.id,
          osUser: req.osUser,
          host: req.host,
          address: req.address,
        },
        notWaiting,
      );
    }
  }

  /**
   * Decides what one submitted decision does, journaling exactly one event: by someone who is not
   * a member of an allowed role, refused; for a waiting step, a rejection decides it, an approval
   * counts once per person and decides it at `minApprovals`; a later approval of an approved step
   * is kept as a concurring approval; anything else is refused, with why.
   */
  private consider(d: Submitted, notWaiting?: string): void {
    const comment = d.comment ? { comment: d.comment } : {};
    const refuse = (code: 'not-allowed' | 'duplicate' | 'not-waiting', reason: string): void => {
      this.emit({
        type: 'approval-refused',
        step: d.step,
        decision: d.decision,
        by: d.by,
        ...comment,
        request: d.request ?? 'prompt',
        reason,
        code,
        via: d.via,
        ...origin(d),
      });
    };
    const w = this.waiting.get(d.step);
    const step = this.steps.get(d.step) ?? this.steps.get(d.step.slice(ROLLBACK_PREFIX.length));
    const policy =
      w?.policy ?? (step === undefined ? undefined : approvalPolicy(this.opts.runbook, step, step.action));
    let role = '';
    if (policy !== undefined) {
      const auth = this.authorize(d.by, policy);
      if (!auth.ok) {
        refuse('not-allowed', `${d.step}: ${auth.reason}`);
        return;
      }
      role = auth.role;
    }
    if (w !== undefined) {
      if (d.decision === 'rejected') {
        w.finish(d, { role });
        return;
      }
      if (w.approvedBy.has(d.by)) {
        refuse(
          'duplicate',
          `${d.step}: ${d.by} has already approved; it needs ${w.policy.minApprovals} different people`,
        );
        return;
      }
      w.approvedBy.add(d.by);
      const needed = w.policy.minApprovals;
      const count = w.approvedBy.size;
      if (count < needed) {
        this.emit({
          type: 'approval',
          step: d.step,
          decision: 'approved',
          by: d.by,
          ...comment,
          via: d.via,
          ...(d.request === undefined ? {} : { request: d.request }),
          role,
          count,
          needed,
          ...origin(d),
        });
        return;
      }
      w.finish(d, { role, ...(needed > 1 ? { count, needed } : {}) });
      return;
    }
    const prior = this.decided.get(d.step);
    if (prior !== undefined && prior.decision === 'approved' && d.decision === 'approved') {
      this.emit({
        type: 'approval',
        step: d.step,
        decision: 'approved',
        by: d.by,
        ...comment,
        via: d.via,
        ...(d.request === undefined ? {} : { request: d.request }),
        concurring: true,
        role,
        ...origin(d),
      });
      return;
    }
    refuse(
      'not-waiting',
      prior !== undefined
        ? `${d.step} was already ${prior.decision} by ${prior.by} (event ${prior.seq}); the first decision stands`
        : `${d.step} is not waiting for approval: ${notWaiting ?? 'no approval was requested'}`,
    );
  }

  /** Reads the users file at each decision: a user added or removed during the run counts at once. */
  private authorize(by: string, policy: ApprovalPolicy): Authorization {
    let users: Users = new Map();
    if (this.opts.usersFile !== undefined) {
      try {
        users = readUsers(this.opts.usersFile);
      } catch (err) {
        return { ok: false, reason: `cannot check ${by}'s roles: ${(err as Error).message}` };
      }
    }
    return authorizeApprover(by, policy, this.opts.runbook, users);
  }

  /**
   * Undoes completed steps that have a rollback action, newest first (reverse dependency order).
   * A failed rollback step does not stop the others: each undoes a different step, and leaving
   * the earlier ones in place is rarely safer. Returns undefined when everything was undone, else
   * a sentence saying what was and was not undone (also in the rollback-finished event).
   */
  private async rollback(): Promise<string | undefined> {
    const newestFirst = [...this.completedOrder].reverse();
    const todo = newestFirst.filter((id) => this.steps.get(id)?.rollback !== undefined);
    const noAction = newestFirst.filter((id) => this.steps.get(id)?.rollback === undefined);
    this.emit({
      type: 'rollback-started',
      reason: this.stopReason ?? 'a step failed',
      steps: todo.map((id) => ROLLBACK_PREFIX + id),
    });
    const undone: string[] = [];
    const failed: string[] = [];
    const notRun: string[] = [];
    this.rollbackRunning = true;
    for (const id of todo) {
      const step = this.steps.get(id)!;
      const rb = step.rollback!;
      const rid = ROLLBACK_PREFIX + id;
      if (this.hard.signal.aborted || this.lockLost !== undefined || !(await this.lockHeld())) {
        this.emit({
          type: 'step-skipped',
          step: rid,
          reason: this.hard.signal.aborted
            ? `rollback stopped: ${abortReason(this.hard.signal)}`
            : `rollback not started: the switch lock was lost (${this.lockLost ?? ''})`,
        });
        notRun.push(id);
        continue;
      }
      const t0 = performance.now();
      this.emit({ type: 'step-started', step: rid, attempt: 1, description: describeAction(rb.action) });
      const timeoutMs = rb.timeoutMs ?? (rb.action.kind === 'wait' ? DEFAULT_WAIT_TIMEOUT_MS : undefined);
      const outcome = await this.attempt({ ...step, id: rid }, rb.action, timeoutMs, 1, true);
      this.emit({
        type: 'step-finished',
        step: rid,
        status: outcome.ok ? 'succeeded' : this.hard.signal.aborted ? 'cancelled' : 'failed',
        durationMs: Math.round(performance.now() - t0),
        attempts: 1,
        ...(outcome.exitCode === undefined ? {} : { exitCode: outcome.exitCode }),
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
        ...(outcome.ok || outcome.outputTail === undefined ? {} : { outputTail: outcome.outputTail }),
      });
      (outcome.ok ? undone : failed).push(id);
    }
    const complete = failed.length === 0 && notRun.length === 0;
    const summary = complete
      ? undefined
      : [
          `rollback incomplete: NOT undone ${[...failed.map((id) => `${id} (rollback failed)`), ...notRun.map((id) => `${id} (rollback not run)`)].join(', ')}`,
          `undone ${undone.length > 0 ? undone.join(', ') : 'nothing'}`,
        ].join('; ');
    this.emit({
      type: 'rollback-finished',
      status: complete ? 'succeeded' : 'failed',
      undone,
      failed,
      notRun,
      noRollbackAction: noAction,
    });
    if (summary) this.notice(summary);
    return summary;
  }

  /**
   * Before a step starts: is every switch lock still ours? When one was lost (expired, taken,
   * fencing token moved), journal why once and stop starting steps; false from then on.
   */
  private async lockHeld(): Promise<boolean> {
    const guard = this.opts.lockGuard;
    if (guard === undefined) return true;
    if (this.lockLost !== undefined) return false;
    const lost = await guard.check();
    if (lost === undefined) return !this.soft.signal.aborted || this.rollbackRunning;
    this.lockLost = redact(lost);
    this.emit({ type: 'lock-lost', reason: this.lockLost });
    this.stop(`the switch lock was lost: ${this.lockLost}`);
    this.notice(`switch lock lost: ${this.lockLost}; no new step starts`);
    return false;
  }

  private stop(reason: string): void {
    if (this.soft.signal.aborted) return;
    this.stopReason = reason;
    this.soft.abort(new Error(reason));
    this.notifier?.stopped(reason);
  }

  private notice(message: string): void {
    this.opts.observer?.onNotice?.(message);
  }

  /**
   * Journals an event. Lines are written at once (a crash of this process loses nothing) and
   * fsynced as a group: before any action starts (`durable()`), and at the start and end of the
   * run. So an action never runs before the event saying it started is on disk.
   */
  private emit(body: JournalEventBody): JournalEvent {
    const sync =
      body.type === 'run-started' ||
      body.type === 'run-resumed' ||
      body.type === 'run-finished' ||
      body.type === 'override' ||
      // Work that reached a remote system must survive a power loss: resume decides on it.
      body.type === 'step-effect';
    let ev: JournalEvent;
    try {
      ev = this.opts.journal.append(body, { sync });
    } catch (err) {
      this.onJournalError(err);
      // Not on disk: the renderer still shows it, marked, so the operator sees what happened.
      ev = { seq: -1, ts: new Date().toISOString(), mono: 0, prev: '', ...body };
    }
    this.opts.observer?.onEvent?.(ev);
    this.notifier?.observe(ev);
    return ev;
  }

  /**
   * A journal that cannot be written (a full disk, a read-only remount) must not let the run go
   * on unrecorded: nothing new starts, and a step whose start is not on disk does not run.
   */
  private onJournalError(err: unknown): void {
    if (this.journalError !== undefined) return;
    this.journalError = err as Error;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    this.stop(`the journal cannot be written (${code}): no new step starts`);
    this.notice(
      `cannot write the journal ${this.opts.journal.path} (${code}): no new step starts; running steps finish unrecorded. Free space, then drctl resume ${this.opts.runId}`,
    );
  }

  /** One fsync for every event written in this tick (group commit). */
  private durable(): Promise<void> {
    this.syncing ??= Promise.resolve().then(() => {
      this.syncing = undefined;
      return this.opts.journal.syncAsync();
    });
    return this.syncing;
  }
}

/** A submitted decision, with where it came from (the inbox request, the OS user and host). */
interface Submitted {
  step: string;
  decision: 'approved' | 'rejected';
  by: string;
  comment?: string | undefined;
  via: 'prompt' | 'cli' | 'bridge';
  request?: string | undefined;
  osUser?: string | undefined;
  host?: string | undefined;
  address?: string | undefined;
}

interface Waiting {
  finish: (d: Submitted, extra: { role: string; count?: number; needed?: number }) => void;
  policy: ApprovalPolicy;
  /** Distinct people who approved so far (minApprovals). */
  approvedBy: Set<string>;
}

function origin(d: Submitted): { osUser?: string; host?: string; address?: string } {
  return {
    ...(d.osUser ? { osUser: d.osUser } : {}),
    ...(d.host ? { host: d.host } : {}),
    ...(d.address ? { address: d.address } : {}),
  };
}

function isWaiting(action: Action): boolean {
  return action.kind === 'manual' || action.kind === 'wait';
}

function timeoutSignal(ms: number): AbortSignal {
  const c = new AbortController();
  const t = setTimeout(() => c.abort(new Error(`timed out after ${formatDuration(ms)}`)), ms);
  t.unref();
  return c.signal;
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return JSON.parse(JSON.stringify(o)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
