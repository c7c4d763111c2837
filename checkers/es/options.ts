import { z } from 'zod';
import { maxFindingsOption } from '../result.js';

/**
 * Options of the es checker: the extra fields of a runbook `check: { kind: es, … }` step, and
 * what `drctl check es` builds from its flags. Cheap to import (no HTTP, no crypto).
 */
export const esOptionsSchema = z.object({
  /** Index name, comma list or wildcard pattern (`payments-*`), resolved on both clusters. */
  index: z.string().min(1, 'index pattern is empty'),
  /** Incremental mode: only documents whose timeField is >= since (ISO time, epoch ms, or a duration ago like `2h`). */
  since: z.string().min(1).optional(),
  /** Date field used with `since`; must be mapped on both sides. */
  timeField: z.string().min(1).optional(),
  /**
   * Keyword field (with doc values) holding a unique document id, used to sort both sides for a
   * merge-join on it. Default: match on `_id` and routing, both sides read in index order and
   * hash-joined (no sort, so Elasticsearch 8 needs no setting).
   */
  idField: z.string().min(1).optional(),
  /** Report which fields differ for each different document. Default false. */
  showFields: z.boolean().default(false),
  /** Documents per page of the scan. Default 1000. */
  batchSize: z.number().int().min(10).max(10_000).default(1000),
  /** Findings kept in the result (all are counted). Default 1000. */
  maxFindings: maxFindingsOption,
  /**
   * How to stream: `auto` (point in time + search_after where the server has it, else a sorted
   * scroll), or force `pit` / `scroll`. Default `auto`.
   */
  scan: z.enum(['auto', 'pit', 'scroll']).default('auto'),
  /**
   * Deadline of every HTTP exchange with either cluster (connect, answer, body), e.g. `30s`: a
   * frozen or partitioned node ends the check with exit 2 naming the side instead of hanging.
   * Default `60s`.
   */
  requestTimeout: z
    .string()
    .regex(/^\d+(ms|s|m)$/, 'expected a duration like 30s')
    .default('60s'),
  /** Point-in-time / scroll keep-alive between pages. Default `5m`. */
  keepAlive: z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'expected a keep-alive like 5m')
    .default('5m'),
});

export type EsOptions = z.infer<typeof esOptionsSchema>;
export type EsOptionsInput = z.input<typeof esOptionsSchema>;
