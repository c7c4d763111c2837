import { UsageError } from '../../shared/errors.js';
import { parseDuration } from '../../shared/duration.js';
import { quoteIdent } from './row-sql.js';

const DATE_RE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A time-window bound as a UTC `YYYY-MM-DD HH:MM:SS.ffffff` literal (sessions run at +00:00).
 * Accepts a duration meaning "that long before now" (`2h`) or a date / datetime (UTC unless it
 * carries an offset). Pure given `now`.
 */
export function parseWindowBound(text: string, flag: string, now: Date): string {
  const ago = parseDuration(text);
  let date: Date;
  if (ago !== undefined) date = new Date(now.getTime() - ago);
  else {
    const m = DATE_RE.exec(text.trim());
    if (!m) {
      throw new UsageError(
        `${flag}: expected a duration like 2h or a UTC datetime like 2026-11-21T10:00:00Z, got "${text}"`,
      );
    }
    // Date keeps milliseconds only: parse whole seconds, then carry the fraction (to 6 digits) as text.
    const [hms, frac = ''] = (m[2] ?? '00:00:00').split('.');
    const iso = `${m[1]}T${hms!.length === 5 ? `${hms}:00` : hms}${m[3] ?? 'Z'}`;
    date = new Date(iso);
    if (Number.isNaN(date.getTime())) throw new UsageError(`${flag}: not a valid date: "${text}"`);
    return (
      date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, '') +
      '.' +
      frac.padEnd(6, '0')
    );
  }
  return date.toISOString().replace('T', ' ').replace('Z', '') + '000';
}

/** `col >= 'since' AND col < 'until'` (either side optional). */
export function windowPredicate(
  column: string,
  since: string | undefined,
  until: string | undefined,
): string {
  const parts: string[] = [];
  if (since !== undefined) parts.push(`${quoteIdent(column)} >= '${since}'`);
  if (until !== undefined) parts.push(`${quoteIdent(column)} < '${until}'`);
  return parts.length > 0 ? parts.join(' AND ') : `${quoteIdent(column)} IS NOT NULL`;
}
