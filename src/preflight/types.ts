import type { Direction } from '../runbook/schema.js';

/** One probe's verdict: only `fail` stops a switch; a `warning` fails only with --strict. */
export type ProbeStatus = 'ok' | 'warning' | 'fail';

/** One line of the readiness report: what was probed, the verdict, and what to do about it. */
export interface ProbeLine {
  /** The resource name, or `steps of <module>`, `secrets`, `roles`, `durations`. */
  group: string;
  /** mysql, redis, s3, es, run, http, secret, role, estimate… */
  kind: string;
  /** What was probed: `replica replication`, `step promote-dr`, `bucket docs-dr`. */
  item: string;
  status: ProbeStatus;
  /** What was found, one line, never a secret. */
  message: string;
  /** One line of what to do; present on every warning and fail. */
  fix?: string;
  /** The direction this line is about, when the runbook is probed for both. */
  direction?: Direction;
  durationMs?: number;
}

/** What a probe gets: an abort signal that fires at its deadline, and the deadline itself. */
export interface ProbeContext {
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * A unit of live, read-only work. `key` deduplicates (a resource probed for both directions
 * with the same endpoints is probed once); `resource` counts against that resource's
 * concurrency limit.
 */
export interface Probe {
  key: string;
  group: string;
  kind: string;
  /** Named in the fail line when the probe runs out of time. */
  item: string;
  resource?: string | undefined;
  direction?: Direction | undefined;
  /** What to do when it does not answer in time. */
  timeoutFix: string;
  run(ctx: ProbeContext): Promise<ProbeLine[]>;
}

export interface PreflightReport {
  runbook: string;
  file: string;
  environment: string;
  directions: Direction[];
  startedAt: string;
  durationMs: number;
  timeoutMs: number;
  strict: boolean;
  counts: Record<ProbeStatus, number>;
  lines: ProbeLine[];
  /** 0 ready, 1 a fail (or a warning with --strict). */
  exitCode: 0 | 1;
}

export function line(
  base: Pick<ProbeLine, 'group' | 'kind'> & { direction?: Direction | undefined },
  item: string,
  status: ProbeStatus,
  message: string,
  fix?: string,
): ProbeLine {
  return {
    group: base.group,
    kind: base.kind,
    item,
    status,
    message,
    ...(fix === undefined ? {} : { fix }),
    ...(base.direction === undefined ? {} : { direction: base.direction }),
  };
}

/** The message of anything thrown, with the hint of a DrctlError as the fix. */
export function describeError(err: unknown): { message: string; hint?: string } {
  if (err instanceof Error) {
    const hint = (err as { hint?: unknown }).hint;
    return { message: err.message, ...(typeof hint === 'string' ? { hint } : {}) };
  }
  return { message: String(err) };
}
