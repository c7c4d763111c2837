import { z } from 'zod';
import { maxFindingsOption } from '../result.js';

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
    /**
     * Expiry policy. `presence` (default): a key that expires on one side and persists on the
     * other is a difference. `exact`: also expiry times that differ by more than
     * `ttlToleranceMs`. `ignore`: expiry is not compared.
     */
    ttl: z.enum(['presence', 'exact', 'ignore']).default('presence'),
    /** With `ttl: exact`, how far two expiry times may differ (ms). Default 2 s. */
    ttlToleranceMs: z.number().int().nonnegative().default(2000),
    /** Deadline of the connection and of every command (ms). Default 30 s. */
    timeoutMs: z.number().int().min(1).default(30_000),
    /** Differing keys re-read after the replica caught up (more are reported unchecked). Default 10,000. */
    recheckLimit: z.number().int().nonnegative().default(10_000),
    /** Findings kept in the result (the counts are always complete). Default 1000, as every checker. */
    maxFindings: maxFindingsOption,
  })
  .strict();

export type RedisOptions = z.output<typeof redisOptionsSchema>;
