import { addDecimal, formatDecimal, parseDecimal, ZERO, type Decimal } from '../reconcile/decimal.js';
import type { GateEvidence, InTransitAccount, RpoSummary } from './model.js';

/** The shape src/steps/unplanned-gate.ts records as a gate's evidence (read defensively). */
interface UnplannedEvidence {
  unplanned?: unknown;
  rpo?: unknown;
  reconcile?: {
    resource?: unknown;
    totals?: { transactions?: unknown; accounts?: unknown; amounts?: unknown };
    accounts?: unknown;
    blacklists?: { target?: unknown; size?: unknown }[];
  }[];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function amountsOf(v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object') return {};
  return Object.fromEntries(Object.entries(v).filter(([, a]) => typeof a === 'string'));
}

/** `EUR 100.00, USD 5.00`; `100.00` without currencies; `0` when nothing. */
export function showAmounts(amounts: Record<string, string>): string {
  const parts = Object.entries(amounts).map(([c, a]) => (c ? `${c} ${a}` : a));
  return parts.length ? parts.join(', ') : '0';
}

/**
 * The RPO verdict from the gates' last results (a gate retried until it passed counts as passed).
 * An unplanned gate never proves RPO: it reports the funds in transit and the blacklist.
 */
export function summarizeRpo(gates: GateEvidence[]): RpoSummary {
  const last = new Map<string, GateEvidence>();
  for (const g of gates) last.set(g.step, g);
  const finals = [...last.values()];
  if (finals.length === 0)
    return { status: 'no-gates', line: 'RPO not proven: no gate ran', inTransit: undefined, blacklists: [] };
  const unplanned = finals.filter((g) => (g.evidence as UnplannedEvidence).unplanned === true);
  const failed = finals.filter((g) => g.status === 'different' || g.status === 'error');
  const blacklists: RpoSummary['blacklists'] = [];
  let inTransit: RpoSummary['inTransit'];
  if (unplanned.length > 0) {
    let transactions = 0;
    let accounts = 0;
    let blacklisted = 0;
    const sums = new Map<string, Decimal>();
    for (const g of unplanned) {
      for (const r of (g.evidence as UnplannedEvidence).reconcile ?? []) {
        transactions += num(r.totals?.transactions);
        const n = num(r.totals?.accounts);
        accounts += n;
        const targets = (r.blacklists ?? []).filter((b) => str(b.target) !== '');
        if (targets.length > 0) blacklisted += n;
        for (const [cur, text] of Object.entries(amountsOf(r.totals?.amounts))) {
          const d = parseDecimal(text);
          if (d) sums.set(cur, addDecimal(sums.get(cur) ?? ZERO, d));
        }
        const listed: InTransitAccount[] = (
          Array.isArray(r.accounts) ? (r.accounts as unknown[]) : []
        ).flatMap((a) => {
          if (a === null || typeof a !== 'object') return [];
          const o = a as Record<string, unknown>;
          return [
            { account: str(o.account), transactions: num(o.transactions), amounts: amountsOf(o.amounts) },
          ];
        });
        for (const b of targets)
          blacklists.push({
            resource: str(r.resource),
            target: str(b.target),
            size: num(b.size),
            accounts: listed,
          });
      }
    }
    const amounts = Object.fromEntries(
      [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([c, d]) => [c, formatDecimal(d)]),
    );
    const reconciled = unplanned.some((g) => ((g.evidence as UnplannedEvidence).reconcile ?? []).length > 0);
    inTransit = reconciled ? { transactions, amounts, accounts, blacklisted } : undefined;
  }
  if (failed.length > 0) {
    return {
      status: 'failed',
      line: `RPO not proven: ${plural(failed.length, 'gate')} found differences (${failed.map((g) => g.step).join(', ')})`,
      inTransit,
      blacklists,
    };
  }
  if (unplanned.length > 0) {
    const line = inTransit
      ? `RPO not proven: ${plural(inTransit.transactions, 'transaction')}, amount ${showAmounts(inTransit.amounts)} in transit, ${plural(inTransit.blacklisted, 'account')} blacklisted`
      : 'RPO not proven: no remote log to reconcile';
    return { status: 'not-proven', line, inTransit, blacklists };
  }
  const open = finals.filter((g) => !g.ok);
  if (open.length > 0) {
    return {
      status: 'not-proven',
      line: `RPO not proven: ${plural(open.length, 'gate')} ${open.map((g) => `${g.step} ${g.status}`).join(', ')}`,
      inTransit,
      blacklists,
    };
  }
  return {
    status: 'proven',
    line: `RPO = 0 proven by ${plural(finals.length, 'gate')}`,
    inTransit,
    blacklists,
  };
}
