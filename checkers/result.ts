import { z } from 'zod';
import type { CheckContext, CheckResult, CheckStatus, Finding } from './types.js';

/**
 * One result builder for every checker: the findings cap and omitted count, the status rule and
 * the shape of a CheckResult are written here once. A checker keeps only its comparison code.
 */

/** Findings kept in a result when the options do not say (all are counted). One cap for all. */
export const DEFAULT_MAX_FINDINGS = 1000;

/** The `maxFindings` option every checker accepts (runbook `maxFindings:`, CLI `--show` raises it). */
export const maxFindingsOption = z.number().int().min(0).default(DEFAULT_MAX_FINDINGS);

/** Keeps the first `max` findings, counts the rest, and streams every one to the context. */
export class FindingLog {
  readonly kept: Finding[] = [];
  omitted = 0;
  /** Findings of severity `difference` and `unverified` (warnings count in neither). */
  differences = 0;
  unverified = 0;

  constructor(
    private readonly max: number,
    private readonly ctx?: Pick<CheckContext, 'onFinding'>,
  ) {}

  add(f: Finding): void {
    if (f.severity === 'difference') this.differences++;
    if (f.severity === 'unverified') this.unverified++;
    this.ctx?.onFinding?.(f);
    if (this.kept.length < this.max) this.kept.push(f);
    else this.omitted++;
  }
}

/**
 * The status rule: anything that could not be compared is an error; any difference is
 * `different`; anything unverified is `unverified` (never a pass); else `consistent`.
 */
export function statusOf(tally: { differences: number; unverified: number; errors?: number }): CheckStatus {
  if ((tally.errors ?? 0) > 0) return 'error';
  if (tally.differences > 0) return 'different';
  if (tally.unverified > 0) return 'unverified';
  return 'consistent';
}

export interface ResultParts {
  checker: string;
  status: CheckStatus;
  summary: string;
  counts: Record<string, number>;
  /** The kept findings and the omitted count (a FindingLog). */
  log: Pick<FindingLog, 'kept' | 'omitted'>;
  /** Findings placed before the kept ones and never crowded out by the cap (scope warnings). */
  leading?: Finding[];
  evidence: Record<string, unknown>;
  /** ms since the epoch, or a Date. */
  startedAt: number | Date;
  finishedAt?: number | Date;
}

/** The CheckResult: `ok` only when consistent, findings bounded, times in ISO form. */
export function buildResult(p: ResultParts): CheckResult {
  const started = typeof p.startedAt === 'number' ? p.startedAt : p.startedAt.getTime();
  const finished =
    p.finishedAt === undefined
      ? Date.now()
      : typeof p.finishedAt === 'number'
        ? p.finishedAt
        : p.finishedAt.getTime();
  return {
    checker: p.checker,
    ok: p.status === 'consistent',
    status: p.status,
    summary: p.summary,
    counts: p.counts,
    findings: [...(p.leading ?? []), ...p.log.kept],
    findingsOmitted: p.log.omitted,
    evidence: p.evidence,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
  };
}

/**
 * The result of a check stopped by Ctrl-C or a cancelled step: what was found so far, marked
 * interrupted, never a pass (status `error`, exit 130 from the CLI).
 */
export function interruptedResult(
  checker: string,
  log: Pick<FindingLog, 'kept' | 'omitted'>,
  startedAt: number,
): CheckResult {
  const found = log.kept.filter((f) => f.severity !== 'warning').length + log.omitted;
  return {
    ...buildResult({
      checker,
      status: 'error',
      summary: `interrupted after ${found} finding${found === 1 ? '' : 's'}: nothing was judged`,
      counts: {},
      log,
      evidence: {},
      startedAt,
    }),
    interrupted: true,
  };
}
