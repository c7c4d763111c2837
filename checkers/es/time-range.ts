import { UsageError } from '../../shared/errors.js';
import { parseDuration } from '../../shared/duration.js';

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

/**
 * The `--since` window for one index on one side. A date/date_nanos field takes the bound with
 * an explicit format; a numeric (epoch-millis `long`) field takes plain epoch milliseconds, since
 * a numeric range refuses a `format`. `outside` is the complement, used to compare ids outside
 * the window so that a deletion there is not invisible.
 */
export function buildQuery(
  timeField: string | undefined,
  since: string | number | undefined,
  fieldType?: string,
): { inside: Record<string, unknown>; outside: Record<string, unknown> | undefined } {
  if (timeField === undefined || since === undefined)
    return { inside: { match_all: {} }, outside: undefined };
  const numeric = fieldType !== undefined && fieldType !== 'date' && fieldType !== 'date_nanos';
  const bound = numeric
    ? { gte: typeof since === 'number' ? since : Date.parse(since) }
    : { gte: since, format: 'strict_date_optional_time||epoch_millis' };
  const range = { range: { [timeField]: bound } };
  return { inside: range, outside: { bool: { must_not: [range] } } };
}
