import type { StepEffectOutcome } from '../journal/events.js';
import type { CheckResult } from '../../checkers/types.js';
import type { Action, Resource, Step } from '../runbook/schema.js';

/** What a step handler gets: the action to run, where to keep output, and how to stop. */
export interface StepContext {
  step: Step;
  /** The run directory (step output goes under steps/). */
  runDir: string;
  resources: Record<string, Resource>;
  /** Aborted on step timeout, run timeout or a second Ctrl-C: stop and clean up. */
  signal: AbortSignal;
  /** A progress line for the renderer (redacted by the caller). */
  log(line: string): void;
  /** Manual steps: waits for an approval from the prompt or `drctl approve`. */
  requestApproval(instructions: string, role: string): Promise<ApprovalDecision>;
  /** Check steps: the checker result, kept in the journal as evidence. */
  recordGate(result: CheckResult): void;
  /**
   * Journals what the attempt did to a remote system (fsynced before it returns to the handler's
   * next action). Wait conditions get a no-op: polls only read.
   */
  recordEffect(effect: StepEffect): void;
  /** Attempt number, 1-based (run steps name their log files by it). */
  attempt: number;
  /**
   * Run steps: journals the process just spawned (written at once, durable when the promise
   * resolves), so that after a crash resume can tell whether it still runs. Called right after
   * the spawn; the command is let through its gate only once this resolves.
   */
  recordProcess?(pid: number): Promise<void>;
}

export interface StepEffect {
  target: string;
  outcome: StepEffectOutcome;
  detail?: string | undefined;
}

export interface ApprovalDecision {
  decision: 'approved' | 'rejected';
  by: string;
  comment?: string | undefined;
  via: 'prompt' | 'cli' | 'bridge' | 'auto';
}

/** The outcome of one attempt. A failed attempt is a result, not an exception. */
export interface StepOutcome {
  ok: boolean;
  exitCode?: number | undefined;
  error?: string | undefined;
  /** Last lines of output, shown when a run step fails. */
  outputTail?: string[] | undefined;
  /** false: retrying cannot help (e.g. a rejected approval, a missing checker). */
  retryable?: boolean | undefined;
}

/** One step kind: how to run it, and how to describe it for --dry-run. */
export interface StepHandler<K extends Action['kind']> {
  /** One line saying what the action would do, e.g. `run: ./gateway.sh drain`. No secrets. */
  describe(action: Extract<Action, { kind: K }>): string;
  execute(action: Extract<Action, { kind: K }>, ctx: StepContext): Promise<StepOutcome>;
}

/** Every kind has a handler; a missing kind is a compile error. */
export type StepHandlers = { [K in Action['kind']]: StepHandler<K> };
