import { UsageError } from '../../shared/errors.js';
import type { CheckContext, CheckResult, CheckStatus, CheckTarget, Checker, Finding } from '../types.js';
import { buildResult, FindingLog, statusOf } from '../result.js';
import { selectDatabase, selectTable } from './filters.js';
import { FixSqlWriter } from './fix-sql.js';
import { mysqlOptionsSchema, type MysqlOptions } from './options.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';
import {
  compareGtids,
  readPrimaryPosition,
  readReplicaThreads,
  readServerInfo,
  waitForReplicaCatchUp,
  type GtidComparison,
  type ReplicaThreads,
  type ServerInfo,
} from './replication.js';
import { chooseHashAlgorithm, encodeKey, formatKey, type HashAlgorithm } from './row-sql.js';
import {
  chooseRowKey,
  compareDatabaseObjects,
  compareTableSchema,
  listDatabases,
  readSchema,
  type SchemaSnapshot,
  type TableSchema,
} from './schema.js';
import { ConnectionLostError, MysqlQueryError, onBothSides, openSession, type Session } from './session.js';
import { recheckKeys, scanTable, type RowDiff, type TablePlan } from './table-scan.js';
import { parseWindowBound, windowPredicate } from './window.js';

/** One row of the per-table summary (evidence.tables). */
export interface TableSummary {
  table: string;
  result: CheckStatus;
  structureEqual: boolean;
  key: string | null;
  rowsSource: number;
  rowsTarget: number;
  missing: number;
  extra: number;
  different: number;
  chunks: number;
  ms: number;
  note?: string;
}

/** Differing keys held per table for the lag re-check; beyond this they are reported as found. */
const RECHECK_LIMIT = 10_000;

export const mysqlChecker: Checker<MysqlOptions> = {
  kind: 'mysql',
  optionsSchema: mysqlOptionsSchema,
  run: runMysqlCheck,
};

export async function runMysqlCheck(
  target: CheckTarget,
  options: MysqlOptions,
  ctx: CheckContext,
): Promise<CheckResult> {
  if (target.kind !== 'mysql')
    throw new UsageError(`the mysql checker cannot compare a ${target.kind} resource`);
  const started = Date.now();
  const log = new FindingLog(options.maxFindings, ctx);
  const counts: Record<string, number> = {
    tables: 0,
    rowsSource: 0,
    rowsTarget: 0,
    missing: 0,
    extra: 0,
    different: 0,
    schemaDifferences: 0,
    missingTransactions: 0,
    errantTransactions: 0,
    unverified: 0,
  };
  const addFinding = (f: Finding) => log.add(f);

  const sessions: Session[] = [];
  /** Opens one session per side; if either fails, the other is closed too (no dangling socket). */
  const openBoth = async (): Promise<[Session, Session]> => {
    const [a, b] = await Promise.allSettled([
      openSession(target.source, 'source', { signal: ctx.signal }),
      openSession(target.target, 'target', { signal: ctx.signal }),
    ]);
    if (a.status === 'fulfilled') sessions.push(a.value);
    if (b.status === 'fulfilled') sessions.push(b.value);
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
    return [a.value, b.value];
  };
  const fix = options.fixSqlDir ? { dir: options.fixSqlDir } : undefined;
  let fixWriter: FixSqlWriter | undefined;
  try {
    const [source, replica] = await openBoth();
    const [srcInfo, dstInfo] = await onBothSides(readServerInfo(source), readServerInfo(replica));
    if (srcInfo.serverId === dstInfo.serverId) {
      throw new UsageError(`--source and --target are the same server (server_id ${srcInfo.serverId})`, {
        hint: 'give the primary as --source and its DR replica as --target',
      });
    }
    // Catch-up first: capture the primary's position and let the replica reach it, so that lag
    // is not reported as loss.
    ctx.progress({ phase: 'gtid', message: 'reading replication state' });
    const threadsBefore = await readReplicaThreads(replica, dstInfo);
    const startPosition = await readPrimaryPosition(source, srcInfo);
    const waitStarted = Date.now();
    ctx.progress({
      phase: 'catch-up',
      message: `waiting up to ${options.waitMs} ms for the replica to reach ${startPosition}`,
    });
    const caughtUp = await waitForReplicaCatchUp(replica, dstInfo, startPosition, options.waitMs);
    const waitedMs = Date.now() - waitStarted;
    const threads = await readReplicaThreads(replica, dstInfo);
    const gtid = await compareGtids(source, replica, srcInfo, startPosition);
    if (options.gtid) reportGtid(gtid, threads, caughtUp, options.waitMs, addFinding, counts);

    // Databases and tables.
    const filter = { databases: options.databases, tables: options.tables, exclude: options.exclude };
    if (!options.databases?.length)
      await onBothSides(requireGlobalSelect(source), requireGlobalSelect(replica));
    const [srcDbs, dstDbs] = await onBothSides(listDatabases(source), listDatabases(replica));
    const dbs = [...new Set([...srcDbs, ...dstDbs])].filter((d) => selectDatabase(filter, d)).sort();
    if (options.databases && options.databases.length > 0 && dbs.length === 0) {
      throw new UsageError(`--databases ${options.databases.join(',')} matches no database`, {
        hint: `databases on the source: ${srcDbs.join(', ') || '(none)'}`,
      });
    }
    const [srcSchema, dstSchema] = await onBothSides(readSchema(source, dbs), readSchema(replica, dbs));
    requireViewDefinitions(srcSchema, source);
    requireViewDefinitions(dstSchema, replica);
    const selected = (s: SchemaSnapshot) =>
      [...s.tables.values()].filter((t) => selectTable(filter, t.db, t.name));
    const srcTables = selected(srcSchema);
    const dstTables = selected(dstSchema);
    if (
      srcTables.length === 0 &&
      dstTables.length === 0 &&
      ((options.tables?.length ?? 0) > 0 || (options.databases?.length ?? 0) > 0)
    ) {
      throw new UsageError(`the table filter matches no table (${describeFilter(options)})`, {
        hint: 'globs: --tables accounts,bank.pay* --exclude "*.tmp_*"; a glob with a dot matches db.table',
      });
    }
    const summaries: TableSummary[] = [];
    const structureEqual = new Map<string, boolean>();
    const schemaDiff = (object: string, message: string) => {
      counts['schemaDifferences']!++;
      addFinding({ kind: 'schema', severity: 'difference', object, message });
    };
    const dstByName = new Map(dstTables.map((t) => [`${t.db}.${t.name}`, t]));
    for (const t of srcTables) {
      const name = `${t.db}.${t.name}`;
      const d = dstByName.get(name);
      if (!d) {
        schemaDiff(name, 'table missing on target');
        summaries.push(emptySummary(name, 'different', 'table missing on target'));
        continue;
      }
      const diffs = options.schema ? compareTableSchema(t, d) : [];
      for (const x of diffs) schemaDiff(x.object, x.message);
      structureEqual.set(name, diffs.length === 0);
    }
    for (const d of dstTables) {
      const name = `${d.db}.${d.name}`;
      if (!srcSchema.tables.has(name)) {
        schemaDiff(name, 'table extra on target');
        summaries.push(emptySummary(name, 'different', 'table extra on target'));
      }
    }
    if (options.schema) {
      for (const s of [source, replica]) {
        if (!(await hasGlobalPrivilege(s, 'TRIGGER'))) {
          addFinding({
            kind: 'triggers-not-visible',
            severity: 'warning',
            object: s.side,
            message: `triggers not compared on the ${s.side}: MariaDB/MySQL show trigger definitions only to users with the TRIGGER privilege`,
            details: { hint: 'GRANT TRIGGER ON *.* to the checker user to compare triggers too' },
          });
        }
      }
      for (const db of dbs) {
        if (!srcDbs.includes(db)) schemaDiff(db, 'database missing on source');
        else if (!dstDbs.includes(db)) schemaDiff(db, 'database missing on target');
        else
          for (const x of compareDatabaseObjects(db, srcSchema.objects.get(db)!, dstSchema.objects.get(db)!))
            schemaDiff(x.object, x.message);
      }
    }

    // Rows.
    const algo = chooseHashAlgorithm(srcInfo.flavor, srcInfo.version, options.hash);
    const now = new Date();
    const since = options.since === undefined ? undefined : parseWindowBound(options.since, '--since', now);
    const until = options.until === undefined ? undefined : parseWindowBound(options.until, '--until', now);
    const pairs = srcTables
      .filter((t) => dstByName.has(`${t.db}.${t.name}`))
      .map((t) => [t, dstByName.get(`${t.db}.${t.name}`)!] as const);
    counts['tables'] = srcTables.length;
    if (fix) fixWriter = new FixSqlWriter(fix.dir, replica.display);
    if (options.rows === 'full') {
      const limiter = createRateLimiter(options.maxRowsPerSecond);
      // Biggest tables first: the last table to start is a small one, so the workers end together.
      const queue = [...pairs].sort((x, y) => y[0].estimatedRows - x[0].estimatedRows);
      const worker = async () => {
        const ws = await openBoth();
        for (;;) {
          const next = queue.shift();
          if (!next) return;
          const [s, d] = next;
          const plan = buildPlan(s, d, algo, options, since, until);
          const summary = await compareTableRows(plan, s, ws[0], ws[1], {
            source,
            replica,
            srcInfo,
            dstInfo,
            startPosition,
            options,
            limiter,
            ctx,
            addFinding,
            fixWriter,
          });
          summary.structureEqual = structureEqual.get(summary.table) ?? false;
          summaries.push(summary);
          counts['rowsSource']! += summary.rowsSource;
          counts['rowsTarget']! += summary.rowsTarget;
          counts['missing']! += summary.missing;
          counts['extra']! += summary.extra;
          counts['different']! += summary.different;
          if (summary.result === 'unverified') counts['unverified']!++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.threads, Math.max(1, pairs.length)) }, worker));
    } else {
      for (const [s] of pairs) {
        const name = `${s.db}.${s.name}`;
        summaries.push({
          ...emptySummary(name, 'consistent', 'rows not compared (rows: none)'),
          structureEqual: structureEqual.get(name) ?? false,
        });
      }
    }
    summaries.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
    if (
      options.column &&
      options.rows === 'full' &&
      counts['rowsSource'] === 0 &&
      counts['rowsTarget'] === 0
    ) {
      addFinding({
        kind: 'empty-window',
        severity: 'warning',
        object: options.column,
        message: `the window ${options.column} >= ${since ?? '-∞'} and < ${until ?? '+∞'} holds 0 rows on both sides: no row was compared`,
        details: { since: since ?? null, until: until ?? null },
      });
    }
    await fixWriter?.close();

    const status = statusOf(log);
    return buildResult({
      checker: 'mysql',
      status,
      summary: summarize(status, counts, summaries.length),
      counts,
      log,
      evidence: {
        source: { display: source.display, ...srcInfo },
        target: { display: replica.display, ...dstInfo },
        replication: { before: threadsBefore, after: threads },
        catchUp: { position: startPosition, caughtUp, waitedMs, waitLimitMs: options.waitMs },
        gtid,
        hash: describeHash(algo),
        window: options.column
          ? { column: options.column, since, until, fields: options.fields ?? null }
          : null,
        tables: summaries,
        fixSqlFiles: fixWriter?.files ?? [],
      },
      startedAt: started,
    });
  } catch (err) {
    // Whatever was waiting when the abort came (a query, a rate-limit sleep), report the abort itself.
    if (ctx.signal.aborted && ctx.signal.reason instanceof Error) throw ctx.signal.reason;
    throw err;
  } finally {
    await fixWriter?.close().catch(() => undefined);
    await Promise.all(sessions.map((s) => s.close()));
  }
}

function describeFilter(o: MysqlOptions): string {
  const parts: string[] = [];
  if (o.databases?.length) parts.push(`--databases ${o.databases.join(',')}`);
  if (o.tables?.length) parts.push(`--tables ${o.tables.join(',')}`);
  if (o.exclude?.length) parts.push(`--exclude ${o.exclude.join(',')}`);
  return parts.join(' ');
}

function describeHash(algo: HashAlgorithm): string {
  const values =
    'exact values (stored bytes, shortest round-trip doubles), length-suffixed and NULL-flagged; BLOB/TEXT/JSON by their own digest';
  if (algo === 'sha256')
    return `per row: SHA-256 of ${values}; per chunk: COUNT and SHA-256 of the sorted row digests (cryptographic)`;
  const row = algo === 'crc32x2' ? '(CRC32 << 32 | CRC32C)' : 'first 64 bits of MD5';
  return `per row: ${row} of ${values}; per chunk: COUNT and SUM (catches accidental corruption with high probability; not proof against a crafted change)`;
}

function emptySummary(table: string, result: CheckStatus, note: string): TableSummary {
  return {
    table,
    result,
    structureEqual: false,
    key: null,
    rowsSource: 0,
    rowsTarget: 0,
    missing: 0,
    extra: 0,
    different: 0,
    chunks: 0,
    ms: 0,
    note,
  };
}

async function hasGlobalPrivilege(session: Session, privilege: string): Promise<boolean> {
  const rows = await session.query(
    'SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = ?',
    [privilege],
  );
  return rows.length > 0;
}

/** Without SELECT ON *.*, databases the user cannot read are invisible, and would pass unseen. */
async function requireGlobalSelect(session: Session): Promise<void> {
  const rows = await session.query<{ p: string }>(
    "SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'SELECT'",
  );
  if (rows.length === 0) {
    throw new UsageError(
      `${session.side} ${session.display}: the user lacks the global SELECT privilege, so databases it cannot read would be skipped unseen`,
      {
        hint: 'GRANT SELECT, SHOW VIEW ON *.* TO the checker user, or name the databases to compare with --databases',
      },
    );
  }
}

function requireViewDefinitions(s: SchemaSnapshot, session: Session): void {
  for (const [db, o] of s.objects) {
    for (const [name, def] of o.views) {
      if (def.startsWith(' [')) {
        throw new UsageError(
          `${session.side} ${session.display}: cannot read the definition of view ${db}.${name}: missing the SHOW VIEW privilege`,
          {
            hint: 'GRANT SHOW VIEW ON *.* TO the checker user (it also needs SELECT and REPLICATION CLIENT / SLAVE MONITOR)',
          },
        );
      }
    }
  }
}

function reportGtid(
  gtid: GtidComparison,
  threads: ReplicaThreads,
  caughtUp: boolean,
  waitMs: number,
  add: (f: Finding) => void,
  counts: Record<string, number>,
): void {
  counts['missingTransactions'] = gtid.missingTotal;
  counts['errantTransactions'] = gtid.errantTotal;
  for (const [where, n] of Object.entries(gtid.missing)) {
    add({
      kind: 'missing-gtid',
      severity: 'difference',
      object: where,
      message: `replica lacks ${n} transaction${n === 1 ? '' : 's'} of the primary's position ${gtid.primaryPosition} (replica at ${gtid.replicaPosition || 'nothing'})${caughtUp ? '' : `; it did not catch up within ${waitMs} ms`}`,
      details: { missing: n, primary: gtid.primaryPosition, replica: gtid.replicaPosition },
    });
  }
  for (const e of gtid.errant) {
    add({
      kind: 'errant-gtid',
      severity: 'difference',
      object: 'replica',
      message: `errant transaction${gtid.flavor === 'mariadb' ? ` (last of its domain-server: ${e})` : `s ${e}`} on the replica, not on the primary`,
      details: { gtid: e },
    });
  }
  if (threads.ioRunning !== 'Yes' || threads.sqlRunning !== 'Yes') {
    add({
      kind: 'replication',
      severity: 'warning',
      object: 'replica',
      message: `replication threads: IO ${threads.ioRunning || '?'}, SQL ${threads.sqlRunning || '?'}${threads.lastIoError ? `; IO error: ${threads.lastIoError}` : ''}${threads.lastSqlError ? `; SQL error: ${threads.lastSqlError}` : ''}`,
      details: { ...threads },
    });
  }
}

function buildPlan(
  s: TableSchema,
  d: TableSchema,
  algo: HashAlgorithm,
  o: MysqlOptions,
  since: string | undefined,
  until: string | undefined,
): TablePlan {
  const dstCols = new Set(d.columns.map((c) => c.name));
  let columns = s.columns.filter((c) => dstCols.has(c.name));
  const rowKey = chooseRowKey(s);
  const keyCols = rowKey ? rowKey.columns.map((n) => s.columns.find((c) => c.name === n)!) : undefined;
  let filter = '';
  if (o.column) {
    if (!s.columns.some((c) => c.name === o.column)) {
      throw new UsageError(`--column ${o.column} is not a column of ${s.db}.${s.name}`, {
        hint: 'pick tables that have the window column with --tables',
      });
    }
    filter = windowPredicate(o.column, since, until);
    if (o.fields && o.fields.length > 0) {
      for (const f of o.fields) {
        if (!s.columns.some((c) => c.name === f)) {
          throw new UsageError(`--fields ${f} is not a column of ${s.db}.${s.name}`, {
            hint: 'list columns that exist, e.g. --fields balance,status',
          });
        }
      }
      const keep = new Set([...(rowKey?.columns ?? []), ...o.fields]);
      columns = columns.filter((c) => keep.has(c.name));
    }
  }
  return {
    db: s.db,
    table: s.name,
    key: keyCols?.map((c) => ({ name: c.name, dataType: c.dataType, charset: c.charset })),
    keyIndex: rowKey?.index,
    estimatedRows: s.estimatedRows,
    columns,
    filter,
    algo,
  };
}

interface TableRunContext {
  source: Session;
  replica: Session;
  srcInfo: ServerInfo;
  dstInfo: ServerInfo;
  startPosition: string;
  options: MysqlOptions;
  limiter: RateLimiter;
  ctx: CheckContext;
  addFinding: (f: Finding) => void;
  fixWriter: FixSqlWriter | undefined;
}

async function compareTableRows(
  plan: TablePlan,
  schema: TableSchema,
  src: Session,
  dst: Session,
  rc: TableRunContext,
): Promise<TableSummary> {
  const name = `${plan.db}.${plan.table}`;
  const t0 = Date.now();
  const diffs: RowDiff[] = [];
  let overflow = false;
  const summary: TableSummary = {
    ...emptySummary(name, 'consistent', ''),
    key: plan.key ? `${plan.keyIndex}(${plan.key.map((k) => k.name).join(',')})` : null,
  };
  delete summary.note;
  const emit = (d: RowDiff) => {
    const keyText = formatKey(plan.key ?? [], d.key);
    if (d.kind === 'unverified') {
      rc.addFinding({
        kind: 'unverified',
        severity: 'unverified',
        object: name,
        message: `${keyText}: not compared: ${d.reason ?? 'unknown reason'}`,
        details: { key: keyText },
      });
      return;
    }
    const what =
      d.kind === 'missing'
        ? 'missing on target'
        : d.kind === 'extra'
          ? 'extra on target'
          : `different on target: ${(d.columns ?? []).join(', ')}`;
    rc.addFinding({
      kind: d.kind,
      severity: 'difference',
      object: name,
      message: `${keyText}: ${what}`,
      details: { key: keyText, ...(d.columns ? { columns: d.columns } : {}) },
    });
    rc.fixWriter?.write(plan, d);
  };
  try {
    rc.ctx.progress({ phase: 'rows', object: name, done: 0, total: schema.estimatedRows });
    const stats = await scanTable(plan, src, dst, {
      chunkTimeMs: rc.options.chunkTimeMs,
      limiter: rc.limiter,
      signal: rc.ctx.signal,
      wantSourceRows: rc.fixWriter !== undefined,
      onDiff: (d) => {
        if (diffs.length < RECHECK_LIMIT) diffs.push(d);
        else {
          if (!overflow) for (const x of diffs.splice(0)) emit(x);
          overflow = true;
          emit(d);
        }
      },
      onProgress: (done) =>
        rc.ctx.progress({ phase: 'rows', object: name, done, total: Math.max(done, schema.estimatedRows) }),
    });
    Object.assign(summary, {
      rowsSource: stats.rowsSource,
      rowsTarget: stats.rowsTarget,
      chunks: stats.chunks,
    });
    let kept = diffs;
    if (!overflow && diffs.length > 0) kept = await recheckIfPrimaryMoved(plan, src, dst, diffs, rc);
    const counted = overflow
      ? {
          missing: stats.missing,
          extra: stats.extra,
          different: stats.different,
          unverified: stats.unverified,
        }
      : countKinds(kept);
    for (const d of overflow ? [] : kept) emit(d);
    const { unverified: unverifiedRows, ...rowCounts } = counted;
    Object.assign(summary, rowCounts);
    if (unverifiedRows > 0) {
      summary.result = 'unverified';
      summary.note = `${unverifiedRows} row(s) could not be compared`;
    }
    if (!plan.key) {
      if (schema.kind === 'sequence') summary.note = 'sequence: its state row compared whole';
      else {
        summary.note = 'no primary key or unique NOT NULL key: compared whole, rows cannot be located';
        rc.addFinding({ kind: 'no-key', severity: 'warning', object: name, message: summary.note });
      }
      if (stats.mismatchedChunks > 0) {
        rc.addFinding({
          kind: 'different',
          severity: 'difference',
          object: name,
          message: `table contents differ (${stats.rowsSource} rows on source, ${stats.rowsTarget} on target); no key to locate rows`,
        });
        summary.result = 'different';
      }
    }
    if (summary.missing + summary.extra + summary.different > 0) summary.result = 'different';
  } catch (err) {
    if (rc.ctx.signal.aborted || isPrivilegeError(err)) throw err;
    // A lost server is not a verdict about this table: nothing more can be judged (exit 2).
    if (err instanceof ConnectionLostError) throw err.withContext(name);
    summary.result = 'unverified';
    summary.note = err instanceof Error ? err.message : String(err);
    rc.addFinding({
      kind: 'unverified',
      severity: 'unverified',
      object: name,
      message: `rows not compared: ${summary.note}`,
    });
  }
  summary.ms = Date.now() - t0;
  return summary;
}

function isPrivilegeError(err: unknown): boolean {
  return err instanceof MysqlQueryError && /ACCESS_DENIED/.test(err.code ?? '');
}

function countKinds(diffs: RowDiff[]): {
  missing: number;
  extra: number;
  different: number;
  unverified: number;
} {
  const c = { missing: 0, extra: 0, different: 0, unverified: 0 };
  for (const d of diffs) c[d.kind]++;
  return c;
}

/**
 * On a live primary, rows written after the captured position differ until the replica applies
 * them. If the primary moved, wait for the replica to reach its new position and re-read the
 * differing keys; only the ones that still differ are reported.
 */
async function recheckIfPrimaryMoved(
  plan: TablePlan,
  src: Session,
  dst: Session,
  diffs: RowDiff[],
  rc: TableRunContext,
): Promise<RowDiff[]> {
  const now = await readPrimaryPosition(src, rc.srcInfo);
  if (now === rc.startPosition) return diffs;
  await waitForReplicaCatchUp(dst, rc.dstInfo, now, rc.options.waitMs);
  const still = await recheckKeys(
    plan,
    src,
    dst,
    diffs.map((d) => d.key),
  );
  return diffs.filter((d) => still.has(encodeKey(d.key)));
}

function summarize(status: CheckStatus, c: Record<string, number>, tables: number): string {
  const rows = `${tables} table${tables === 1 ? '' : 's'}, ${c['rowsSource']!.toLocaleString('en-US')} rows`;
  if (status === 'consistent') return `${rows}: consistent`;
  const parts: string[] = [];
  if (c['missingTransactions']) parts.push(`${c['missingTransactions']} missing transactions`);
  if (c['errantTransactions']) parts.push(`${c['errantTransactions']} errant transactions`);
  if (c['schemaDifferences']) parts.push(`${c['schemaDifferences']} schema differences`);
  if (c['missing']) parts.push(`${c['missing']} rows missing`);
  if (c['extra']) parts.push(`${c['extra']} rows extra`);
  if (c['different']) parts.push(`${c['different']} rows different`);
  if (c['unverified']) parts.push(`${c['unverified']} tables unverified`);
  return `${rows}: ${status}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}
