import { csvRow } from './render-csv.js';
import { showDelta, showDuration, showTime } from './format-values.js';
import { escapeHtml as h } from './html-escape.js';
import { REPORT_CSS } from './render-html.js';
import { markdownTable } from './render-markdown.js';
import type { CompareModel, GroupDelta, StepDelta } from './model.js';
import { renderTextTable } from './text-table.js';
import type { ReportFormat } from './render-report.js';

function groupRows(c: CompareModel): { section: string; g: GroupDelta }[] {
  return [
    { section: 'run', g: c.total },
    { section: 'rto', g: c.rto.technical },
    { section: 'rto', g: c.rto.compliance },
    ...c.phases.map((g) => ({ section: 'phase', g })),
    ...c.roles.map((g) => ({ section: 'role', g })),
  ];
}

function stepCells(s: StepDelta): string[] {
  return [
    s.id,
    s.phase ?? '',
    s.a?.status ?? 'absent',
    showDuration(s.a?.durationMs),
    s.b?.status ?? 'absent',
    showDuration(s.b?.durationMs),
    showDelta(s.deltaMs),
  ];
}

const STEP_HEADER = ['step', 'phase', 'A status', 'A', 'B status', 'B', 'Δ (B−A)'];
const MODE_HEADER = ['step', 'A', 'B'];
const MODE_TITLE = 'Steps that differ by mode (skipped, replaced or in one run only)';
const GROUP_HEADER = ['', 'name', 'A', 'B', 'Δ (B−A)'];

function headline(c: CompareModel): string[] {
  const side = (label: string, s: CompareModel['a']): string =>
    `${label}: ${s.id} — ${s.runbook}, ${showTime(s.startedAt)}, ${s.mode}, ${s.status}${s.verified ? '' : ', hash chain NOT VERIFIED'}; ${rpoText(s)}`;
  return [side('A', c.a), side('B', c.b)];
}

/** `RPO = 0 proven by 3 gates` or `RPO NOT PROVEN: …`: a run that did not prove it must not read like one that did. */
function rpoText(s: CompareModel['a']): string {
  return s.rpo.status === 'proven' ? s.rpo.line : s.rpo.line.replace(/^RPO not proven/, 'RPO NOT PROVEN');
}

/** Renders a comparison in any report format. */
export function renderCompare(c: CompareModel, format: ReportFormat): string {
  const cell = (ms: number | undefined, status: string | undefined): string =>
    status === undefined ? showDuration(ms) : `${showDuration(ms)} ${status}`;
  const groups = groupRows(c).map(({ section, g }) => [
    section,
    g.name,
    cell(g.a, g.aStatus),
    cell(g.b, g.bStatus),
    showDelta(g.deltaMs),
  ]);
  const warnings = c.warnings.map((w) => `WARNING: ${w}`);
  const steps = c.steps.map(stepCells);
  const modes = c.modeSteps.map((s) => [s.id, s.a, s.b]);
  const rpoRows = [
    ['A', c.a.mode, rpoText(c.a)],
    ['B', c.b.mode, rpoText(c.b)],
  ];
  switch (format) {
    case 'json':
      return JSON.stringify(c, null, 2) + '\n';
    case 'csv': {
      const sec = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms) / 1000);
      const rows = [
        csvRow([
          'section',
          'name',
          'phase',
          'a_status',
          'a_duration_s',
          'b_status',
          'b_duration_s',
          'delta_s',
        ]),
      ];
      for (const { section, g } of groupRows(c))
        rows.push(csvRow([section, g.name, '', g.aStatus, sec(g.a), g.bStatus, sec(g.b), sec(g.deltaMs)]));
      for (const [side, s] of [
        ['a', c.a],
        ['b', c.b],
      ] as const)
        rows.push(csvRow(['rpo', side, s.mode, s.rpo.status, undefined, s.rpo.line, undefined, undefined]));
      for (const s of c.modeSteps)
        rows.push(csvRow(['mode', s.id, '', s.a, undefined, s.b, undefined, undefined]));
      for (const s of c.steps) {
        rows.push(
          csvRow([
            'step',
            s.id,
            s.phase,
            s.a?.status ?? 'absent',
            sec(s.a?.durationMs),
            s.b?.status ?? 'absent',
            sec(s.b?.durationMs),
            sec(s.deltaMs),
          ]),
        );
      }
      return rows.join('\r\n') + '\r\n';
    }
    case 'md':
      return [
        `# Run comparison`,
        '',
        ...headline(c).map((l) => `- ${l}`),
        '',
        ...warnings.flatMap((w) => [`> **${w}**`, '']),
        '## Mode and RPO',
        '',
        markdownTable(['run', 'mode', 'RPO'], rpoRows, ['l', 'l', 'l']),
        '',
        ...(modes.length
          ? [`## ${MODE_TITLE}`, '', markdownTable(MODE_HEADER, modes, ['l', 'l', 'l']), '']
          : []),
        '## Totals, RTO clocks, phases and roles (spans)',
        '',
        markdownTable(GROUP_HEADER, groups, ['l', 'l', 'r', 'r', 'r']),
        '',
        '## Steps',
        '',
        markdownTable(STEP_HEADER, steps, ['l', 'l', 'l', 'r', 'l', 'r', 'r']),
        '',
      ].join('\n');
    case 'html': {
      const tbl = (header: string[], rows: string[][]) =>
        `<table><thead><tr>${header.map((x) => `<th>${h(x)}</th>`).join('')}</tr></thead><tbody>${rows
          .map((r) => `<tr>${r.map((x) => `<td>${h(x)}</td>`).join('')}</tr>`)
          .join('\n')}</tbody></table>`;
      return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"><title>Run comparison</title><style>${REPORT_CSS}</style></head><body>
<h1>Run comparison</h1>${headline(c)
        .map((l) => `<p class="sub">${h(l)}</p>`)
        .join('')}${warnings.map((w) => `<p class="warn"><strong>${h(w)}</strong></p>`).join('')}
<h2>Mode and RPO</h2>${tbl(['run', 'mode', 'RPO'], rpoRows)}
${modes.length ? `<h2>${h(MODE_TITLE)}</h2>${tbl(MODE_HEADER, modes)}` : ''}
<h2>Totals, RTO clocks, phases and roles (spans)</h2>${tbl(GROUP_HEADER, groups)}
<h2>Steps</h2>${tbl(STEP_HEADER, steps)}
</body></html>\n`;
    }
    case 'console':
      return [
        ...headline(c),
        ...warnings,
        '',
        ...(modes.length ? [MODE_TITLE, renderTextTable(MODE_HEADER, modes, []), ''] : []),
        renderTextTable(GROUP_HEADER, groups, [2, 3, 4]),
        '',
        renderTextTable(STEP_HEADER, steps, [3, 5, 6]),
        '',
      ].join('\n');
  }
}
