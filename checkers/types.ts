import type { z } from 'zod';
import type { CheckerKind, CheckTarget } from './index.js';

/**
 * Outcome of a check. Only `consistent` is a pass: `unverified` (something could not be
 * compared, e.g. a multipart ETag without --download) never counts as a match.
 */
export type CheckStatus = 'consistent' | 'different' | 'unverified' | 'error';

/** One difference or doubt, streamed as it is found. */
export interface Finding {
  /** e.g. `missing`, `extra`, `different`, `errant-gtid`, `schema`, `unverified`. */
  kind: string;
  severity: 'difference' | 'unverified' | 'warning';
  /** What it is about: `bank.accounts`, `bucket/key`, `index/_id`. */
  object: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface CheckResult {
  checker: string;
  /** true only when status is `consistent`. */
  ok: boolean;
  status: CheckStatus;
  /** One line a person reads on the bridge, e.g. `12 tables, 1,000,000 rows: consistent`. */
  summary: string;
  /** Totals such as rowsSource, rowsTarget, missing, extra, different, unverified. */
  counts: Record<string, number>;
  /** The first findings (bounded; see findingsOmitted). */
  findings: Finding[];
  /** How many findings were not kept in `findings` to bound memory. */
  findingsOmitted: number;
  /** What proves the result: positions, per-object counts, server versions. No secrets. */
  evidence: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Set when the check was stopped (Ctrl-C, cancelled step): a partial result, never a pass. */
  interrupted?: boolean;
}

export interface CheckProgressEvent {
  phase: string;
  object?: string;
  done?: number;
  total?: number;
  message?: string;
}

export interface CheckContext {
  signal: AbortSignal;
  progress: (event: CheckProgressEvent) => void;
  /** Called for each finding as soon as it is known (streaming output). */
  onFinding?: (finding: Finding) => void;
}

/** The endpoints a checker compares (derived from the registry). */
export type { CheckTarget } from './index.js';
export type { S3Endpoint } from './s3/endpoint.js';
export type { EsEndpoint } from './es/endpoint.js';

/**
 * A built-in consistency checker. Read-only on every system it touches.
 * `optionsSchema` validates the extra fields of a runbook `check:` step and the CLI's options.
 */
export interface Checker<Options = unknown> {
  kind: CheckerKind;
  optionsSchema: z.ZodType<Options>;
  run(target: CheckTarget, options: Options, ctx: CheckContext): Promise<CheckResult>;
}
