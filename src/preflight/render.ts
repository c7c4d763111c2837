import { escapeHtml } from '../report/html-escape.js';
import { redact, redactValue } from '../util/redact.js';
import { formatDuration } from '../util/duration.js';
import type { PreflightReport, ProbeLine, ProbeStatus } from './types.js';

const MARK: Record<ProbeStatus, string> = { ok: 'ok', warning: 'WARN', fail: 'FAIL' };

function byGroup(lines: ProbeLine[]): Map<string, ProbeLine[]> {
  const m = new Map<string, ProbeLine[]>();
  for (const l of lines) m.set(l.group, [...(m.get(l.group) ?? []), l]);
  return m;
}

export function verdictOf(r: PreflightReport): string {
  const { ok, warning, fail } = r.counts;
  const state = fail > 0 ? 'NOT READY' : warning > 0 && r.strict ? 'NOT READY (--strict)' : 'READY';
  return `${state}: ${fail} fail, ${warning} warning${warning === 1 ? '' : 's'}, ${ok} ok in ${formatDuration(r.durationMs)}`;
}

/**
 * The table a PIC reads: one block per resource (or step group), one line per probe with its
 * verdict, and under each warning or fail the one thing to do. `quietOk` leaves out the ok lines
 * of groups that are all ok (switch prints those as one line each).
 */
export function renderConsole(r: PreflightReport, opts: { quietOk?: boolean } = {}): string[] {
  const out: string[] = [];
  out.push(`preflight ${r.runbook} (${r.directions.join(' + ')}) environment ${r.environment}`);
  const itemWidth = Math.min(40, Math.max(8, ...r.lines.map((l) => l.item.length)));
  for (const [group, lines] of byGroup(r.lines)) {
    const worst: ProbeStatus = lines.some((l) => l.status === 'fail')
      ? 'fail'
      : lines.some((l) => l.status === 'warning')
        ? 'warning'
        : 'ok';
    const kind = lines[0]?.kind ?? '';
    out.push('');
    out.push(
      `${group}${kind && !group.startsWith('steps') && group !== kind ? ` (${kind})` : ''}  ${MARK[worst]}`,
    );
    if (opts.quietOk && worst === 'ok') continue;
    for (const l of lines) {
      const dir = l.direction ? `[${l.direction}] ` : '';
      out.push(`  ${MARK[l.status].padEnd(4)}  ${l.item.padEnd(itemWidth)}  ${dir}${l.message}`);
      if (l.status !== 'ok' && l.fix) out.push(`  ${''.padEnd(4)}  ${''.padEnd(itemWidth)}  → ${l.fix}`);
    }
  }
  out.push('');
  out.push(verdictOf(r));
  return out.map((l) => redact(l));
}

export function renderJson(r: PreflightReport): string {
  return JSON.stringify(redactValue(r), null, 2) + '\n';
}

const COLOR: Record<ProbeStatus, string> = { ok: '#1a7f37', warning: '#9a6700', fail: '#cf222e' };

/** A self-contained page (inline CSS, no scripts, no external resources): the readiness report. */
export function renderHtml(r: PreflightReport): string {
  const e = (s: string) => escapeHtml(redact(s));
  const groups = [...byGroup(r.lines)]
    .map(([group, lines]) => {
      const rows = lines
        .map(
          (l) =>
            `<tr class="${l.status}"><td class="st">${MARK[l.status]}</td><td>${e(l.item)}</td>${r.directions.length > 1 ? `<td>${e(l.direction ?? '')}</td>` : ''}<td>${e(l.message)}${l.status !== 'ok' && l.fix ? `<div class="fix">→ ${e(l.fix)}</div>` : ''}</td><td class="ms">${l.durationMs === undefined ? '' : e(formatDuration(l.durationMs))}</td></tr>`,
        )
        .join('\n');
      const worst = lines.some((l) => l.status === 'fail')
        ? 'fail'
        : lines.some((l) => l.status === 'warning')
          ? 'warning'
          : 'ok';
      return `<section><h2><span class="badge ${worst}">${MARK[worst]}</span> ${e(group)} <small>${e(lines[0]?.kind ?? '')}</small></h2>
<table><thead><tr><th></th><th>probe</th>${r.directions.length > 1 ? '<th>direction</th>' : ''}<th>finding / what to do</th><th>time</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
    })
    .join('\n');
  const verdict = verdictOf(r);
  const ready = !verdict.startsWith('NOT');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Preflight ${e(r.runbook)}: ${ready ? 'ready' : 'not ready'}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}small{color:#656d76;font-weight:normal}
.verdict{font-size:1.2rem;font-weight:600;padding:.6rem 1rem;border-radius:6px;color:#fff;background:${ready ? COLOR.ok : COLOR.fail}}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
td.st{font-weight:700;width:3.5rem}tr.ok td.st{color:${COLOR.ok}}tr.warning td.st{color:${COLOR.warning}}tr.fail td.st{color:${COLOR.fail}}
tr.fail{background:#ffebe9}tr.warning{background:#fff8c5}.fix{margin-top:.2rem;font-weight:600}
td.ms{color:#656d76;white-space:nowrap;width:5rem}.badge{display:inline-block;min-width:3rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .3rem}
.badge.ok{background:${COLOR.ok}}.badge.warning{background:${COLOR.warning}}.badge.fail{background:${COLOR.fail}}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{color:#656d76}
@media print{.verdict{color:#000;border:2px solid #000;background:none}}
</style></head><body>
<h1>Plan readiness: ${e(r.runbook)}</h1>
<dl><dt>runbook</dt><dd>${e(r.file)}</dd><dt>environment</dt><dd>${e(r.environment)}</dd><dt>directions</dt><dd>${e(r.directions.join(', '))}</dd><dt>probed at</dt><dd>${e(r.startedAt)} (${e(formatDuration(r.durationMs))}, timeout ${e(formatDuration(r.timeoutMs))} per probe)</dd></dl>
<p class="verdict">${e(verdict)}</p>
${groups}
<p><small>drctl preflight: live, read-only probes. Warnings do not block a switch${r.strict ? ' (this report was made with --strict: they do)' : ''}. Secrets are never shown.</small></p>
</body></html>
`;
}
