import { closeSync, openSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { DrctlError, ExitCode, UsageError } from '../../errors.js';
import { CSV_HEADER, entryCsvRow, reconcileLines } from '../../reconcile/render.js';
import { runReconcile } from '../../reconcile/run.js';
import { resolveSpec, type ReconcileInput, type RemoteLogResource } from '../../reconcile/spec.js';
import { findPlaceholders } from '../../runbook/interpolate.js';
import { loadRunbook } from '../../runbook/load.js';
import { registerCredentials } from '../../util/redact.js';
import { abortOnSigint, createProgressLine } from '../check-common.js';
import { printJson, printLine } from '../output.js';

interface ReconcileFlags {
  log?: string;
  logTable?: string;
  ledger?: string;
  ledgerTable?: string;
  key?: string;
  account?: string;
  amount?: string;
  compare?: string[];
  currency?: string;
  timeColumn?: string;
  tickColumn?: string;
  since?: string;
  blacklist?: string[];
  batch?: string;
  resource?: string;
  file?: string;
  dryRun?: boolean;
  json?: boolean;
  csv?: string;
  show: string;
}

const collect = (value: string, prev: string[] | undefined) => [...(prev ?? []), value];

const FLAG: Record<string, string> = {
  log: '--log',
  logTable: '--log-table',
  ledger: '--ledger',
  ledgerTable: '--ledger-table',
  key: '--key',
  account: '--account',
  amount: '--amount',
  compare: '--compare',
  currency: '--currency',
  time: '--time-column',
  tick: '--tick-column',
  since: '--since',
  blacklist: '--blacklist',
  batch: '--batch',
};

/** `drctl reconcile`: the remote log of payments against the DR ledger; blacklists funds in transit. */
export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description(
      'reconcile the remote log against the DR ledger and blacklist the accounts with funds in transit (exit 0 all reconciled, 1 in transit, 2 could not run)',
    )
    .option('--log <dsn>', 'mysql://user:password@host:3306 of the remote log store (read only)')
    .option('--log-table <db.table>', 'the remote log table')
    .option('--ledger <dsn>', 'mysql://user:password@host:3306 of the DR ledger (read only)')
    .option('--ledger-table <db.table>', 'the ledger table')
    .option('--key <column>', 'transaction key, log=ledger when the names differ (default transaction_id)')
    .option('--account <column>', 'account column (default account)')
    .option('--amount <column>', 'amount column (default amount)')
    .option(
      '--compare <columns...>',
      'columns that must be equal on the ledger (default account,amount)',
      collect,
    )
    .option('--currency <column>', 'currency column of the log: totals per currency')
    .option('--since <time|duration>', 'window: entries logged since this time (or this long ago)')
    .option('--time-column <column>', 'log time column --since applies to (default log_time)')
    .option(
      '--tick-column <column>',
      'column the tick-off job fills; without --since, the entries where it is NULL (default reconciled_time, if the log has it; else every entry)',
    )
    .option(
      '--blacklist <target>',
      'redis://[:pw@]host:port[/db]#<set-key> and/or mysql://…#<db.table> (repeatable)',
      collect,
    )
    .option('--batch <n>', 'log entries per batch (default 2000)')
    .option('--resource <name>', 'take everything from this remote-log resource (with -f)')
    .option('-f, --file <runbook>', 'runbook file for --resource')
    .option('--dry-run', 'show the blacklist changes without writing them')
    .option('--json', 'print one JSON document')
    .option('--csv <file>', 'write every entry in transit to this CSV file')
    .option('--show <n>', 'accounts to print', '50')
    .addHelpText(
      'after',
      `
A log entry is reconciled when the ledger has its key with equal compared columns; otherwise
it is in transit (missing, or different). Values compare as the servers print them: DECIMAL
as text, never as a float. Read-only on the log and the ledger (SELECT on both tables is
enough); writes only to the blacklist (Redis: SADD/SREM/HSET/HDEL on <key> and <key>:reason;
MySQL: SELECT, INSERT, UPDATE, DELETE on the table, CREATE the first time). See docs/reconcile.md.

Example:
  drctl reconcile --log mysql://recon:…@log-site:3306 --log-table bank_log.remote_log \\
    --ledger mysql://recon:…@dr-db:3306 --ledger-table core.transactions --currency currency \\
    --blacklist 'redis://:…@dr-redis:6379/0#bcf.blacklist.accounts'`,
    )
    .action(async (flags: ReconcileFlags) => {
      process.exitCode = await reconcileCommand(flags);
    });
}

async function reconcileCommand(flags: ReconcileFlags): Promise<number> {
  for (const v of [flags.log, flags.ledger, ...(flags.blacklist ?? [])]) if (v) registerCredentials(v);
  const show = Number(flags.show);
  if (!Number.isInteger(show) || show < 0)
    throw new UsageError(`--show: expected a whole number, got "${flags.show}"`);
  const spec = await specFromFlags(flags);
  const csv = flags.csv === undefined ? undefined : openCsv(flags.csv);
  const sig = abortOnSigint();
  const progress = createProgressLine(flags.json !== true && process.stderr.isTTY === true);
  const alive = setInterval(() => undefined, 60_000);
  try {
    const report = await runReconcile(spec, {
      dryRun: flags.dryRun === true,
      signal: sig.signal,
      ...(csv ? { onEntry: (e) => csv.write(entryCsvRow(e)) } : {}),
      progress: (done) => progress.update({ phase: 'reconcile', done }),
    });
    progress.done();
    if (flags.json) printJson(report);
    else for (const line of reconcileLines(report, show)) printLine(line);
    return report.status === 'reconciled' ? ExitCode.ok : ExitCode.failed;
  } catch (err) {
    if (sig.signal.aborted)
      throw new DrctlError('interrupted: nothing was written to the blacklist', {
        exitCode: ExitCode.interrupted,
      });
    throw err;
  } finally {
    clearInterval(alive);
    progress.done();
    sig.dispose();
    csv?.close();
  }
}

async function specFromFlags(flags: ReconcileFlags) {
  const batch = flags.batch === undefined ? undefined : Number(flags.batch);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 50_000))
    throw new UsageError(`--batch: expected a whole number from 1 to 50000, got "${flags.batch}"`);
  const fromFlags: ReconcileInput = {
    log: flags.log,
    logTable: flags.logTable,
    ledger: flags.ledger,
    ledgerTable: flags.ledgerTable,
    key: flags.key,
    account: flags.account,
    amount: flags.amount,
    compare: flags.compare,
    currency: flags.currency,
    time: flags.timeColumn,
    tick: flags.tickColumn,
    since: flags.since,
    blacklist: flags.blacklist,
    batch,
  };
  if (flags.resource === undefined && flags.file === undefined)
    return resolveSpec(fromFlags, (f) => FLAG[f] ?? f);
  if (flags.resource === undefined || flags.file === undefined) {
    throw new UsageError('--resource and -f <runbook> go together', {
      hint: 'drctl reconcile --resource <name> -f runbook.yaml',
    });
  }
  const res = await remoteLogFromRunbook(flags.file, flags.resource);
  // Flags given beside --resource override the resource's fields (e.g. --since, --dry-run).
  const merged: ReconcileInput = { ...res };
  for (const [k, v] of Object.entries(fromFlags))
    if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return resolveSpec(merged, (f) =>
    f in fromFlags && (fromFlags as Record<string, unknown>)[f] !== undefined
      ? (FLAG[f] ?? f)
      : `resources.${flags.resource}.${f}`,
  );
}

export async function remoteLogFromRunbook(file: string, name: string): Promise<RemoteLogResource> {
  await Promise.resolve();
  const rb = loadRunbook(file, { lenientSecrets: true });
  const res = rb.resources[name];
  if (!res) {
    const names = Object.entries(rb.resources)
      .filter(([, r]) => r.kind === 'remote-log')
      .map(([n]) => n);
    throw new UsageError(`resource "${name}" is not declared in ${file}`, {
      hint: names.length
        ? `remote-log resources there: ${names.join(', ')}`
        : 'declare one with kind: remote-log',
    });
  }
  if (res.kind !== 'remote-log')
    throw new UsageError(`resource ${name} is a ${res.kind} resource, not remote-log`);
  const [missing] = findPlaceholders(res);
  if (missing) throw new UsageError(`resource "${name}" needs ${missing}, which is not set`);
  const { kind: _kind, description: _d, concurrency: _c, owner: _o, ...fields } = res;
  return fields;
}

function openCsv(path: string): { write(row: string): void; close(): void } {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new UsageError(`--csv: cannot write ${path}: ${(err as Error).message}`);
  }
  // Rows are buffered a thousand at a time: the file grows while the scan runs, memory does not.
  let buffer: string[] = [CSV_HEADER.join(',')];
  const flush = () => {
    if (buffer.length) writeSync(fd, buffer.join('\r\n') + '\r\n');
    buffer = [];
  };
  return {
    write(row) {
      buffer.push(row);
      if (buffer.length >= 1000) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}
