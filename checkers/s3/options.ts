import { z } from 'zod';
import { maxFindingsOption } from '../result.js';
import { parseDuration } from '../../shared/duration.js';

/**
 * Options of the s3 checker: the extra fields of a runbook `check: { kind: s3, resource, … }`
 * step, and what `drctl check s3` builds from its flags. Cheap to import (no SDK).
 */
export const s3OptionsSchema = z
  .object({
    /**
     * Compare these buckets (same name on both sides) instead of the buckets in the resource;
     * `all` = every bucket of the source account, plus buckets that exist only on the target.
     */
    buckets: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).optional(),
    /**
     * Incremental: compare the content (and metadata) only of objects modified after this time on
     * either side (ISO time, or a duration ago such as `24h`). Presence is still compared for
     * every key, so a deletion inside the window is never invisible.
     */
    since: z.string().min(1).optional(),
    /**
     * Download both copies of every object present on both sides with the same size and compare
     * their SHA-256: ETags (MD5) are then not trusted at all. Default false.
     */
    download: z.boolean().default(false),
    /**
     * Also compare, per object, Content-Type, Content-Encoding, Content-Disposition,
     * Content-Language, Cache-Control, Expires, user metadata (x-amz-meta-*) and tags: one HEAD
     * and one GetObjectTagging per object per side. Default false.
     */
    metadata: z.boolean().default(false),
    /** Deadline of one S3 request, retries included (`30s`, `2m`). Default 30s. */
    requestTimeout: z
      .string()
      .refine((t) => (parseDuration(t) ?? 0) > 0, { message: 'expected a duration such as 30s or 2m' })
      .default('30s'),
    /** Also report a different LastModified as a difference. Default false (replication rewrites it). */
    compareModTime: z.boolean().default(false),
    /**
     * Key ranges listed at once per bucket (each lists both sides). Default: chosen from the
     * cores and the endpoints (one per two cores against a server on this host, else 8).
     */
    concurrency: z.number().int().min(1).max(64).optional(),
    /** Write rclone-style `= key` lines for every object to this file (`-` = stdout). */
    combined: z.string().min(1).optional(),
    /** Findings kept in the result (the rest are counted in findingsOmitted). Default 1000. */
    maxFindings: maxFindingsOption,
  })
  .strict();

export type S3CheckOptions = z.output<typeof s3OptionsSchema>;

/** `2026-05-01T00:00:00Z` or a duration ago (`90m`, `24h`, `7d`); undefined when malformed. */
export function resolveSince(text: string, now: Date = new Date()): Date | undefined {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now.getTime() - ms);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const t = Date.parse(text.trim());
  return Number.isNaN(t) ? undefined : new Date(t);
}
