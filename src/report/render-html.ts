import {
  describeBounds,
  describeIntegrity,
  rtoLabel,
  showClock,
  shownStepStatus,
  showCounts,
  showDelta,
  showDuration,
  showTime,
} from './format-values.js';
import { showAmounts } from './rpo-summary.js';
import { assignRoleColours, renderGanttSvg } from './gantt-svg.js';
import { escapeHtml as h } from './html-escape.js';
import type { GroupTotal, ReportModel, RtoClock } from './model.js';

export const REPORT_CSS = `
:root { --ok: #1a7f37; --bad: #b42318; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; margin: 24px; max-width: 1160px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.banner { padding: 8px 12px; border-radius: 6px; margin: 12px 0; font-weight: 600; }
.banner.ok { background: #dafbe1; color: var(--ok); border: 1px solid #aceebb; }
.banner.bad { background: #ffebe9; color: var(--bad); border: 1px solid #ffcecb; }
.not-pass { color: var(--bad); font-weight: 600; font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.badge.met, .badge.succeeded, .badge.consistent { background: #dafbe1; color: var(--ok); }
.badge.missed, .badge.failed, .badge.different, .badge.error, .badge.unknown { background: #ffebe9; color: var(--bad); }
.badge.not-reached, .badge.not-started, .badge.unverified, .badge.in-progress, .badge.aborted, .badge.interrupted { background: #fff8c5; color: var(--warn); }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 260px; flex: 1; }
.card .big { font-size: 22px; font-weight: 700; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.critical td:first-child { font-weight: 700; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px; vertical-align: -2px; }
.timeline { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
svg.gantt { display: block; max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg.gantt .zebra { fill: #f6f8fa; }
svg.gantt .tick { stroke: #d8dee4; stroke-width: 1; }
svg.gantt .tick-label { fill: var(--muted); font-size: 10px; }
svg.gantt .label { fill: #1f2328; } svg.gantt .label.critical { font-weight: 700; } svg.gantt .label.not-started { fill: #8c959f; }
svg.gantt .bar { rx: 2px; }
svg.gantt .bar.critical { stroke: #000; stroke-width: 2; }
svg.gantt .bar.status-failed, svg.gantt .bar.status-unknown { stroke: var(--bad); stroke-width: 2; stroke-dasharray: 4 2; }
svg.gantt .bar.status-running, svg.gantt .bar.status-awaiting-approval { opacity: .55; }
svg.gantt .idle { fill: #ffd8b5; opacity: .45; }
svg.gantt .bar-note { font-size: 10px; fill: var(--muted); } svg.gantt .bar-note.status-failed, svg.gantt .bar-note.status-unknown { fill: var(--bad); font-weight: 600; }
svg.gantt .idle-process-down { fill: #ffcecb; }
svg.gantt .objective { stroke-width: 2; stroke-dasharray: 6 3; }
svg.gantt .objective-technical { stroke: #cf222e; fill: #cf222e; } svg.gantt .objective-compliance { stroke: #8250df; fill: #8250df; }
svg.gantt text.objective-label { stroke: none; font-weight: 600; }
.notes { color: var(--muted); }
.nowrap { white-space: nowrap; }
table.steps { font-size: 12px; }
table.steps tr.has-notes td { border-bottom: none; }
table.steps tr.note-row td { color: var(--muted); padding-top: 0; font-size: 11px; }
table.steps tr.note-row, table.steps tr.has-notes { break-inside: avoid; }
pre.evidence { white-space: pre-wrap; max-height: 16em; overflow: auto; margin: 0; background: #f6f8fa; padding: 4px 6px; border-radius: 4px; }
@media print { pre.evidence { max-height: none; overflow: visible; } }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
footer { margin-top: 32px; color: var(--muted); font-size: 11px; }
@media print {
  body { margin: 0; max-width: none; font-size: 10px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .timeline { overflow: visible; border: none; }
  svg.gantt { width: 100%; height: auto; }
  h2 { break-after: avoid; } tr, .card, .gate { break-inside: avoid; }
  thead { display: table-header-group; }
  @page { size: A4 landscape; margin: 12mm; }
}
`;

function badge(text: string, cls: string): string {
  return `<span class="badge ${h(cls)}">${h(text)}</span>`;
}

function table(
  header: string[],
  rows: string[][],
  numeric: number[] = [],
  rowClass: (i: number) => string = () => '',
): string {
  const th = header.map((x, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${h(x)}</th>`).join('');
  const body = rows
    .map((r, ri) => {
      const cls = rowClass(ri);
      return `<tr${cls ? ` class="${cls}"` : ''}>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STEP_HEADER = [
  'Step',
  'Title',
  'Owner',
  'Phase',
  'Status',
  'Start',
  'End',
  'Duration',
  'Work',
  'Estimate',
  'Δ',
  'Tries',
  'People',
];
const STEP_NUMERIC = new Set([7, 8, 9, 10, 11]);

/** One row per step; its notes (overrides, approvals, errors) on a full-width row under it. */
function renderStepTable(m: ReportModel): string {
  const th = STEP_HEADER.map((x, i) => `<th${STEP_NUMERIC.has(i) ? ' class="num"' : ''}>${h(x)}</th>`).join(
    '',
  );
  const rows: string[] = [];
  for (const s of m.steps) {
    const people = [s.ranBy ? `ran: ${h(s.ranBy)}` : '', s.approvedBy ? `approved: ${h(s.approvedBy)}` : '']
      .filter(Boolean)
      .join('<br>');
    const cells = [
      h(s.id) + (s.critical ? ' ★' : ''),
      h(s.title),
      h(s.owner),
      h(s.phase ?? ''),
      badge(shownStepStatus(s), s.gateNotPassed ? 'unverified' : s.status),
      showClock(s.startedAt),
      showClock(s.finishedAt),
      showDuration(s.durationMs),
      showDuration(s.workMs),
      showDuration(s.estimateMs),
      showDelta(s.varianceMs),
      String(s.attempts),
      people,
    ];
    const cls = [s.critical ? 'critical' : '', s.notes.length > 0 ? 'has-notes' : '']
      .filter(Boolean)
      .join(' ');
    rows.push(
      `<tr${cls ? ` class="${cls}"` : ''}>${cells.map((c, i) => `<td${STEP_NUMERIC.has(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`,
    );
    if (s.notes.length > 0) {
      rows.push(
        `<tr class="note-row"><td></td><td colspan="${STEP_HEADER.length - 1}">${s.notes.map(h).join(' · ')}</td></tr>`,
      );
    }
  }
  return `<table class="steps"><thead><tr>${th}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function groupTable(groups: GroupTotal[], label: string, colours?: Map<string, string>): string {
  return table(
    [label, 'Steps', 'Failed', 'Not run', 'Start', 'End', 'Span', 'Active', 'Sum', 'Estimate'],
    groups.map((g) => [
      (colours
        ? `<i style="display:inline-block;width:10px;height:10px;background:${colours.get(g.name) ?? '#777'};margin-right:5px"></i>`
        : '') + h(g.name),
      String(g.steps),
      String(g.failed),
      String(g.notRun),
      showClock(g.startedAt),
      showClock(g.endedAt),
      showDuration(g.spanMs),
      showDuration(g.activeMs),
      showDuration(g.sumMs),
      showDuration(g.estimateMs),
    ]),
    [1, 2, 3, 6, 7, 8, 9],
  );
}

function rtoCard(c: RtoClock): string {
  return `<div class="card rto rto-${c.name}"><div>${h(c.name)} RTO ${badge(rtoLabel(c), c.status)}</div>
<div class="big">${showDuration(c.elapsedMs)}${c.objectiveMs !== undefined ? ` <small>/ ${showDuration(c.objectiveMs)}</small>` : ''}</div>
<div>${h(c.verdict)}</div><div class="notes">${h(describeBounds(c))}</div></div>`;
}

/** The report as one self-contained HTML file: inline CSS and SVG, no script, no fetches. */
export function renderHtml(m: ReportModel): string {
  const r = m.run;
  const colours = assignRoleColours(m);
  const marks = [r.drill ? 'DRILL' : '', r.unplanned ? 'UNPLANNED' : '', r.dryRun ? 'DRY RUN' : '']
    .filter(Boolean)
    .join(' · ');
  const title = `${r.runbook.name} ${r.direction} — run ${r.id}`;
  const out: string[] = [];
  out.push(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${h(title)}</title><style>${REPORT_CSS}</style></head><body>`);
  out.push(`<h1>${h(title)}${marks ? ` ${badge(marks, 'not-reached')}` : ''}</h1>`);
  out.push(
    `<p class="sub">Status ${badge(r.status, r.status)}${r.error ? ` ${h(r.error)}` : ''} · started ${h(showTime(r.startedAt))} by ${h(r.startedBy)} · ${r.status === 'in-progress' ? 'last event' : 'ended'} ${h(showTime(r.endedAt))} · duration ${showDuration(r.durationMs)} · runbook ${h(r.runbook.file)} <span class="nowrap">(sha256 <span class="mono">${h(r.runbook.sha256.slice(0, 12))}</span>)</span></p>`,
  );
  for (const res of r.resumes) out.push(`<p class="sub">Resumed ${h(showTime(res.at))} by ${h(res.by)}</p>`);
  if (r.rollback) {
    out.push(
      `<p class="sub">Rollback ${h(showTime(r.rollback.startedAt))}: ${h(r.rollback.reason)} (${h(r.rollback.status ?? 'not finished')}) — ${h(r.rollback.steps.join(', '))}</p>`,
    );
  }
  out.push(
    `<div class="banner ${m.integrity.verified ? 'ok' : 'bad'} integrity">Journal integrity: ${h(describeIntegrity(m.integrity))}</div>`,
  );
  out.push('<h2>RTO</h2>');
  out.push(`<div class="cards">${rtoCard(m.rto.technical)}${rtoCard(m.rto.compliance)}</div>`);

  out.push('<h2>Timeline</h2>');
  out.push(
    `<p class="legend">${[...colours].map(([role, c]) => `<span><i style="background:${c}"></i>${h(role)}</span>`).join('')}<span><i style="background:#fff;border:2px solid #000"></i>critical path</span><span><i style="background:#ffd8b5"></i>idle</span><span><i style="background:#cf222e"></i>technical objective</span><span><i style="background:#8250df"></i>compliance objective</span></p>`,
  );
  out.push(`<div class="timeline">${renderGanttSvg(m, colours)}</div>`);

  const cp = m.criticalPath;
  out.push('<h2>Critical path</h2>');
  out.push(
    `<p>${cp.steps.length} steps ending at +${showDuration(cp.endOffsetMs)} — work ${showDuration(cp.workMs)}, waiting ${showDuration(cp.waitMs)}:</p><p class="mono">${cp.steps.map(h).join(' → ') || '—'}</p>`,
  );
  out.push('<h2>Phases</h2>');
  out.push(groupTable(m.phases, 'Phase'));
  out.push('<h2>Roles</h2>');
  out.push(groupTable(m.roles, 'Role', colours));

  const idleTotal = m.idleGaps.reduce((s, g) => s + g.durationMs, 0);
  out.push(`<h2>Idle gaps (${m.idleGaps.length}, ${showDuration(idleTotal)})</h2>`);
  out.push(
    m.idleGaps.length === 0
      ? '<p>None.</p>'
      : table(
          ['Start', 'Duration', 'Kind', 'Why'],
          m.idleGaps.map((g) => [showClock(g.startedAt), showDuration(g.durationMs), h(g.kind), h(g.reason)]),
          [1],
        ),
  );

  out.push(`<h2>RPO evidence (${m.gates.length} gate${m.gates.length === 1 ? '' : 's'})</h2>`);
  out.push(
    `<div class="banner ${m.rpo.status === 'proven' ? 'ok' : 'bad'} rpo">${h(m.rpo.status === 'proven' ? m.rpo.line : m.rpo.line.replace(/^RPO not proven/, 'RPO NOT PROVEN'))}</div>`,
  );
  for (const b of m.rpo.blacklists) {
    out.push(
      `<div class="blacklist"><h3>Blacklist <span class="mono">${h(b.target)}</span> (${h(b.resource)}): ${b.size} account${b.size === 1 ? '' : 's'}</h3>`,
    );
    out.push(
      table(
        ['Account', 'Transactions in transit', 'Amount'],
        b.accounts.map((a) => [
          `<span class="mono">${h(a.account)}</span>`,
          String(a.transactions),
          h(showAmounts(a.amounts)),
        ]),
        [1, 2],
      ),
    );
    out.push('</div>');
  }
  if (m.gates.length === 0) out.push('<p>No gates ran.</p>');
  for (const g of m.gates) {
    out.push(
      `<div class="gate ${h(g.status)}"><h3>${h(g.step)} — ${h(g.checker)} ${badge(g.status.toUpperCase(), g.status)}${g.ok ? '' : ' <span class="not-pass">not a pass</span>'}</h3>`,
    );
    const rows: string[][] = [
      ['Recorded', h(showTime(g.at))],
      [
        'Check ran',
        `${h(showTime(g.startedAt))} → ${h(showTime(g.finishedAt))} (${showDuration(g.durationMs)})`,
      ],
      ['Summary', h(g.summary)],
    ];
    if (Object.keys(g.counts).length > 0) rows.push(['Counts', h(showCounts(g.counts))]);
    for (const k of g.keyEvidence) rows.push([h(k.key), `<span class="mono">${h(k.value)}</span>`]);
    if (Object.keys(g.evidence).length > 0) {
      const all = JSON.stringify(g.evidence, null, 1);
      rows.push([
        'All evidence',
        `<pre class="mono evidence">${h(all.length > 20_000 ? `${all.slice(0, 20_000)}…` : all)}</pre>`,
      ]);
    }
    if (g.findings.length > 0) {
      const list = g.findings
        .slice(0, 20)
        .map((f) => `${h(f.kind)} <span class="mono">${h(f.object)}</span>: ${h(f.message)}`)
        .join('<br>');
      rows.push([`Findings (${g.findings.length + g.findingsOmitted})`, list]);
    }
    out.push(table(['', ''], rows));
    out.push('</div>');
  }

  out.push(`<h2>Steps (${m.steps.length})</h2>`);
  out.push(renderStepTable(m));
  if (m.warnings.length > 0) {
    out.push('<h2>Warnings</h2><ul>');
    for (const w of m.warnings) out.push(`<li>${h(w)}</li>`);
    out.push('</ul>');
  }
  out.push(
    `<footer>★ on the critical path of the actual run · times in UTC · recorded by drctl ${h(r.version)}; built from the run's journal (${m.integrity.events} events)</footer>`,
  );
  out.push('</body></html>');
  return out.join('\n') + '\n';
}
