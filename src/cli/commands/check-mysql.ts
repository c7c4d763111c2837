import type { Command } from 'commander';
import type { CheckProgressEvent, CheckResult, CheckTarget, Finding } from '../../../checkers/types.js';
import { mysqlOptionsSchema, type MysqlOptionsInput } from '../../../checkers/mysql/options.js';
import { DrctlError, ExitCode, UsageError } from '../../errors.js';
import { checkTargetFromRunbook } from '../../runbook/check-target.js';
import { parseMysqlDsn } from '../../util/dsn.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { redact } from '../../util/redact.js';
import { abortOnSigint, exitCodeForCheck, printCheckJson } from '../check-common.js';
import { printLine } from '../output.js';

interface CheckMysqlFlags {
  source?: string;
  target?: string;
  resource?: string;
  file?: string;
  databases?: string[];
  tables?: string[];
  exclude?: string[];
  wait: string;
  json?: boolean;
  maxRowsPerSecond?: string;
  chunkTime: string;
  threads: string;
  fixSql?: string;
  since?: string;
  until?: string;
  column?: string;
  fields?: string[];
  gtid: boolean;
  schema: boolean;
  rows: boolean;
  show: string;
  hash: string;
}

const collect = (value: string, prev: string[] | undefined) => [
  ...(prev ?? []),
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** `drctl check mysql`: prove RPO=0 between a MySQL/MariaDB primary and its DR replica. */
export function registerCheckMysql(check: Command): void {
  check
    .command('mysql')
    .description(
      'compare a MySQL/MariaDB primary (--source) with its DR replica (--target): GTIDs, schema, every row',
    )
    .option('--source <dsn>', 'primary, mysql://user:password@host:3306')
    .option('--target <dsn>', 'DR replica, mysql://user:password@host:3306')
    .option('--resource <name>', 'take source and target from this runbook resource (with -f)')
    .option('-f, --file <runbook>', 'runbook file for --resource')
    .option(
      '--databases <globs>',
      'databases to compare (comma-separated globs; default all but system)',
      collect,
    )
    .option('--tables <globs>', 'tables to compare: `accounts`, `bank.pay*`', collect)
    .option('--exclude <globs>', 'databases or tables to leave out: `tmp_*`, `bank.audit_log`', collect)
    .option(
      '--wait <duration>',
      'wait this long for the replica to reach the primary position captured at start',
      '60s',
    )
    .option('--json', 'print one JSON document with everything')
    .option('--max-rows-per-second <n>', 'rate limit per side (default unlimited)')
    .option('--chunk-time <duration>', 'target time per chunk query; chunk size adapts to it', '500ms')
    .option('--threads <n>', 'tables compared at once', '2')
    .option('--fix-sql <dir>', 'write (never run) SQL that would repair the target into this directory')
    .option('--since <time>', 'time window start: 2h (ago) or 2026-11-21T10:00:00Z (needs --column)')
    .option('--until <time>', 'time window end (exclusive)')
    .option('--column <name>', 'the column that bounds the time window, e.g. updated_at')
    .option('--fields <names>', 'time window: compare only these columns (plus the key)', collect)
    .option('--no-gtid', 'skip the GTID comparison')
    .option('--no-schema', 'skip the schema comparison')
    .option('--no-rows', 'skip the row scan')
    .option('--show <n>', 'differing keys to print', '20')
    .option(
      '--hash <kind>',
      'row hash: fast (64-bit CRC/MD5 per row, summed per chunk) or sha256 (cryptographic, computed in the database)',
      'fast',
    )
    .addHelpText(
      'after',
      `
Exit codes: 0 consistent, 1 differences (or anything unverified), 2 could not check.
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
    )
    .action(async (flags: CheckMysqlFlags) => {
      await runCheckMysql(flags);
    });
}

function hashFlag(text: string): 'fast' | 'sha256' {
  if (text === 'fast' || text === 'sha256') return text;
  throw new UsageError(`--hash: expected fast or sha256, got "${text}"`);
}

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

async function resolveTarget(flags: CheckMysqlFlags): Promise<CheckTarget> {
  if (flags.resource !== undefined || flags.file !== undefined) {
    if (flags.resource === undefined || flags.file === undefined) {
      throw new UsageError('--resource and -f <runbook> go together', {
        hint: 'drctl check mysql --resource core-banking -f runbook.yaml',
      });
    }
    if (flags.source !== undefined || flags.target !== undefined) {
      throw new UsageError('give either --source/--target or --resource/-f, not both');
    }
    const t = await checkTargetFromRunbook(flags.file, flags.resource);
    if (t.kind !== 'mysql')
      throw new UsageError(`resource ${flags.resource} is a ${t.kind} resource, not mysql`);
    return t;
  }
  if (flags.source === undefined || flags.target === undefined) {
    throw new UsageError(
      'give --source <primary dsn> and --target <replica dsn> (or --resource <name> -f <runbook>)',
      {
        hint: 'drctl check mysql --source mysql://user:pw@main:3306 --target mysql://user:pw@dr:3306',
      },
    );
  }
  // Parse early: a malformed DSN is bad input, named, and its password is registered for redaction.
  parseMysqlDsn(flags.source, '--source');
  parseMysqlDsn(flags.target, '--target');
  return { kind: 'mysql', source: flags.source, target: flags.target };
}

export async function runCheckMysql(flags: CheckMysqlFlags): Promise<void> {
  const target = await resolveTarget(flags);
  const input: MysqlOptionsInput = {
    gtid: flags.gtid,
    schema: flags.schema,
    rows: flags.rows ? 'full' : 'none',
    waitMs: durationFlag(flags.wait, '--wait'),
    chunkTimeMs: Math.max(1, durationFlag(flags.chunkTime, '--chunk-time')),
    threads: integerFlag(flags.threads, '--threads', 1),
    maxFindings: Math.max(100, integerFlag(flags.show, '--show', 0)),
    ...(flags.maxRowsPerSecond === undefined
      ? {}
      : { maxRowsPerSecond: integerFlag(flags.maxRowsPerSecond, '--max-rows-per-second', 1) }),
    ...(flags.databases ? { databases: flags.databases } : {}),
    ...(flags.tables ? { tables: flags.tables } : {}),
    ...(flags.exclude ? { exclude: flags.exclude } : {}),
    ...(flags.fixSql ? { fixSqlDir: flags.fixSql } : {}),
    ...(flags.since ? { since: flags.since } : {}),
    ...(flags.until ? { until: flags.until } : {}),
    ...(flags.column ? { column: flags.column } : {}),
    ...(flags.fields ? { fields: flags.fields } : {}),
    ...(flags.hash ? { hash: hashFlag(flags.hash) } : {}),
  };
  const parsed = mysqlOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UsageError(`${first?.path.join('.') ?? 'options'}: ${first?.message ?? 'invalid'}`);
  }
  const { mysqlChecker } = await import('../../../checkers/mysql/index.js');
  const sig = abortOnSigint();
  const progress = createProgressLine(!flags.json && process.stderr.isTTY === true);
  let result: CheckResult;
  try {
    result = await mysqlChecker.run(target, parsed.data, { signal: sig.signal, progress: progress.update });
  } catch (err) {
    if (sig.signal.aborted)
      throw new DrctlError('interrupted: nothing was judged', { exitCode: ExitCode.interrupted });
    throw err;
  } finally {
    progress.done();
    sig.dispose();
  }
  if (flags.json) printCheckJson(result);
  else printHuman(result, integerFlag(flags.show, '--show', 0));
  process.exitCode = exitCodeForCheck(result);
}

/** One progress line per table on a TTY (stderr), rewritten in place. */
function createProgressLine(enabled: boolean): { update: (e: CheckProgressEvent) => void; done: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(e) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100 && e.done !== 0) return;
      last = now;
      let line = `${e.phase}${e.object ? ` ${e.object}` : ''}`;
      if (e.total !== undefined && e.done !== undefined && e.total > 0) {
        const pct = Math.min(100, Math.round((e.done / e.total) * 100));
        const bar = '#'.repeat(Math.round(pct / 5)).padEnd(20, '.');
        line += ` [${bar}] ${pct}% ${e.done.toLocaleString('en-US')} rows`;
      } else if (e.message) line += `: ${e.message}`;
      process.stderr.write(`\r\x1b[2K${redact(line).slice(0, (process.stderr.columns || 100) - 1)}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function printHuman(result: CheckResult, show: number): void {
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
    printLine(
      redact(
        `source ${ev.source.display} (${ev.source.version})  target ${ev.target.display} (${ev.target.version})`,
      ),
    );
  }
  if (ev.catchUp) {
    printLine(
      `primary position at start: ${ev.catchUp.position || '(empty)'}; replica ${ev.catchUp.caughtUp ? 'reached it' : 'did NOT reach it'} after ${formatDuration(ev.catchUp.waitedMs)}`,
    );
  }
  const tables = ev.tables ?? [];
  if (tables.length > 0) {
    const w = Math.max(5, ...tables.map((t) => t.table.length));
    const num = (n: number) => n.toLocaleString('en-US');
    printLine();
    printLine(
      `${pad('table', w)}  ${pad('result', 10)}  ${pad('schema', 6)}  ${pad('rows src', 11, true)}  ${pad('rows dst', 11, true)}  ${pad('missing', 8, true)}  ${pad('extra', 8, true)}  ${pad('diff', 8, true)}  ${pad('time', 7, true)}`,
    );
    for (const t of tables) {
      printLine(
        `${pad(t.table, w)}  ${pad(t.result, 10)}  ${pad(t.structureEqual ? 'equal' : 'DIFF', 6)}  ${pad(num(t.rowsSource), 11, true)}  ${pad(num(t.rowsTarget), 11, true)}  ${pad(num(t.missing), 8, true)}  ${pad(num(t.extra), 8, true)}  ${pad(num(t.different), 8, true)}  ${pad(formatDuration(t.ms), 7, true)}${t.note ? `  ${t.note}` : ''}`,
      );
    }
  }
  const shown: Finding[] = result.findings.slice(0, show);
  if (shown.length > 0) {
    printLine();
    for (const f of shown)
      printLine(redact(`${f.severity === 'warning' ? 'warning' : f.kind}: ${f.object}: ${f.message}`));
    const more = result.findings.length - shown.length + result.findingsOmitted;
    if (more > 0) printLine(`… and ${more} more (use --json or --fix-sql for all)`);
  }
  const files = (result.evidence['fixSqlFiles'] as string[] | undefined) ?? [];
  if (files.length > 0) printLine(`\nrepair SQL written (not run): ${files.join(', ')}`);
  printLine();
  printLine(`${result.status.toUpperCase()}: ${result.summary} in ${formatDuration(result.durationMs)}`);
}
