import { applyBlacklist, planBlacklist, type BlacklistPlan, type BlacklistReason } from './blacklist.js';
import { formatDecimal, type Decimal } from './decimal.js';
import { scanRemoteLog, type InTransitEntry, type ScanResult } from './scan.js';
import type { ReconcileSpec } from './spec.js';

/** The outcome of one reconcile, as --json prints it and a switch journals it. */
export interface ReconcileReport {
  status: 'reconciled' | 'in-transit';
  log: string;
  ledger: string;
  window: string;
  totals: {
    scanned: number;
    reconciled: number;
    accounts: number;
    transactions: number;
    missing: number;
    different: number;
    /** Currency ('' without a currency column) → exact sum, as text. */
    amounts: Record<string, string>;
    /** Entries whose amount is not a number: counted, not summed. */
    unparsedAmounts: number;
  };
  accounts: {
    account: string;
    transactions: number;
    amounts: Record<string, string>;
    /** The first entries (ENTRIES_PER_ACCOUNT at most). */
    entries: InTransitEntry[];
  }[];
  blacklists: (BlacklistPlan & { written: boolean })[];
  dryRun: boolean;
  durationMs: number;
}

export interface ReconcileRunOptions {
  dryRun?: boolean;
  signal?: AbortSignal;
  onEntry?: (e: InTransitEntry) => void;
  progress?: (scanned: number) => void;
}

const amountsRecord = (m: Map<string, Decimal>): Record<string, string> =>
  Object.fromEntries(
    [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([c, d]) => [c, formatDecimal(d)]),
  );

/** `EUR 100.00, USD 5.00`; `100.00` without currencies; `0` when nothing. */
export function formatAmounts(amounts: Record<string, string>): string {
  const parts = Object.entries(amounts).map(([c, a]) => (c ? `${c} ${a}` : a));
  return parts.length ? parts.join(', ') : '0';
}

/**
 * Scans, then plans every blacklist change, then (unless dry run) writes them. Nothing is written
 * unless the whole window was compared and every blacklist target was read: a store that cannot
 * be reached throws (exit 2) before any write.
 */
export async function runReconcile(
  spec: ReconcileSpec,
  opts: ReconcileRunOptions = {},
): Promise<ReconcileReport> {
  const started = Date.now();
  const scan = await scanRemoteLog(spec, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onEntry ? { onEntry: opts.onEntry } : {}),
    ...(opts.progress ? { progress: opts.progress } : {}),
  });
  const reasons = blacklistReasons(scan);
  const plans = await Promise.all(spec.blacklists.map((t) => planBlacklist(t, reasons)));
  const dryRun = opts.dryRun ?? false;
  if (!dryRun) {
    for (const [i, t] of spec.blacklists.entries()) await applyBlacklist(t, plans[i]!.changes);
  }
  return toReport(scan, plans, dryRun, Date.now() - started);
}

function blacklistReasons(scan: ScanResult): Map<string, BlacklistReason> {
  const reasons = new Map<string, BlacklistReason>();
  for (const a of scan.accounts.values()) {
    reasons.set(a.account, {
      amount: formatAmounts(amountsRecord(a.amounts)),
      transactions: a.transactions,
      ids: a.entries.map((e) => e.key),
    });
  }
  return reasons;
}

function toReport(
  scan: ScanResult,
  plans: BlacklistPlan[],
  dryRun: boolean,
  durationMs: number,
): ReconcileReport {
  const transactions = scan.missing + scan.different;
  return {
    status: transactions === 0 ? 'reconciled' : 'in-transit',
    log: scan.log,
    ledger: scan.ledger,
    window: scan.window,
    totals: {
      scanned: scan.scanned,
      reconciled: scan.reconciled,
      accounts: scan.accounts.size,
      transactions,
      missing: scan.missing,
      different: scan.different,
      amounts: amountsRecord(scan.amounts),
      unparsedAmounts: scan.unparsedAmounts,
    },
    accounts: [...scan.accounts.values()]
      .sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0))
      .map((a) => ({
        account: a.account,
        transactions: a.transactions,
        amounts: amountsRecord(a.amounts),
        entries: a.entries,
      })),
    blacklists: plans.map((p) => ({ ...p, written: !dryRun && p.changes.length > 0 })),
    dryRun,
    durationMs,
  };
}

/** "RPO not proven: N transactions, amount X in transit, M accounts blacklisted". */
export function rpoEvidence(r: ReconcileReport): string {
  const blacklisted = r.blacklists.length ? r.totals.accounts : 0;
  return `RPO not proven: ${r.totals.transactions} transaction${r.totals.transactions === 1 ? '' : 's'}, amount ${formatAmounts(r.totals.amounts)} in transit, ${blacklisted} account${blacklisted === 1 ? '' : 's'} blacklisted`;
}
