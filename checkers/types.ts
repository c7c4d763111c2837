import type { z } from 'zod';

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

/**
 * The endpoints a checker compares, as resolved from a runbook resource or from CLI flags.
 * Secrets are already resolved and registered for redaction.
 */
export type CheckTarget =
  | { kind: 'mysql'; source: string; target: string }
  | { kind: 's3'; source: S3Endpoint; target: S3Endpoint }
  | { kind: 'es'; source: EsEndpoint; target: EsEndpoint }
  | { kind: 'redis'; source: string; target: string };

export interface S3Endpoint {
  /** e.g. http://127.0.0.1:7480; undefined means AWS default resolution. */
  endpoint?: string | undefined;
  region?: string | undefined;
  bucket?: string | undefined;
  prefix?: string | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  profile?: string | undefined;
  /** Path-style addressing (Ceph RGW); default true. */
  forcePathStyle?: boolean | undefined;
}

export interface EsEndpoint {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  apiKey?: string | undefined;
}

/**
 * A built-in consistency checker. Read-only on every system it touches.
 * `optionsSchema` validates the extra fields of a runbook `check:` step and the CLI's options.
 */
export interface Checker<Options = unknown> {
  kind: CheckTarget['kind'];
  optionsSchema: z.ZodType<Options>;
  run(target: CheckTarget, options: Options, ctx: CheckContext): Promise<CheckResult>;
}
