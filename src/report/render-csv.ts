import type { ReportModel } from './model.js';

/** Leading characters a spreadsheet would run as a formula. */
const FORMULA_START = /^[=+@\t\r]|^-(?!\d)/;

/** One RFC 4180 field: quoted when it holds a comma, quote, CR or LF; formulas neutralised. */
export function csvField(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(fields: (string | number | boolean | undefined)[]): string {
  return fields.map(csvField).join(',');
}

const seconds = (ms: number | undefined): number | undefined =>
  ms === undefined ? undefined : Math.round(ms) / 1000;

export const CSV_COLUMNS = [
  'id',
  'title',
  'owner',
  'phase',
  'kind',
  'needs',
  'status',
  'attempts',
  'estimate_s',
  'start',
  'end',
  'duration_s',
  'work_s',
  'wait_s',
  'variance_s',
  'ran_by',
  'approved_by',
  'critical',
  'notes',
] as const;

/** A row per step for spreadsheets: ISO times, durations in seconds, CRLF line ends. */
export function renderCsv(m: ReportModel): string {
  const rows = [csvRow([...CSV_COLUMNS])];
  for (const s of m.steps) {
    rows.push(
      csvRow([
        s.id,
        s.title,
        s.owner,
        s.phase,
        s.kind,
        s.needs.join(' '),
        s.status,
        s.attempts,
        seconds(s.estimateMs),
        s.startedAt,
        s.finishedAt,
        seconds(s.durationMs),
        seconds(s.workMs),
        seconds(s.waitMs),
        seconds(s.varianceMs),
        s.ranBy,
        s.approvedBy,
        s.critical,
        s.notes.join('; '),
      ]),
    );
  }
  return rows.join('\r\n') + '\r\n';
}
