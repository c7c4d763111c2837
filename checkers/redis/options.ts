import { z } from 'zod';

/**
 * Options of the redis checker: the extra fields of a runbook `check: { kind: redis, … }` step,
 * and what `drctl check redis` builds from its flags. Cheap to import (no driver).
 */
export const redisOptionsSchema = z
  .object({
    /** SCAN MATCH pattern; default every key. */
    match: z.string().min(1).default('*'),
    /** Keys fetched and compared per round trip. Default 500. */
    batch: z.number().int().min(1).max(10_000).default(500),
    /** How long to wait for a replica to reach the primary's replication offset (ms). Default 30 s. */
    waitMs: z.number().int().nonnegative().default(30_000),
    /** Also compare whether keys expire (TTL present on one side only). Default false. */
    compareTtl: z.boolean().default(false),
    /** Findings kept in the result (the counts are always complete). Default 100. */
    maxFindings: z.number().int().min(1).default(100),
  })
  .strict();

export type RedisOptions = z.output<typeof redisOptionsSchema>;
