import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { createRunDir } from '../../src/journal/runs.js';
import {
  REPORT_FORMATS,
  buildReportModel,
  loadReportModel,
  parseReportFormat,
  renderReport,
  type ReportModel,
} from '../../src/report/index.js';
import { csvField } from '../../src/report/render-csv.js';
import { clearSecrets, registerSecret } from '../../src/util/redact.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { generatedEvents } from '../fixtures/report-generated.js';
import { JournalScript, MIN, PLAN, runStarted, writeSuccessfulRun } from '../fixtures/report-journals.js';
import { parseCsv } from '../fixtures/csv.js';

let tmp: string;
let ok: ReportModel;
let odd: ReportModel;

beforeAll(() => {
  tmp = makeTempDir('report-render');
  ok = loadReportModel(writeSuccessfulRun(`${tmp}/runs`));
  // A run whose texts are hostile to every format: quotes, commas, newlines, HTML, pipes, formulas, a secret.
  const id = '20261121T200000000Z-eeee';
  const s = new JournalScript(createRunDir(`${tmp}/runs`, id));
  const steps = [
    { ...PLAN[0]!, title: 'Say "go", then wait\nfor <b>everyone</b> | all' },
    { ...PLAN[1]!, id: 'formula', title: '=HYPERLINK("http://evil")', needs: ['declare'] },
  ];
  s.emit(0, runStarted(id, { steps }));
  s.step('declare', 0, MIN);
  s.step('formula', MIN, 2 * MIN, { status: 'failed', error: 'login failed with token hunter2-token-xyz' });
  s.emit(2 * MIN, { type: 'run-finished', status: 'failed', durationMs: 2 * MIN });
  s.close();
  registerSecret('hunter2-token-xyz');
  odd = loadReportModel({ id, dir: `${tmp}/runs/${id}`, journalPath: `${tmp}/runs/${id}/journal.jsonl` });
});
afterAll(() => {
  clearSecrets();
  removeDir(tmp);
});

describe('report formats', () => {
  it('accepts the five formats and aliases, and rejects others with exit 2 and a hint', () => {
    expect(REPORT_FORMATS.map(parseReportFormat)).toEqual(['console', 'json', 'md', 'csv', 'html']);
    expect(parseReportFormat('Markdown')).toBe('md');
    expect(() => parseReportFormat('pdf')).toThrow(UsageError);
    try {
      parseReportFormat('pdf');
    } catch (err) {
      expect((err as UsageError).message).toBe('unknown report format "pdf"');
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as UsageError).hint).toContain('console, json, md, csv, html');
    }
  });

  it('CSV: a row per step, ISO times, durations in seconds, RFC 4180 quoting', () => {
    const text = renderReport(ok, 'csv');
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(text);
    expect(rows).toHaveLength(9);
    const header = rows[0]!;
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    const declare = rows[1]!;
    expect(col(declare, 'id')).toBe('declare');
    expect(col(declare, 'start')).toBe('2026-11-21T16:00:00.000Z');
    expect(col(declare, 'end')).toBe('2026-11-21T16:02:00.000Z');
    expect(col(declare, 'duration_s')).toBe('120');
    expect(col(declare, 'estimate_s')).toBe('300');
    expect(col(declare, 'variance_s')).toBe('-180');
    expect(col(declare, 'approved_by')).toBe('pm.lee');
    expect(col(declare, 'critical')).toBe('true');
    expect(col(rows[6]!, 'duration_s')).toBe('30');

    const oddRows = parseCsv(renderReport(odd, 'csv'));
    expect(col(oddRows[1]!, 'title')).toBe('Say "go", then wait\nfor <b>everyone</b> | all');
    expect(col(oddRows[2]!, 'title')).toBe(`'=HYPERLINK("http://evil")`);
    // A URL in one field and user@host in a later one must not be taken for a URL password.
    expect(col(oddRows[2]!, 'start')).toBe('2026-11-21T16:01:00.000Z');
    expect(col(oddRows[2]!, 'ran_by')).toBe('sre.lead@bastion-main');
    expect(csvField('-1')).toBe('-1');
    expect(csvField('-rm')).toBe(`'-rm`);
    expect(csvField(-1.5)).toBe('-1.5');
  });

  it('JSON: the whole model, parseable', () => {
    const parsed = JSON.parse(renderReport(ok, 'json')) as ReportModel;
    expect(parsed.schema).toBe('drctl.report/v1');
    expect(parsed.steps).toHaveLength(8);
    expect(parsed).toEqual(JSON.parse(JSON.stringify(ok)));
  });

  it('Markdown: tables with escaped cells for the wiki', () => {
    const md = renderMarkdown();
    expect(md).toContain('## RTO');
    expect(md).toContain('| technical | **MET** | 20m00s | 30m00s |');
    expect(md).toContain('| compliance | **MISSED** | 1h00m00s | 45m00s |');
    expect(md).toContain(
      '`declare` → `stop-traffic` → `verify-core` → `switch-mysql` → `open-traffic` → `business-verified`',
    );
    const oddMd = renderReport(odd, 'md');
    expect(oddMd).toContain('Say "go", then wait<br>for &lt;b&gt;everyone&lt;/b&gt; \\| all');
    function renderMarkdown(): string {
      return renderReport(ok, 'md');
    }
  });

  it('HTML: self-contained, one bar per started step, critical path and objectives drawn', () => {
    const html = renderReport(ok, 'html');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    const urls = html.match(/https?:\/\/[^\s"'<)]+/g) ?? [];
    expect(urls.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html.match(/<rect class="bar /g)).toHaveLength(8);
    expect(html.match(/<rect class="bar [^"]*critical"/g)).toHaveLength(6);
    expect(html).toContain('class="objective objective-technical"');
    expect(html).toContain('class="objective objective-compliance"');
    expect(html).toContain('@media print');
    const oddHtml = renderReport(odd, 'html');
    expect(oddHtml).not.toContain('<b>everyone</b>');
    expect(oddHtml).toContain('&lt;b&gt;everyone&lt;/b&gt;');
  });

  it('never lets a registered secret into any format', () => {
    expect(odd.steps[1]!.error).toBe('login failed with token ***');
    for (const format of REPORT_FORMATS) {
      const text = renderReport(odd, format);
      expect(text).not.toContain('hunter2-token-xyz');
    }
  });

  it('console: a big run shows what needs attention, not every step and gate', () => {
    const big = buildReportModel({
      runId: 'big',
      events: generatedEvents('big', { steps: 300 }),
      integrity: { verified: true, events: 0, breakAt: undefined, tornTail: false, corruptLines: [] },
    });
    const text = renderReport(big, 'console');
    const gates = big.gates.length;
    expect(gates).toBeGreaterThan(10);
    expect(text).toContain(
      `RPO evidence (${gates} gates)\n  all ${gates} consistent (every gate in --format html|md|json)\n`,
    );
    expect(text).toContain('Steps: 300 (use --format html|md|csv|json for every step)');
    expect(text).toContain('not succeeded or overridden (0): none');
    expect(text).not.toContain('approved by');
    expect(text.split('\n').length).toBeLessThan(120);
  });

  it('console: the summary names the clocks, the critical path and the idle time', () => {
    const text = renderReport(ok, 'console');
    expect(text).toContain('technical  MET         20m00s against 30m00s: met with 10m00s to spare');
    expect(text).toContain('compliance MISSED      1h00m00s against 45m00s: missed by 15m00s');
    expect(text).toContain(
      'declare → stop-traffic → verify-core → switch-mysql → open-traffic → business-verified',
    );
    expect(text).toContain('Idle gaps (4, 44m25s in all)');
    expect(text).toContain('hash chain verified (24 events)');
  });
});
