import { z } from 'zod';
import { UsageError } from '../../shared/errors.js';
import { parseMysqlDsn } from '../../shared/dsn.js';
import { formatDuration, parseDuration } from '../../shared/duration.js';
import type { CheckerModule, FlagValues, PrintContext } from '../module.js';
import type { CheckResult } from '../types.js';
import { mysqlOptionsSchema, type MysqlOptions } from './options.js';

const str = (flags: FlagValues, key: string): string | undefined => flags[key] as string | undefined;

function durationFlag(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`${flag}: expected a duration like 30s or 500ms, got "${text}"`);
  return ms;
}

function integerFlag(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag}: expected a whole number ≥ ${min}, got "${text}"`);
  return n;
}

function hashFlag(text: string): 'fast' | 'sha256' {
  if (text === 'fast' || text === 'sha256') return text;
  throw new UsageError(`--hash: expected fast or sha256, got "${text}"`);
}

/** The fields of a `kind: mysql` runbook resource. */
const mysqlResource = z.strictObject({
  primary: z.string().meta({ description: 'DSN mysql://user:${env:PW}@host:3306 of the Main primary' }),
  replica: z.string().meta({ description: 'DSN of the DR replica' }),
});

/** MySQL/MariaDB: a primary and its GTID replica. */
export const mysqlModule: CheckerModule<'mysql', string, MysqlOptions, typeof mysqlResource> = {
  kind: 'mysql',
  title: 'MySQL/MariaDB primary vs its DR replica: GTIDs, schema, every row',
  resource: mysqlResource,
  endpoints: (_name, r) => ({ source: r.primary, target: r.replica }),
  optionsSchema: mysqlOptionsSchema,
  run: async (target, options, ctx) => (await import('./checker.js')).runMysqlCheck(target, options, ctx),
  cli: {
    description:
      'compare a MySQL/MariaDB primary (--source) with its DR replica (--target): GTIDs, schema, every row',
    source: { value: '<dsn>', description: 'primary, mysql://user:password@host:3306' },
    target: { value: '<dsn>', description: 'DR replica, mysql://user:password@host:3306' },
    resource: 'take source and target from this runbook resource (with -f)',
    since: 'time window start: 2h (ago) or 2026-11-21T10:00:00Z (needs --column)',
    show: 20,
    flags: [
      {
        flags: '--databases <globs>',
        description: 'databases to compare (comma-separated globs; default all but system)',
        list: true,
      },
      { flags: '--tables <globs>', description: 'tables to compare: `accounts`, `bank.pay*`', list: true },
      {
        flags: '--exclude <globs>',
        description: 'databases or tables to leave out: `tmp_*`, `bank.audit_log`',
        list: true,
      },
      {
        flags: '--wait <duration>',
        description: 'wait this long for the replica to reach the primary position captured at start',
        default: '60s',
      },
      { flags: '--max-rows-per-second <n>', description: 'rate limit per side (default unlimited)' },
      {
        flags: '--chunk-time <duration>',
        description: 'target time per chunk query; chunk size adapts to it',
        default: '500ms',
      },
      { flags: '--threads <n>', description: 'tables compared at once', default: '2' },
      {
        flags: '--fix-sql <dir>',
        description: 'write (never run) SQL that would repair the target into this directory',
      },
      { flags: '--until <time>', description: 'time window end (exclusive)' },
      { flags: '--column <name>', description: 'the column that bounds the time window, e.g. updated_at' },
      {
        flags: '--fields <names>',
        description: 'time window: compare only these columns (plus the key)',
        list: true,
      },
      { flags: '--no-gtid', description: 'skip the GTID comparison' },
      { flags: '--no-schema', description: 'skip the schema comparison' },
      { flags: '--no-rows', description: 'skip the row scan' },
      {
        flags: '--hash <kind>',
        description:
          'row hash: fast (64-bit CRC/MD5 per row, summed per chunk) or sha256 (cryptographic, computed in the database)',
        default: 'fast',
      },
    ],
    help: `
Exit codes: 0 consistent, 1 differences (or anything unverified), 2 could not check, 130 interrupted.
What "consistent" proves: same GTID position (no missing or errant transaction), same schema
(columns, indexes, keys, FKs, CHECKs, partitioning, views, triggers, routines, events) and, per
row, equal exact values. The default --hash fast catches accidental divergence (lost writes,
corruption, replication bugs) with overwhelming probability, but it is not a cryptographic
proof: someone who can write to the replica can craft a change it does not see. Use
--hash sha256 when that matters (slower; see docs/checkers/mysql.md).
The checker only reads: it needs SELECT and SHOW VIEW on *.*, plus REPLICATION CLIENT (MySQL)
or BINLOG MONITOR + SLAVE MONITOR (MariaDB).

Examples:
  drctl check mysql --source mysql://checker:pw@main-db:3306 --target mysql://checker:pw@dr-db:3306
  drctl check mysql --resource core-banking -f runbooks/id-bank/switchover.yaml --json
  drctl check mysql --source … --target … --tables 'bank.*' --column updated_at --since 2h --fields balance,status`,
    endpoints(flags) {
      const source = str(flags, 'source');
      const target = str(flags, 'target');
      if (source === undefined || target === undefined) {
        throw new UsageError(
          'give --source <primary dsn> and --target <replica dsn> (or --resource <name> -f <runbook>)',
          {
            hint: 'drctl check mysql --source mysql://user:pw@main:3306 --target mysql://user:pw@dr:3306',
          },
        );
      }
      // Parse early: a malformed DSN is bad input, named, and its password is registered for redaction.
      parseMysqlDsn(source, '--source');
      parseMysqlDsn(target, '--target');
      return { source, target };
    },
    options(flags, show) {
      const maxRows = str(flags, 'maxRowsPerSecond');
      const list = (key: string) => flags[key] as string[] | undefined;
      const opt = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value });
      return {
        gtid: flags['gtid'] !== false,
        schema: flags['schema'] !== false,
        rows: flags['rows'] === false ? 'none' : 'full',
        waitMs: durationFlag(str(flags, 'wait') ?? '60s', '--wait'),
        chunkTimeMs: Math.max(1, durationFlag(str(flags, 'chunkTime') ?? '500ms', '--chunk-time')),
        threads: integerFlag(str(flags, 'threads') ?? '2', '--threads', 1),
        maxFindings: Math.max(1000, show),
        ...opt('maxRowsPerSecond', maxRows && integerFlag(maxRows, '--max-rows-per-second', 1)),
        ...opt('databases', list('databases')),
        ...opt('tables', list('tables')),
        ...opt('exclude', list('exclude')),
        ...opt('fixSqlDir', str(flags, 'fixSql') || undefined),
        ...opt('since', str(flags, 'since') || undefined),
        ...opt('until', str(flags, 'until') || undefined),
        ...opt('column', str(flags, 'column') || undefined),
        ...opt('fields', list('fields')),
        ...opt('hash', str(flags, 'hash') ? hashFlag(str(flags, 'hash')!) : undefined),
      };
    },
    optionFlags: {
      waitMs: '--wait',
      chunkTimeMs: '--chunk-time',
      fixSqlDir: '--fix-sql',
      rows: '--no-rows',
      maxFindings: '--show',
    },
    print: printMysql,
  },
};

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function printMysql(result: CheckResult, { show, out }: PrintContext): void {
  const ev = result.evidence as {
    source?: { display: string; version: string };
    target?: { display: string; version: string };
    catchUp?: { position: string; caughtUp: boolean; waitedMs: number };
    tables?: {
      table: string;
      result: string;
      structureEqual: boolean;
      rowsSource: number;
      rowsTarget: number;
      missing: number;
      extra: number;
      different: number;
      ms: number;
      note?: string;
    }[];
  };
  if (ev.source && ev.target) {
    out(
      `source ${ev.source.display} (${ev.source.version})  target ${ev.target.display} (${ev.target.version})`,
    );
  }
  if (ev.catchUp) {
    out(
      `primary position at start: ${ev.catchUp.position || '(empty)'}; replica ${ev.catchUp.caughtUp ? 'reached it' : 'did NOT reach it'} after ${formatDuration(ev.catchUp.waitedMs)}`,
    );
  }
  const tables = ev.tables ?? [];
  if (tables.length > 0) {
    const w = Math.max(5, ...tables.map((t) => t.table.length));
    const num = (n: number) => n.toLocaleString('en-US');
    out();
    out(
      `${pad('table', w)}  ${pad('result', 10)}  ${pad('schema', 6)}  ${pad('rows src', 11, true)}  ${pad('rows dst', 11, true)}  ${pad('missing', 8, true)}  ${pad('extra', 8, true)}  ${pad('diff', 8, true)}  ${pad('time', 7, true)}`,
    );
    for (const t of tables) {
      out(
        `${pad(t.table, w)}  ${pad(t.result, 10)}  ${pad(t.structureEqual ? 'equal' : 'DIFF', 6)}  ${pad(num(t.rowsSource), 11, true)}  ${pad(num(t.rowsTarget), 11, true)}  ${pad(num(t.missing), 8, true)}  ${pad(num(t.extra), 8, true)}  ${pad(num(t.different), 8, true)}  ${pad(formatDuration(t.ms), 7, true)}${t.note ? `  ${t.note}` : ''}`,
      );
    }
  }
  const shown = result.findings.slice(0, show);
  if (shown.length > 0) {
    out();
    for (const f of shown) out(`${f.severity === 'warning' ? 'warning' : f.kind}: ${f.object}: ${f.message}`);
    const more = result.findings.length - shown.length + result.findingsOmitted;
    if (more > 0) out(`… and ${more} more (use --json or --fix-sql for all)`);
  }
  const files = (result.evidence['fixSqlFiles'] as string[] | undefined) ?? [];
  if (files.length > 0) out(`\nrepair SQL written (not run): ${files.join(', ')}`);
  out();
  out(`${result.status.toUpperCase()}: ${result.summary} in ${formatDuration(result.durationMs)}`);
}
