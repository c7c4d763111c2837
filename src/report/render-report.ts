import { UsageError } from '../errors.js';
import type { ReportModel } from './model.js';
import { renderConsole } from './render-console.js';
import { renderCsv } from './render-csv.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';

export const REPORT_FORMATS = ['console', 'json', 'md', 'csv', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const ALIASES: Record<string, ReportFormat> = { markdown: 'md', text: 'console', htm: 'html' };

/** Validates a --format value; UsageError (exit 2) with the list of formats otherwise. */
export function parseReportFormat(text: string): ReportFormat {
  const f = text.trim().toLowerCase();
  if ((REPORT_FORMATS as readonly string[]).includes(f)) return f as ReportFormat;
  const alias = ALIASES[f];
  if (alias !== undefined) return alias;
  throw new UsageError(`unknown report format "${text}"`, {
    hint: `use one of: ${REPORT_FORMATS.join(', ')} (console is the default)`,
  });
}

/**
 * Renders a report. The model is already redacted string by string; redacting the rendered text
 * again would let a URL-password pattern span CSV fields and corrupt rows.
 */
export function renderReport(model: ReportModel, format: ReportFormat): string {
  let text: string;
  switch (format) {
    case 'console':
      text = renderConsole(model);
      break;
    case 'json':
      text = JSON.stringify(model, null, 2) + '\n';
      break;
    case 'md':
      text = renderMarkdown(model);
      break;
    case 'csv':
      text = renderCsv(model);
      break;
    case 'html':
      text = renderHtml(model);
      break;
  }
  return text;
}
