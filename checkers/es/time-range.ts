import { UsageError } from '../../src/errors.js';
import { parseDuration } from '../../src/util/duration.js';

/**
 * `--since` as a range bound: a duration ago (`2h`, `1d`), epoch milliseconds, or an ISO time.
 * Returned as an ISO string or epoch ms, both of which `strict_date_optional_time||epoch_millis` parses.
 */
export function parseSince(since: string, now = Date.now()): string | number {
  const ago = parseDuration(since);
  if (ago !== undefined) return new Date(now - ago).toISOString();
  if (/^\d{10,}$/.test(since)) return Number(since);
  if (/^\d{4}-\d{2}-\d{2}/.test(since) && !Number.isNaN(Date.parse(since))) return since;
  throw new UsageError(`--since ${JSON.stringify(since)} is not a time`, {
    hint: 'use an ISO time (2026-11-21T22:00:00Z), epoch milliseconds, or a duration ago (90m, 2h, 1d)',
  });
}

export function buildQuery(
  timeField: string | undefined,
  since: string | number | undefined,
): Record<string, unknown> {
  if (timeField === undefined || since === undefined) return { match_all: {} };
  return { range: { [timeField]: { gte: since, format: 'strict_date_optional_time||epoch_millis' } } };
}
