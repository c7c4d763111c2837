import { showAmounts } from './rpo-summary.js';
import type { GroupTotal, ReportModel } from './model.js';
import {
  groupCells,
  describeBounds,
  describeIntegrity,
  rtoLabel,
  showClock,
  shownStepStatus,
  showCounts,
  showDuration,
  showEvidence,
  showTime,
} from './format-values.js';

/** Escapes text for a Markdown table cell. */
export function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, '<br>');
}

export function markdownTable(header: string[], rows: string[][], align: ('l' | 'r')[] = []): string {
  const sep = header.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [header, sep, ...rows.map((r) => r.map(escapeCell))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function groupTable(groups: GroupTotal[], label: string): string {
  return markdownTable(
    [label, 'Steps', 'Failed', 'Not run', 'Start', 'End', 'Span', 'Active', 'Sum', 'Estimate'],
    groups.map(groupCells),
    ['l', 'r', 'r', 'r', 'l', 'l', 'r', 'r', 'r', 'r'],
  );
}

/** The report as Markdown for the post-mortem wiki. */
export function renderMarkdown(m: ReportModel): string {
  const r = m.run;
  const marks = [r.drill ? 'DRILL' : '', r.unplanned ? 'UNPLANNED' : '', r.dryRun ? 'DRY RUN' : '']
    .filter(Boolean)
    .join(', ');
  const out: string[] = [];
  out.push(`# ${escapeCell(r.runbook.name)} — ${r.direction} run ${r.id}${marks ? ` (${marks})` : ''}`);
  out.push('');
  out.push(
    markdownTable(
      ['', ''],
      [
        ['Status', `**${r.status}**${r.error ? `: ${r.error}` : ''}`],
        ['Started', `${showTime(r.startedAt)} by ${r.startedBy}`],
        ['Ended', showTime(r.endedAt) + (r.status === 'in-progress' ? ' (last event so far)' : '')],
        ['Duration', showDuration(r.durationMs)],
        ['Runbook', `${r.runbook.file} (sha256 ${r.runbook.sha256.slice(0, 12)})`],
        ...r.resumes.map((x) => ['Resumed', `${showTime(x.at)} by ${x.by}`]),
        ...(r.rollback
          ? [
              [
                'Rollback',
                `${showTime(r.rollback.startedAt)}: ${r.rollback.reason} (${r.rollback.status ?? 'not finished'})`,
              ],
            ]
          : []),
        [
          'Integrity',
          m.integrity.verified ? describeIntegrity(m.integrity) : `**${describeIntegrity(m.integrity)}**`,
        ],
      ],
    ),
  );
  out.push('');
  out.push('## RTO');
  out.push('');
  out.push(
    markdownTable(
      ['Clock', 'Result', 'Measured', 'Objective', 'Bounds', 'Verdict'],
      [m.rto.technical, m.rto.compliance].map((c) => [
        c.name,
        `**${rtoLabel(c)}**`,
        showDuration(c.elapsedMs),
        showDuration(c.objectiveMs),
        describeBounds(c),
        c.verdict,
      ]),
    ),
  );
  out.push('');
  out.push('## Phases');
  out.push('');
  out.push(groupTable(m.phases, 'Phase'));
  out.push('');
  out.push('## Roles');
  out.push('');
  out.push(groupTable(m.roles, 'Role'));
  out.push('');
  const cp = m.criticalPath;
  out.push('## Critical path');
  out.push('');
  out.push(
    `${cp.steps.length} steps, ending at +${showDuration(cp.endOffsetMs)} (work ${showDuration(cp.workMs)}, waiting ${showDuration(cp.waitMs)}):`,
  );
  out.push('');
  out.push(cp.steps.map((s) => `\`${s}\``).join(' → ') || '—');
  out.push('');
  out.push('## Idle gaps');
  out.push('');
  out.push(
    m.idleGaps.length === 0
      ? 'None.'
      : markdownTable(
          ['Start', 'Duration', 'Kind', 'Why'],
          m.idleGaps.map((g) => [showClock(g.startedAt), showDuration(g.durationMs), g.kind, g.reason]),
          ['l', 'r'],
        ),
  );
  out.push('');
  out.push('## RPO evidence');
  out.push('');
  out.push(
    `**${escapeCell(m.rpo.status === 'proven' ? m.rpo.line : m.rpo.line.replace(/^RPO not proven/, 'RPO NOT PROVEN'))}**`,
  );
  out.push('');
  for (const b of m.rpo.blacklists) {
    out.push(
      `Blacklist ${escapeCell(b.target)} (${escapeCell(b.resource)}): ${b.size} account${b.size === 1 ? '' : 's'}`,
    );
    out.push('');
    out.push(
      markdownTable(
        ['Account', 'Transactions in transit', 'Amount'],
        b.accounts.map((a) => [a.account, String(a.transactions), showAmounts(a.amounts)]),
        ['l', 'r', 'r'],
      ),
    );
    out.push('');
  }
  if (m.gates.length === 0) out.push('No gates ran.');
  for (const g of m.gates) {
    out.push(`### ${escapeCell(g.step)} — ${g.checker}: ${g.status.toUpperCase()}`);
    out.push('');
    out.push(
      `- Recorded: ${showTime(g.at)} (check ${showTime(g.startedAt)} → ${showTime(g.finishedAt)}, ${showDuration(g.durationMs)})`,
    );
    out.push(`- Summary: ${escapeCell(g.summary)}`);
    if (Object.keys(g.counts).length > 0) out.push(`- Counts: ${showCounts(g.counts)}`);
    for (const k of g.keyEvidence) out.push(`- ${escapeCell(k.key)}: \`${k.value.replace(/`/g, "'")}\``);
    if (Object.keys(g.evidence).length > 0)
      out.push(`- All evidence: ${escapeCell(showEvidence(g.evidence, 2000))}`);
    if (g.findings.length > 0) {
      out.push(
        `- Findings (${g.findings.length}${g.findingsOmitted ? ` shown, ${g.findingsOmitted} more` : ''}):`,
      );
      for (const f of g.findings.slice(0, 20))
        out.push(`  - ${f.kind} ${escapeCell(f.object)}: ${escapeCell(f.message)}`);
    }
    out.push('');
  }
  out.push('## Steps');
  out.push('');
  out.push(
    markdownTable(
      [
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
        'Attempts',
        'Run by',
        'Approved by',
        'Notes',
      ],
      m.steps.map((s) => [
        s.critical ? `**${s.id}** ★` : s.id,
        s.title,
        s.owner,
        s.phase ?? '',
        shownStepStatus(s),
        showClock(s.startedAt),
        showClock(s.finishedAt),
        showDuration(s.durationMs),
        showDuration(s.workMs),
        showDuration(s.estimateMs),
        String(s.attempts),
        s.ranBy ?? '',
        s.approvedBy ?? '',
        s.notes.join('; '),
      ]),
      ['l', 'l', 'l', 'l', 'l', 'l', 'l', 'r', 'r', 'r', 'r'],
    ),
  );
  out.push('');
  out.push('★ on the critical path of the actual run. Times in UTC.');
  if (m.warnings.length > 0) {
    out.push('');
    out.push('## Warnings');
    out.push('');
    for (const w of m.warnings) out.push(`- ${escapeCell(w)}`);
  }
  return out.join('\n') + '\n';
}
