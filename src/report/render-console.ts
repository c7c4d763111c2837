import { showAmounts } from './rpo-summary.js';
import type { GroupTotal, ReportModel, StepReport } from './model.js';
import {
  groupCells,
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
import { renderTextTable } from './text-table.js';

/** Steps listed in full up to this many; above it the console shows the notable ones. */
const FULL_LIST_MAX = 60;
/** Gates listed in full up to this many. */
const GATES_LISTED = 10;

function groupRows(groups: GroupTotal[]): string[][] {
  return groups.map(groupCells);
}

const GROUP_HEADER = ['', 'steps', 'failed', 'not run', 'start', 'end', 'span', 'active', 'sum', 'estimate'];

function stepRow(s: StepReport): string[] {
  return [
    (s.critical ? '* ' : '  ') + s.id,
    s.owner,
    shownStepStatus(s),
    showClock(s.startedAt),
    showClock(s.finishedAt),
    showDuration(s.durationMs),
    showDuration(s.workMs),
    showDuration(s.estimateMs),
    String(s.attempts),
    s.ranBy ?? '—',
    s.approvedBy ?? '',
  ];
}

/** The summary printed on the terminal when no --format is given. */
export function renderConsole(m: ReportModel): string {
  const out: string[] = [];
  const r = m.run;
  const marks = [r.drill ? 'DRILL' : '', r.unplanned ? 'UNPLANNED' : '', r.dryRun ? 'DRY RUN' : '']
    .filter(Boolean)
    .join(', ');
  out.push(`Run ${r.id} — ${r.runbook.name} (${r.direction})${marks ? ` [${marks}]` : ''}`);
  out.push(`  status     ${r.status}${r.error ? `: ${r.error}` : ''}`);
  out.push(`  started    ${showTime(r.startedAt)} by ${r.startedBy}`);
  out.push(
    `  ended      ${showTime(r.endedAt)}${r.status === 'in-progress' ? ' (no run-finished yet: the last event, or now while drctl runs)' : ''}`,
  );
  out.push(`  duration   ${showDuration(r.durationMs)}`);
  for (const res of r.resumes) out.push(`  resumed    ${showTime(res.at)} by ${res.by}`);
  if (r.rollback) {
    out.push(
      `  rollback   ${showTime(r.rollback.startedAt)}: ${r.rollback.reason} (${r.rollback.status ?? 'not finished'})`,
    );
  }
  out.push(`  integrity  ${describeIntegrity(m.integrity)}`);
  out.push('');
  out.push('RTO');
  for (const c of [m.rto.technical, m.rto.compliance]) {
    out.push(
      `  ${c.name.padEnd(11)}${rtoLabel(c).padEnd(12)}${c.verdict}${c.fromStep ? `  [${describeBounds(c)}]` : ''}`,
    );
  }
  out.push('');
  out.push('Phases');
  out.push(indent(renderTextTable(GROUP_HEADER, groupRows(m.phases), [1, 2, 3, 6, 7, 8, 9])));
  out.push('');
  out.push('Roles');
  out.push(indent(renderTextTable(GROUP_HEADER, groupRows(m.roles), [1, 2, 3, 6, 7, 8, 9])));
  out.push('');
  const cp = m.criticalPath;
  out.push(
    `Critical path (${cp.steps.length} steps, ends at +${showDuration(cp.endOffsetMs)}; work ${showDuration(cp.workMs)}, waits ${showDuration(cp.waitMs)})`,
  );
  out.push(`  ${cp.steps.join(' → ') || '—'}`);
  out.push('');
  const idleTotal = m.idleGaps.reduce((sum, g) => sum + g.durationMs, 0);
  out.push(`Idle gaps (${m.idleGaps.length}, ${showDuration(idleTotal)} in all)`);
  const topGaps = [...m.idleGaps].sort((a, b) => b.durationMs - a.durationMs).slice(0, 10);
  for (const g of topGaps) {
    out.push(
      `  ${showClock(g.startedAt)}  ${showDuration(g.durationMs).padStart(7)}  ${g.kind.padEnd(17)} ${g.reason}`,
    );
  }
  if (m.idleGaps.length > topGaps.length) out.push(`  … ${m.idleGaps.length - topGaps.length} shorter gaps`);
  out.push('');
  out.push(`RPO evidence (${m.gates.length} gate${m.gates.length === 1 ? '' : 's'})`);
  // A big run has a gate per database: list every gate that did not pass, and passing ones only
  // while the list stays short.
  const failing = m.gates.filter((g) => !g.ok);
  const shown = m.gates.length <= GATES_LISTED ? m.gates : failing.slice(0, GATES_LISTED * 2);
  if (shown.length < m.gates.length) {
    const which =
      failing.length === 0
        ? `all ${m.gates.length} consistent`
        : `${m.gates.length - failing.length} consistent; ${shown.length === failing.length ? `the ${failing.length}` : `the first ${shown.length} of ${failing.length}`} not consistent below`;
    out.push(`  ${which} (every gate in --format html|md|json)`);
  }
  out.push(
    `  ${m.rpo.status === 'proven' ? m.rpo.line : m.rpo.line.replace(/^RPO not proven/, 'RPO NOT PROVEN')}`,
  );
  for (const b of m.rpo.blacklists) {
    out.push(`  blacklist ${b.target} (${b.resource}): ${b.size} account${b.size === 1 ? '' : 's'}`);
    for (const a of b.accounts.slice(0, 20))
      out.push(
        `      ${a.account}  ${a.transactions} transaction${a.transactions === 1 ? '' : 's'}  ${showAmounts(a.amounts)}`,
      );
    if (b.accounts.length > 20) out.push(`      … ${b.accounts.length - 20} more (--format html|md|json)`);
  }
  for (const g of shown) {
    out.push(`  ${showClock(g.at)}  ${g.step}  ${g.checker}  ${g.status.toUpperCase()}  ${g.summary}`);
    if (Object.keys(g.counts).length > 0) out.push(`      counts: ${showCounts(g.counts)}`);
    if (g.keyEvidence.length > 0)
      out.push(`      evidence: ${g.keyEvidence.map((k) => `${k.key}=${k.value}`).join(', ')}`);
    for (const f of g.findings.slice(0, 5)) out.push(`      ${f.kind} ${f.object}: ${f.message}`);
    if (g.findings.length + g.findingsOmitted > 5)
      out.push(`      … ${g.findings.length + g.findingsOmitted - 5} more findings`);
  }
  out.push('');
  const header = [
    'step (* critical)',
    'owner',
    'status',
    'start',
    'end',
    'duration',
    'work',
    'estimate',
    'tries',
    'ran by',
    'approved by',
  ];
  if (m.steps.length <= FULL_LIST_MAX) {
    out.push(`Steps (${m.steps.length})`);
    out.push(indent(renderTextTable(header, m.steps.map(stepRow), [5, 6, 7, 8])));
  } else {
    const notable = m.steps.filter(
      (s) => !['succeeded', 'skipped'].includes(s.status) || s.overrides.length > 0 || s.gateNotPassed,
    );
    const slowest = [...m.steps]
      .filter((s) => s.varianceMs !== undefined && s.varianceMs > 0)
      .sort((a, b) => b.varianceMs! - a.varianceMs!)
      .slice(0, 10);
    out.push(`Steps: ${m.steps.length} (use --format html|md|csv|json for every step)`);
    out.push(`  not succeeded or overridden (${notable.length})${notable.length === 0 ? ': none' : ':'}`);
    if (notable.length > 0)
      out.push(indent(renderTextTable(header, notable.slice(0, 30).map(stepRow), [5, 6, 7, 8]), 4));
    out.push('  most over estimate:');
    out.push(
      indent(
        renderTextTable(
          ['step', 'over by'],
          slowest.map((s) => [s.id, showDelta(s.varianceMs)]),
          [1],
        ),
        4,
      ),
    );
  }
  const big = m.steps.length > FULL_LIST_MAX;
  const noted = m.steps.filter(
    (s) =>
      s.notes.length > 0 &&
      !(s.notes.length === 1 && s.notes[0] === 'drill') &&
      // In a big run, only what someone must look at: overrides, retries, failures.
      (!big ||
        s.overrides.length > 0 ||
        s.attempts > 1 ||
        s.gateNotPassed !== undefined ||
        !['succeeded', 'skipped'].includes(s.status)),
  );
  if (noted.length > 0) {
    out.push('');
    out.push('Notes');
    for (const s of noted.slice(0, 40)) out.push(`  ${s.id}: ${s.notes.join('; ')}`);
    if (noted.length > 40) out.push(`  … ${noted.length - 40} more steps with notes`);
  }
  if (m.warnings.length > 0) {
    out.push('');
    out.push('Warnings');
    for (const w of m.warnings) out.push(`  ${w}`);
  }
  return out.join('\n') + '\n';
}

function indent(text: string, n = 2): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}
