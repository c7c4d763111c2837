import { z } from 'zod';
import { UsageError } from '../errors.js';
import { parseDuration } from '../util/duration.js';

/**
 * What `drctl reconcile` compares, from its flags or from a runbook resource of kind
 * `remote-log`. The defaults are the seed bank's remote log: `id, account, transaction_id,
 * amount, transaction_time, log_time`, plus the column its tick-off job fills in.
 */
export const RECONCILE_DEFAULTS = {
  key: 'transaction_id',
  account: 'account',
  amount: 'amount',
  time: 'log_time',
  tick: 'reconciled_time',
  blacklistKey: 'bcf.blacklist.accounts',
  batch: 2000,
} as const;

const StringOrList = z.union([z.string(), z.array(z.string())]);

/** The fields of a runbook resource of kind `remote-log` (besides kind and the common ones). */
export const remoteLogResourceFields = {
  log: z
    .string()
    .meta({ description: 'mysql://user:password@host:3306 of the remote log store (read only)' }),
  logTable: z.string().meta({ description: 'db.table of the remote log' }),
  ledger: z.string().meta({ description: 'mysql:// DSN of the DR ledger (read only)' }),
  ledgerTable: z.string().meta({ description: 'db.table of the ledger' }),
  key: z.string().optional().meta({
    description: 'Transaction key column (default transaction_id); log=ledger when the names differ',
  }),
  account: z.string().optional().meta({ description: 'Account column (default account)' }),
  amount: z.string().optional().meta({ description: 'Amount column (default amount)' }),
  compare: StringOrList.optional().meta({
    description: 'Columns that must be equal on the ledger (default the account and amount columns)',
  }),
  currency: z.string().optional().meta({ description: 'Currency column of the log: totals per currency' }),
  time: z
    .string()
    .optional()
    .meta({ description: 'Log time column that since applies to (default log_time)' }),
  tick: z.string().optional().meta({
    description:
      'Column the tick-off job fills once the ledger has the entry (default reconciled_time); without since, the entries where it is NULL',
  }),
  since: z.string().optional().meta({ description: 'Window start: a time or a duration back from now' }),
  blacklist: StringOrList.optional().meta({
    description:
      'redis://host:6379/0#<set key> and/or mysql://…#<db.table>: where accounts in transit are blocked',
  }),
  batch: z.int().min(1).max(50_000).optional().meta({ description: 'Log entries per batch (default 2000)' }),
};

export const RemoteLogResourceSchema = z.strictObject(remoteLogResourceFields);
export type RemoteLogResource = z.infer<typeof RemoteLogResourceSchema>;

/** One column on each side: `amount` or `amount=value` (log=ledger). */
export interface ColumnPair {
  log: string;
  ledger: string;
}

export interface TableName {
  db: string;
  table: string;
  display: string;
}

export type BlacklistTarget =
  | { kind: 'redis'; url: string; key: string; display: string }
  | { kind: 'mysql'; dsn: string; table: TableName; display: string };

/** Everything a reconcile run needs, resolved and validated. */
export interface ReconcileSpec {
  log: string;
  logTable: TableName;
  ledger: string;
  ledgerTable: TableName;
  key: ColumnPair;
  account: ColumnPair;
  amount: ColumnPair;
  compare: ColumnPair[];
  currency: string | undefined;
  time: string;
  tick: { column: string; explicit: boolean };
  /** Window start; undefined: the entries not ticked off (or all, without a tick column). */
  since: Date | undefined;
  blacklists: BlacklistTarget[];
  batch: number;
  /** Which input named each column, for messages: column → `--amount`. */
  flagOf: Record<string, string>;
}

const IDENT = /^[A-Za-z0-9_$]+$/;

function column(text: string, flag: string): string {
  if (!IDENT.test(text)) {
    throw new UsageError(`${flag}: "${text}" is not a column name`, {
      hint: 'use letters, digits, _ and $ (the name as the table declares it)',
    });
  }
  return text;
}

export function parseColumnPair(text: string, flag: string): ColumnPair {
  const [log, ledger, extra] = text.split('=').map((s) => s.trim());
  if (extra !== undefined || !log) {
    throw new UsageError(`${flag}: expected a column or log_column=ledger_column, got "${text}"`);
  }
  return { log: column(log, flag), ledger: column(ledger || log, flag) };
}

export function parseTableName(text: string, flag: string): TableName {
  const parts = text.split('.');
  if (parts.length !== 2 || !parts.every((p) => IDENT.test(p))) {
    throw new UsageError(`${flag}: expected db.table, got "${text}"`, { hint: 'e.g. bank_log.remote_log' });
  }
  return { db: parts[0]!, table: parts[1]!, display: `${parts[0]}.${parts[1]}` };
}

/** `redis://[:pw@]host:port[/db][#set-key]` or `mysql://user:pw@host:port#db.table`. */
export function parseBlacklistTarget(text: string, flag = '--blacklist'): BlacklistTarget {
  const hash = text.indexOf('#');
  const base = hash < 0 ? text : text.slice(0, hash);
  const fragment = hash < 0 ? '' : decodeURIComponent(text.slice(hash + 1));
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`${flag}: not a URL`, {
      hint: 'redis://[:password@]host:6379[/db]#set-key or mysql://user:password@host:3306#db.table',
    });
  }
  const where = `${url.hostname}:${url.port || (url.protocol.startsWith('redis') ? 6379 : 3306)}`;
  if (url.protocol === 'redis:' || url.protocol === 'rediss:') {
    const key = fragment || RECONCILE_DEFAULTS.blacklistKey;
    const db = url.pathname.length > 1 ? url.pathname : '';
    return { kind: 'redis', url: base, key, display: `redis ${where}${db}#${key}` };
  }
  if (url.protocol === 'mysql:' || url.protocol === 'mariadb:') {
    if (!fragment) {
      throw new UsageError(`${flag}: a MySQL blacklist needs its table after #`, {
        hint: 'mysql://user:password@host:3306#bank.blacklist',
      });
    }
    const table = parseTableName(fragment, flag);
    return { kind: 'mysql', dsn: base, table, display: `mysql ${where}#${table.display}` };
  }
  throw new UsageError(`${flag}: scheme must be redis://, rediss:// or mysql://, got ${url.protocol}//`);
}

/** A time (ISO 8601 or `YYYY-MM-DD hh:mm:ss`, UTC unless it says) or a duration back from now. */
export function parseSince(text: string, now = Date.now()): Date {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now - ms);
  const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)
    ? `${text.replace(' ', 'T')}Z`
    : text;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) {
    throw new UsageError(
      `--since: expected a time like 2026-03-01T02:00:00Z or a duration like 2h, got "${text}"`,
    );
  }
  return new Date(t);
}

/** Input as flags give it (camelCased) or a `remote-log` resource holds it. */
export interface ReconcileInput {
  log?: string | undefined;
  logTable?: string | undefined;
  ledger?: string | undefined;
  ledgerTable?: string | undefined;
  key?: string | undefined;
  account?: string | undefined;
  amount?: string | undefined;
  compare?: string | string[] | undefined;
  currency?: string | undefined;
  time?: string | undefined;
  tick?: string | undefined;
  since?: string | undefined;
  blacklist?: string | string[] | undefined;
  batch?: number | undefined;
}

const list = (v: string | string[] | undefined): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Validates and resolves the input; `flag` names the place of each field in messages (a flag,
 * or `resources.<name>.<field>`).
 */
export function resolveSpec(input: ReconcileInput, flag: (field: string) => string): ReconcileSpec {
  for (const field of ['log', 'logTable', 'ledger', 'ledgerTable'] as const) {
    if (!input[field]) {
      throw new UsageError(`${flag(field)} is required`, {
        hint: 'drctl reconcile --log mysql://… --log-table db.table --ledger mysql://… --ledger-table db.table',
      });
    }
  }
  const flagOf: Record<string, string> = {};
  const pair = (field: 'key' | 'account' | 'amount', dflt: string) => {
    const p = parseColumnPair(input[field] ?? dflt, flag(field));
    flagOf[`log:${p.log}`] ??= flag(field);
    flagOf[`ledger:${p.ledger}`] ??= flag(field);
    return p;
  };
  const key = pair('key', RECONCILE_DEFAULTS.key);
  const account = pair('account', RECONCILE_DEFAULTS.account);
  const amount = pair('amount', RECONCILE_DEFAULTS.amount);
  const given = list(input.compare);
  const compare = given.length ? given.map((c) => parseColumnPair(c, flag('compare'))) : [account, amount];
  if (given.length) {
    for (const c of compare) {
      flagOf[`log:${c.log}`] ??= flag('compare');
      flagOf[`ledger:${c.ledger}`] ??= flag('compare');
    }
  }
  const currency = input.currency === undefined ? undefined : column(input.currency, flag('currency'));
  if (currency) flagOf[`log:${currency}`] ??= flag('currency');
  const time = column(input.time ?? RECONCILE_DEFAULTS.time, flag('time'));
  const tick = column(input.tick ?? RECONCILE_DEFAULTS.tick, flag('tick'));
  const since = input.since === undefined ? undefined : parseSince(input.since);
  if (since) flagOf[`log:${time}`] ??= flag('time');
  flagOf[`log:${tick}`] ??= flag('tick');
  return {
    log: input.log!,
    logTable: parseTableName(input.logTable!, flag('logTable')),
    ledger: input.ledger!,
    ledgerTable: parseTableName(input.ledgerTable!, flag('ledgerTable')),
    key,
    account,
    amount,
    compare,
    currency,
    time,
    tick: { column: tick, explicit: input.tick !== undefined },
    since,
    blacklists: list(input.blacklist).map((b) => parseBlacklistTarget(b, flag('blacklist'))),
    batch: input.batch ?? RECONCILE_DEFAULTS.batch,
    flagOf,
  };
}
