import mysql from 'mysql2/promise';
import { connectionOptions, parseMysqlDsn, type MysqlDsn } from '../util/dsn.js';
import { redact } from '../util/redact.js';
import { findResource, matchesExpected } from './resource.js';
import { abortReason } from './run.js';
import { isTransactional, splitStatements } from '../util/sql-statements.js';
import type { StepContext, StepHandler, StepOutcome } from './types.js';

type SqlAction = Parameters<StepHandler<'sql'>['execute']>[0];

/** How long to wait for a killed query to return before dropping the connection. */
const KILL_WAIT_MS = 5_000;

export function statementsOf(action: SqlAction): string[] {
  const s = action.sql.statements;
  return typeof s === 'string' ? [s] : s;
}

/** Statements that hold more than one SQL statement (a string with `;` between statements). */
export function multiStatementItems(action: SqlAction): { index: number; count: number }[] {
  return statementsOf(action).flatMap((s, index) => {
    const count = splitStatements(s).length;
    return count > 1 ? [{ index, count }] : [];
  });
}

/** Thrown inside the handler when the step's signal fires: the query was killed on the server. */
class AbortedError extends Error {}

/**
 * SQL statements through mysql2 against one side of a mysql resource (default the primary).
 *
 * Atomicity: when every statement can run in a transaction (see isTransactional) they run in one,
 * and `expect` is checked before COMMIT, so the step either commits all of them or none. Otherwise
 * each statement commits on its own (autocommit) and is journaled as it commits; a failure after a
 * statement committed is not retried (the retry would repeat it) and resume asks for a decision.
 *
 * Timeout and abort: the running query is killed on the server (`KILL QUERY` from a second
 * connection), an open transaction is rolled back, and the attempt fails even if a result arrives
 * after the deadline.
 */
export const sqlHandler: StepHandler<'sql'> = {
  describe(action) {
    const side = action.sql.on ?? 'primary';
    const expect = action.sql.expect === undefined ? '' : ` (expect ${JSON.stringify(action.sql.expect)})`;
    return redact(`sql on ${action.sql.resource} ${side}: ${statementsOf(action).join('; ')}${expect}`);
  },
  async execute(action, ctx): Promise<StepOutcome> {
    const found = findResource(ctx.resources, action.sql.resource, 'mysql');
    if ('error' in found) return { ok: false, error: found.error, retryable: false };
    const side = action.sql.on ?? 'primary';
    let dsn: MysqlDsn;
    try {
      dsn = parseMysqlDsn(found.resource[side], `resources.${action.sql.resource}.${side}`);
    } catch (err) {
      return { ok: false, error: redact((err as Error).message), retryable: false };
    }
    const multi = multiStatementItems(action);
    if (multi.length > 0) {
      const m = multi[0]!;
      return {
        ok: false,
        retryable: false,
        error: `statements[${m.index}] holds ${m.count} SQL statements; give one statement per list item`,
      };
    }
    const statements = statementsOf(action);
    const session = new SqlSession(dsn, ctx);
    try {
      await session.connect();
      return statements.every(isTransactional)
        ? await runInTransaction(session, statements, action, dsn, ctx)
        : await runEachCommitted(session, statements, action, dsn, ctx);
    } catch (err) {
      const why = ctx.signal.aborted ? abortReason(ctx.signal) : (err as Error).message;
      return { ok: false, error: redact(`sql on ${dsn.display} failed: ${why}`) };
    } finally {
      await session.close();
    }
  },
};

async function runInTransaction(
  session: SqlSession,
  statements: string[],
  action: SqlAction,
  dsn: MysqlDsn,
  ctx: StepContext,
): Promise<StepOutcome> {
  const multi = statements.length > 1;
  await session.query('START TRANSACTION');
  let last: unknown;
  for (let i = 0; i < statements.length; i++) {
    ctx.log(`sql ${dsn.display}: ${statements[i]!}`);
    try {
      last = await session.query(statements[i]!);
    } catch (err) {
      const undone = await session.rollback();
      const why = err instanceof AbortedError ? abortReason(ctx.signal) : (err as Error).message;
      ctx.recordEffect({
        target: 'transaction',
        outcome: undone ? 'rolled-back' : 'unknown',
        detail: redact(
          `statement ${i + 1} of ${statements.length} failed: ${why}; ${undone ? 'nothing was committed' : 'rollback failed, the connection was dropped (the server rolls back)'}`,
        ),
      });
      return {
        ok: false,
        error: redact(
          `sql on ${dsn.display} failed${multi ? ` at statement ${i + 1} of ${statements.length}` : ''}: ${why}${multi ? ' (rolled back: no statement committed)' : ''}`,
        ),
      };
    }
  }
  const mismatch = expectationError(action, last, dsn);
  if (mismatch !== undefined || ctx.signal.aborted) {
    const undone = await session.rollback();
    const why = mismatch ?? abortReason(ctx.signal);
    ctx.recordEffect({
      target: 'transaction',
      outcome: undone ? 'rolled-back' : 'unknown',
      detail: redact(why),
    });
    return { ok: false, error: redact(mismatch ?? `sql on ${dsn.display}: ${why}; rolled back`) };
  }
  try {
    await session.query('COMMIT');
  } catch (err) {
    // Killed or lost during COMMIT: the server may have committed or not.
    const why = err instanceof AbortedError ? abortReason(ctx.signal) : (err as Error).message;
    ctx.recordEffect({ target: 'transaction', outcome: 'unknown', detail: redact(`COMMIT: ${why}`) });
    return {
      ok: false,
      retryable: false,
      error: redact(
        `sql on ${dsn.display}: COMMIT did not complete (${why}); whether it committed is unknown`,
      ),
    };
  }
  if (writes(statements)) {
    ctx.recordEffect({
      target: 'transaction',
      outcome: 'committed',
      detail: `${statements.length} statement${multi ? 's' : ''}`,
    });
  }
  // COMMIT returned after the deadline: the change is there (journaled above), but the step did
  // not finish in time and is not reported as a success.
  if (ctx.signal.aborted) {
    return {
      ok: false,
      retryable: false,
      error: `sql on ${dsn.display}: ${abortReason(ctx.signal)} (COMMIT completed late)`,
    };
  }
  return { ok: true };
}

async function runEachCommitted(
  session: SqlSession,
  statements: string[],
  action: SqlAction,
  dsn: MysqlDsn,
  ctx: StepContext,
): Promise<StepOutcome> {
  let last: unknown;
  const committed: number[] = [];
  for (let i = 0; i < statements.length; i++) {
    const target = `statement ${i + 1}`;
    ctx.log(`sql ${dsn.display}: ${statements[i]!}`);
    try {
      if (ctx.signal.aborted) throw new AbortedError();
      last = await session.query(statements[i]!);
    } catch (err) {
      const aborted = err instanceof AbortedError;
      const why = aborted ? abortReason(ctx.signal) : (err as Error).message;
      ctx.recordEffect({ target, outcome: 'failed', detail: redact(`${statements[i]!}: ${why}`) });
      const done =
        committed.length === 0
          ? 'no statement committed'
          : `statement${committed.length > 1 ? 's' : ''} ${committed.join(', ')} committed and will not be repeated by a retry`;
      return {
        ok: false,
        // Repeating committed statements needs a person's decision (resume --retry-unknown).
        retryable: committed.length === 0,
        error: redact(
          statements.length === 1
            ? `sql on ${dsn.display} failed: ${why}`
            : `sql on ${dsn.display} failed at statement ${i + 1} of ${statements.length}: ${why} (${done})`,
        ),
      };
    }
    committed.push(i + 1);
    ctx.recordEffect({ target, outcome: 'committed', detail: redact(statements[i]!) });
    if (ctx.signal.aborted) {
      return {
        ok: false,
        retryable: false,
        error: redact(
          `sql on ${dsn.display}: ${abortReason(ctx.signal)} after statement ${i + 1} of ${statements.length} committed`,
        ),
      };
    }
  }
  const mismatch = expectationError(action, last, dsn);
  if (mismatch === undefined) return { ok: true };
  // The statements committed before the check: a retry would repeat them.
  return {
    ok: false,
    retryable: false,
    error: redact(
      `${mismatch} (statements ${committed.join(', ')} committed and will not be repeated by a retry)`,
    ),
  };
}

function writes(statements: string[]): boolean {
  return statements.some((s) => !/^\s*(select|show|explain|describe|desc|values|with)\b/i.test(s));
}

function expectationError(action: SqlAction, last: unknown, dsn: MysqlDsn): string | undefined {
  if (action.sql.expect === undefined) return undefined;
  const first = Array.isArray(last) ? (last[0] as Record<string, unknown> | undefined) : undefined;
  const value = first === undefined ? undefined : Object.values(first)[0];
  if (matchesExpected(value, action.sql.expect)) return undefined;
  return `expected ${JSON.stringify(action.sql.expect)}, got ${JSON.stringify(value ?? null)} on ${dsn.display}`;
}

/**
 * One connection plus what it takes to stop its work: on abort, `KILL QUERY <thread id>` from a
 * second connection, then (if the query still does not return) dropping the connection.
 */
class SqlSession {
  private conn: mysql.Connection | undefined;

  constructor(
    private readonly dsn: MysqlDsn,
    private readonly ctx: StepContext,
  ) {}

  async connect(): Promise<void> {
    const pending = mysql.createConnection(connectionOptions(this.dsn));
    try {
      this.conn = await raceAbort(pending, this.ctx.signal);
    } catch (err) {
      // A connection that opens after the abort is closed at once.
      pending.then((c) => c.destroy()).catch(() => undefined);
      throw err;
    }
  }

  /** Runs one statement; on abort kills it on the server and throws AbortedError. */
  async query(sql: string): Promise<unknown> {
    const conn = this.conn!;
    const { signal } = this.ctx;
    if (signal.aborted) throw new AbortedError();
    const running = conn.query(sql).then(([rows]) => rows as unknown);
    let killed: Promise<void> | undefined;
    const onAbort = (): void => {
      killed = this.kill();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const rows = await running;
      if (killed) await killed;
      return rows;
    } catch (err) {
      if (killed) {
        await killed;
        throw new AbortedError();
      }
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Rolls back; false when the connection had to be dropped instead. */
  async rollback(): Promise<boolean> {
    if (!this.conn) return false;
    try {
      await withTimeout(this.conn.query('ROLLBACK'), KILL_WAIT_MS);
      return true;
    } catch {
      this.conn.destroy();
      this.conn = undefined;
      return false;
    }
  }

  async close(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    if (!c) return;
    await withTimeout(c.end(), KILL_WAIT_MS).catch(() => c.destroy());
  }

  private async kill(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    const id = conn.threadId;
    let killer: mysql.Connection | undefined;
    try {
      const opening = mysql.createConnection(connectionOptions(this.dsn));
      killer = await withTimeout(opening, KILL_WAIT_MS).catch((err: unknown) => {
        // A connection that opens after we gave up is closed, not leaked.
        opening.then((c) => c.destroy()).catch(() => undefined);
        throw err;
      });
      await withTimeout(killer.query(`KILL QUERY ${Number(id)}`), KILL_WAIT_MS);
      this.ctx.log(`killed query ${id} on ${this.dsn.display}: ${abortReason(this.ctx.signal)}`);
    } catch (err) {
      this.ctx.log(
        redact(
          `could not kill query ${id} on ${this.dsn.display} (${(err as Error).message}); dropping the connection`,
        ),
      );
      conn.destroy();
      this.conn = undefined;
    } finally {
      await killer?.end().catch(() => killer?.destroy());
    }
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}
