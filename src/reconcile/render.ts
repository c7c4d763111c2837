import { csvRow } from '../report/render-csv.js';
import { renderTextTable } from '../report/text-table.js';
import type { BlacklistChange } from './blacklist.js';
import { formatAmounts, type ReconcileReport } from './run.js';
import type { InTransitEntry } from './scan.js';

const n = (x: number) => x.toLocaleString('en-US');
const plural = (x: number, one: string, many = `${one}s`) => `${n(x)} ${x === 1 ? one : many}`;

/** What an entry in transit lacks: `missing on the ledger`, `amount 100.00 ≠ 90.00`. */
export function describeEntry(e: InTransitEntry): string {
  if (e.state === 'missing') return 'missing on the ledger';
  return e.differences.map((d) => `${d.column} ${d.log ?? 'NULL'} ≠ ${d.ledger ?? 'NULL'}`).join(', ');
}

/** One line per blacklist change, as printed and journaled. */
export function describeChange(target: string, c: BlacklistChange, dryRun: boolean): string {
  const verb = { add: 'add', remove: 'remove', update: 'update' }[c.op];
  const head = `${dryRun ? '[dry run] would ' : ''}${verb} ${c.account} ${c.op === 'remove' ? 'from' : c.op === 'add' ? 'to' : 'on'} blacklist ${target}`;
  if (!c.reason) return `${head}: all its entries are reconciled`;
  const more =
    c.reason.transactions > c.reason.ids.length
      ? ` +${c.reason.transactions - c.reason.ids.length} more`
      : '';
  return `${head}: ${plural(c.reason.transactions, 'transaction')}, ${c.reason.amount} (${c.reason.ids.join(', ')}${more})`;
}

/** The result for a person: totals, per-account detail, blacklist changes. */
export function reconcileLines(r: ReconcileReport, show: number): string[] {
  const t = r.totals;
  const lines = [`remote log ${r.log}`, `ledger     ${r.ledger}`, `window     ${r.window}`, ''];
  if (r.status === 'reconciled') {
    lines.push(`RECONCILED: all ${plural(t.scanned, 'entry', 'entries')} of the window are on the ledger`);
  } else {
    lines.push(
      `IN TRANSIT: ${plural(t.accounts, 'account')}, ${plural(t.transactions, 'transaction')}, amount ${formatAmounts(t.amounts)} ` +
        `(${n(t.missing)} missing, ${n(t.different)} different; ${n(t.reconciled)} of ${n(t.scanned)} entries reconciled)`,
    );
    if (t.unparsedAmounts > 0)
      lines.push(
        `  ${plural(t.unparsedAmounts, 'entry', 'entries')} with an amount that is not a number (not summed)`,
      );
    const rows: string[][] = [];
    for (const a of r.accounts.slice(0, show)) {
      const first = a.entries[0];
      rows.push([
        a.account,
        n(a.transactions),
        formatAmounts(a.amounts),
        first ? `${first.key}: ${describeEntry(first)}` : '',
      ]);
      for (const e of a.entries.slice(1, 5)) rows.push(['', '', '', `${e.key}: ${describeEntry(e)}`]);
      if (a.transactions > 5)
        rows.push(['', '', '', `… ${plural(a.transactions - 5, 'more entry', 'more entries')}`]);
    }
    lines.push(
      '',
      ...renderTextTable(['account', 'transactions', 'amount', 'entries'], rows, [1]).split('\n'),
    );
    if (r.accounts.length > show)
      lines.push(`… ${plural(r.accounts.length - show, 'more account')} (--show, --json or --csv for all)`);
  }
  for (const b of r.blacklists) {
    lines.push('');
    const adds = b.changes.filter((c) => c.op === 'add').length;
    const removes = b.changes.filter((c) => c.op === 'remove').length;
    const updates = b.changes.length - adds - removes;
    lines.push(
      `blacklist ${b.target}: ${r.dryRun ? 'would add' : 'added'} ${adds}, ${r.dryRun ? 'remove' : 'removed'} ${removes}, ${r.dryRun ? 'update' : 'updated'} ${updates}; ${plural(b.size, 'account')} blacklisted${r.dryRun ? ' after the change' : ''}`,
    );
    for (const c of b.changes) lines.push(`  ${describeChange(b.target, c, r.dryRun)}`);
    for (const a of b.foreign) lines.push(`  ${a}: already blacklisted by someone else (left as is)`);
  }
  return lines;
}

export const CSV_HEADER = ['account', 'transaction_id', 'state', 'currency', 'amount', 'differences'];

/** One CSV row per entry in transit (streamed while scanning). */
export function entryCsvRow(e: InTransitEntry): string {
  return csvRow([
    e.account,
    e.key,
    e.state,
    e.currency,
    e.amount ?? '',
    e.state === 'missing' ? '' : describeEntry(e),
  ]);
}
