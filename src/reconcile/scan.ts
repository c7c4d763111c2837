import mysql from 'mysql2';
import { openSession, type Session } from '../../checkers/mysql/session.js';
import { UsageError } from '../errors.js';
import { addDecimal, decimalEquals, parseDecimal, ZERO, type Decimal } from './decimal.js';
import type { ColumnPair, ReconcileSpec, TableName } from './spec.js';

/** Per account, the entries kept for the detail and the blacklist reason (the counts are exact). */
export const ENTRIES_PER_ACCOUNT = 100;

export interface ColumnDifference {
  column: string;
  log: string | null;
  ledger: string | null;
}

/** A log entry the ledger does not have (missing) or has with other values (different). */
export interface InTransitEntry {
  key: string;
  account: string;
  amount: string | null;
  currency: string;
  state: 'missing' | 'different';
  differences: ColumnDifference[];
}

export interface AccountInTransit {
  account: string;
  transactions: number;
  /** Currency ('' without a currency column) → exact sum. */
  amounts: Map<string, Decimal>;
  /** The first ENTRIES_PER_ACCOUNT entries in key order. */
  entries: InTransitEntry[];
}

export interface ScanResult {
  /** How the window was chosen, for a person. */
  window: string;
  scanned: number;
  reconciled: number;
  missing: number;
  different: number;
  /** Entries whose amount is not a number (NULL, text): counted, never summed. */
  unparsedAmounts: number;
  amounts: Map<string, Decimal>;
  /** Accounts with entries in transit, in the order first seen. */
  accounts: Map<string, AccountInTransit>;
  log: string;
  ledger: string;
}

export interface ScanOptions {
  signal?: AbortSignal;
  /** Every entry in transit, in key order (the CSV streams from here). */
  onEntry?: (e: InTransitEntry) => void;
  progress?: (scanned: number) => void;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const EXACT_NUMBER_TYPES = new Set([...INTEGER_TYPES, 'decimal', 'numeric']);
const TEMPORAL_TYPES = new Set(['datetime', 'timestamp', 'time']);

/** How two values of a compared column pair are judged equal, chosen from both columns' types. */
export type Equality = (a: Buffer, b: Buffer) => boolean;

const sameBytes: Equality = (a, b) => a.equals(b);

/**
 * Exact numbers (DECIMAL of any scale, integers) are equal when their values are: the log's
 * DECIMAL(14,2) 10.50 is the ledger's DECIMAL(19,4) 10.5000. Never through a float.
 */
const sameNumber: Equality = (a, b) => {
  if (a.equals(b)) return true;
  const x = parseDecimal(a.toString('latin1'));
  const y = parseDecimal(b.toString('latin1'));
  return x !== undefined && y !== undefined && decimalEquals(x, y);
};

/** DATETIME(3) '…10:00:00.500' is DATETIME(6) '…10:00:00.500000': trailing zero digits of the fraction do not count. */
const trimFraction = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
const sameTime: Equality = (a, b) =>
  a.equals(b) || trimFraction(a.toString('latin1')) === trimFraction(b.toString('latin1'));

/**
 * The equality for a column pair: by value when both columns are exact numbers or both are
 * temporal, byte for byte otherwise (text, binary, floating point, or two different kinds).
 */
export function equalityFor(logType: string | undefined, ledgerType: string | undefined): Equality {
  if (logType === undefined || ledgerType === undefined) return sameBytes;
  if (EXACT_NUMBER_TYPES.has(logType) && EXACT_NUMBER_TYPES.has(ledgerType)) return sameNumber;
  const bothTemporal = TEMPORAL_TYPES.has(logType) && TEMPORAL_TYPES.has(ledgerType);
  // DATETIME and TIMESTAMP print alike (the session is in UTC); a TIME is only ever a TIME.
  if (bothTemporal && (logType === 'time') === (ledgerType === 'time')) return sameTime;
  return sameBytes;
}

interface TableColumns {
  types: Map<string, string>;
}

/**
 * Walks the log window in key order, a batch at a time, and looks each batch's keys up in the
 * ledger with one `WHERE key IN (…)` query. Memory holds one batch, the next one being read, and
 * the accounts in transit (capped detail each). Both sessions are read-only transactions.
 */
export async function scanRemoteLog(spec: ReconcileSpec, opts: ScanOptions = {}): Promise<ScanResult> {
  const sessionOpts = (label: string) => ({ label, ...(opts.signal ? { signal: opts.signal } : {}) });
  const log = await openSession(spec.log, 'source', sessionOpts('remote log'));
  let ledger: Session | undefined;
  try {
    const logCols = await describeTable(log, spec.logTable, 'remote log');
    ledger = await openSession(spec.ledger, 'target', sessionOpts('ledger'));
    const ledgerCols = await describeTable(ledger, spec.ledgerTable, 'ledger');
    const window = chooseWindow(spec, logCols);
    requireColumns(spec, logCols, ledgerCols, window.columns);
    return await walk(spec, log, ledger, logCols, ledgerCols, window, opts);
  } finally {
    await Promise.allSettled([log.close(), ledger?.close()]);
  }
}

/**
 * What preflight proves about a remote log before the night: both stores answer, both tables
 * exist and are readable, every named column is there. Reads only information_schema. Returns
 * how the window would be chosen and where each store is (no credentials).
 */
export async function probeRemoteLog(
  spec: ReconcileSpec,
  opts: { signal?: AbortSignal; connectTimeoutMs?: number } = {},
): Promise<{ window: string; log: string; ledger: string }> {
  const sessionOpts = (label: string) => ({
    label,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
  });
  const [log, ledger] = await Promise.allSettled([
    openSession(spec.log, 'source', sessionOpts('remote log')),
    openSession(spec.ledger, 'target', sessionOpts('ledger')),
  ]);
  try {
    if (log.status === 'rejected') throw log.reason;
    if (ledger.status === 'rejected') throw ledger.reason;
    const [logCols, ledgerCols] = await Promise.all([
      describeTable(log.value, spec.logTable, 'remote log'),
      describeTable(ledger.value, spec.ledgerTable, 'ledger'),
    ]);
    const window = chooseWindow(spec, logCols);
    requireColumns(spec, logCols, ledgerCols, window.columns);
    return {
      window: window.text,
      log: `${log.value.display} ${spec.logTable.display}`,
      ledger: `${ledger.value.display} ${spec.ledgerTable.display}`,
    };
  } finally {
    const open = [log, ledger].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    await Promise.allSettled(open.map((sess) => sess.close()));
  }
}

async function describeTable(s: Session, t: TableName, label: string): Promise<TableColumns> {
  const rows = await s.query<{ name: string; type: string }>(
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [t.db, t.table],
  );
  if (rows.length === 0) {
    throw new UsageError(`${label} table ${t.display} not found on ${s.display}`, {
      hint: `check the table name, and that the user has SELECT on ${t.display}`,
    });
  }
  return { types: new Map(rows.map((r) => [r.name.toLowerCase(), String(r.type).toLowerCase()])) };
}

interface Window {
  where: string;
  values: unknown[];
  text: string;
  columns: string[];
}

function chooseWindow(spec: ReconcileSpec, logCols: TableColumns): Window {
  if (spec.since) {
    const at = spec.since.toISOString().replace('T', ' ').replace('Z', '');
    return {
      where: `${q(spec.time)} >= ?`,
      values: [at],
      text: `entries with ${spec.time} >= ${at} UTC`,
      columns: [spec.time],
    };
  }
  if (spec.tick.explicit || logCols.types.has(spec.tick.column.toLowerCase())) {
    return {
      where: `${q(spec.tick.column)} IS NULL`,
      values: [],
      text: `entries not ticked off (${spec.tick.column} IS NULL)`,
      columns: [spec.tick.column],
    };
  }
  return {
    where: '1 = 1',
    values: [],
    text: `every entry (the log has no ${spec.tick.column} column)`,
    columns: [],
  };
}

function requireColumns(
  spec: ReconcileSpec,
  logCols: TableColumns,
  ledgerCols: TableColumns,
  windowColumns: string[],
): void {
  const missing: string[] = [];
  const logNeeds = [spec.key.log, spec.account.log, spec.amount.log, ...spec.compare.map((c) => c.log)];
  if (spec.currency) logNeeds.push(spec.currency);
  logNeeds.push(...windowColumns);
  for (const c of new Set(logNeeds)) {
    if (!logCols.types.has(c.toLowerCase()))
      missing.push(
        `remote log table ${spec.logTable.display} has no column "${c}" (${spec.flagOf[`log:${c}`] ?? 'default'})`,
      );
  }
  for (const c of new Set([spec.key.ledger, ...spec.compare.map((p) => p.ledger)])) {
    if (!ledgerCols.types.has(c.toLowerCase()))
      missing.push(
        `ledger table ${spec.ledgerTable.display} has no column "${c}" (${spec.flagOf[`ledger:${c}`] ?? 'default'})`,
      );
  }
  if (missing.length) {
    throw new UsageError(missing.join('; '), {
      hint: 'name the column with its flag (log_column=ledger_column when the names differ)',
    });
  }
}

const q = (name: string) => `\`${name}\``;
const text = (b: Buffer | null | undefined): string | null => (b == null ? null : b.toString('utf8'));

/** A key as an SQL literal: digits stay a number against an integer column (exact for BIGINT). */
function literal(value: string, columnType: string | undefined): string {
  if (columnType !== undefined && INTEGER_TYPES.has(columnType) && /^-?\d{1,20}$/.test(value)) return value;
  return mysql.escape(value);
}

interface LogBatch {
  rows: (Buffer | null)[][];
  /** The batch was full: there may be more after its last key. */
  more: boolean;
  lastKey: string | undefined;
}

async function walk(
  spec: ReconcileSpec,
  log: Session,
  ledger: Session,
  logCols: TableColumns,
  ledgerCols: TableColumns,
  window: Window,
  opts: ScanOptions,
): Promise<ScanResult> {
  // Log columns read: key, account, amount, currency, then each compared one (deduplicated).
  const logSelect: string[] = [];
  const at = (c: string) => {
    const i = logSelect.indexOf(c);
    if (i >= 0) return i;
    logSelect.push(c);
    return logSelect.length - 1;
  };
  const iKey = at(spec.key.log);
  const iAccount = at(spec.account.log);
  const iAmount = at(spec.amount.log);
  const iCurrency = spec.currency ? at(spec.currency) : -1;
  const iCompare = spec.compare.map((c) => at(c.log));
  const equalities = spec.compare.map((c) =>
    equalityFor(logCols.types.get(c.log.toLowerCase()), ledgerCols.types.get(c.ledger.toLowerCase())),
  );
  const ledgerSelect = [spec.key.ledger, ...spec.compare.map((c) => c.ledger)];
  const logKeyType = logCols.types.get(spec.key.log.toLowerCase());
  const ledgerKeyType = ledgerCols.types.get(spec.key.ledger.toLowerCase());
  const from = `${q(spec.logTable.db)}.${q(spec.logTable.table)}`;
  const cols = logSelect.map(q).join(', ');
  const k = q(spec.key.log);

  const fetchLog = async (after: string | undefined): Promise<LogBatch> => {
    const cursor = after === undefined ? '' : ` AND ${k} > ${literal(after, logKeyType)}`;
    const rows = await log.queryRaw(
      `SELECT ${cols} FROM ${from} WHERE (${window.where})${cursor} ORDER BY ${k} LIMIT ${spec.batch}`,
      window.values,
    );
    const more = rows.length === spec.batch;
    if (!more || rows.length === 0) return { rows, more, lastKey: text(rows.at(-1)?.[iKey]) ?? undefined };
    // A key may repeat in the log (a retried write): the last key's rows are read whole, so the
    // next batch starts strictly after it without skipping any.
    const last = text(rows.at(-1)![iKey])!;
    const keep = rows.filter((r) => text(r[iKey]) !== last);
    const tail = await log.queryRaw(
      `SELECT ${cols} FROM ${from} WHERE (${window.where}) AND ${k} = ${literal(last, logKeyType)}`,
      window.values,
    );
    return { rows: [...keep, ...tail], more, lastKey: last };
  };

  const lookUp = async (keys: string[]): Promise<Map<string, (Buffer | null)[][]>> => {
    const found = new Map<string, (Buffer | null)[][]>();
    if (keys.length === 0) return found;
    const rows = await ledger.queryRaw(
      `SELECT ${ledgerSelect.map(q).join(', ')} FROM ${q(spec.ledgerTable.db)}.${q(spec.ledgerTable.table)} WHERE ${q(spec.key.ledger)} IN (${keys.map((key) => literal(key, ledgerKeyType)).join(', ')})`,
    );
    for (const r of rows) {
      const key = text(r[0]) ?? '';
      const list = found.get(key);
      if (list) list.push(r);
      else found.set(key, [r]);
    }
    return found;
  };

  const result: ScanResult = {
    window: window.text,
    scanned: 0,
    reconciled: 0,
    missing: 0,
    different: 0,
    unparsedAmounts: 0,
    amounts: new Map(),
    accounts: new Map(),
    log: `${log.display} ${spec.logTable.display}`,
    ledger: `${ledger.display} ${spec.ledgerTable.display}`,
  };

  // The next log batch is read while this one is looked up in the ledger.
  let next: Promise<LogBatch> = fetchLog(undefined);
  for (;;) {
    const batch = await next;
    if (batch.rows.length === 0) break;
    next = batch.more
      ? fetchLog(batch.lastKey)
      : Promise.resolve({ rows: [], more: false, lastKey: undefined });
    next.catch(() => undefined);
    const keys = [...new Set(batch.rows.map((r) => text(r[iKey]) ?? ''))];
    const ledgerRows = await lookUp(keys);
    for (const r of batch.rows) {
      result.scanned++;
      const key = text(r[iKey]) ?? '';
      const candidates = ledgerRows.get(key) ?? [];
      let differences: ColumnDifference[] | undefined;
      for (const l of candidates) {
        const diffs = compareRow(spec.compare, iCompare, equalities, r, l);
        if (diffs.length === 0) {
          differences = undefined;
          break;
        }
        differences ??= diffs;
      }
      if (candidates.length > 0 && differences === undefined) {
        result.reconciled++;
        continue;
      }
      const entry: InTransitEntry = {
        key,
        account: text(r[iAccount]) ?? '',
        amount: text(r[iAmount]),
        currency: iCurrency >= 0 ? (text(r[iCurrency]) ?? '') : '',
        state: candidates.length === 0 ? 'missing' : 'different',
        differences: differences ?? [],
      };
      addInTransit(result, entry);
      opts.onEntry?.(entry);
    }
    opts.progress?.(result.scanned);
  }
  return result;
}

function compareRow(
  compare: ColumnPair[],
  iCompare: number[],
  equalities: Equality[],
  logRow: (Buffer | null)[],
  ledgerRow: (Buffer | null)[],
): ColumnDifference[] {
  const diffs: ColumnDifference[] = [];
  compare.forEach((c, j) => {
    const a = logRow[iCompare[j]!] ?? null;
    const b = ledgerRow[j + 1] ?? null;
    const equal = a === null || b === null ? a === b : equalities[j]!(a, b);
    if (!equal)
      diffs.push({
        column: c.log === c.ledger ? c.log : `${c.log}=${c.ledger}`,
        log: text(a),
        ledger: text(b),
      });
  });
  return diffs;
}

function addInTransit(result: ScanResult, e: InTransitEntry): void {
  if (e.state === 'missing') result.missing++;
  else result.different++;
  let acc = result.accounts.get(e.account);
  if (!acc) {
    acc = { account: e.account, transactions: 0, amounts: new Map(), entries: [] };
    result.accounts.set(e.account, acc);
  }
  acc.transactions++;
  if (acc.entries.length < ENTRIES_PER_ACCOUNT) acc.entries.push(e);
  const amount = parseDecimal(e.amount);
  if (amount === undefined) {
    result.unparsedAmounts++;
    return;
  }
  acc.amounts.set(e.currency, addDecimal(acc.amounts.get(e.currency) ?? ZERO, amount));
  result.amounts.set(e.currency, addDecimal(result.amounts.get(e.currency) ?? ZERO, amount));
}
