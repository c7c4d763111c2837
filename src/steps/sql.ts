import type { Connection as CoreConnection } from 'mysql2';
import type mysql from 'mysql2/promise';
import { connectionOptions, parseMysqlDsn, type MysqlDsn } from '../util/dsn.js';
import { redact } from '../util/redact.js';
import { findResource, matchesExpected } from './resource.js';
import { abortReason } from './run.js';
import { isTransactional, splitStatements } from '../util/sql-statements.js';
import type { StepContext, StepHandler, StepOutcome } from './types.js';

type SqlAction = Parameters<StepHandler<'sql'>['execute']>[0];

/** How long a ROLLBACK may take before the connection is dropped instead (the server rolls back). */
const KILL_WAIT_MS = 5_000;
/**
 * After an abort: how long opening the kill connection plus KILL QUERY may take, and then how long
 * the killed query may take to return, before the connection is dropped. A frozen server answers
 * neither; an abort must take effect within a second or two.
 */
const ABORT_GRACE_MS = 1_500;

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
      const why = ctx.signal.aborted ? abortedWhy(session, ctx) : (err as Error).message;
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
      const why = err instanceof AbortedError ? abortedWhy(session, ctx) : (err as Error).message;
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
    const why = err instanceof AbortedError ? abortedWhy(session, ctx) : (err as Error).message;
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
      const why = aborted ? abortedWhy(session, ctx) : (err as Error).message;
      // A write the server got but that could not be confirmed killed may still commit.
      const unknown = aborted && session.unconfirmed !== undefined && writes([statements[i]!]);
      ctx.recordEffect({
        target,
        outcome: unknown ? 'unknown' : 'failed',
        detail: redact(`${statements[i]!}: ${why}`),
      });
      const done =
        committed.length === 0
          ? 'no statement committed'
          : `statement${committed.length > 1 ? 's' : ''} ${committed.join(', ')} committed and will not be repeated by a retry`;
      return {
        ok: false,
        // Repeating committed (or maybe committed) statements needs a person's decision.
        retryable: committed.length === 0 && !unknown,
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

/** Why an aborted statement stopped, with what the server may still do when the kill was unconfirmed. */
function abortedWhy(session: SqlSession, ctx: StepContext): string {
  const why = abortReason(ctx.signal);
  return session.unconfirmed === undefined ? why : `${why}; ${session.unconfirmed}`;
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
 * second connection, then (if the kill cannot be confirmed) dropping the connection. Every wait on
 * the server is bounded, so a frozen server (SIGSTOP, a hung host) cannot hold the step past its
 * timeout by more than ABORT_GRACE_MS twice.
 */
class SqlSession {
  private core: CoreConnection | undefined;
  private conn: mysql.Connection | undefined;
  /** Set when an aborted query could not be confirmed killed: what the server may still do. */
  unconfirmed: string | undefined;

  constructor(
    private readonly dsn: MysqlDsn,
    private readonly ctx: StepContext,
  ) {}

  async connect(): Promise<void> {
    this.core = await openConnection(this.dsn, { signal: this.ctx.signal });
    this.conn = this.core.promise();
  }

  /** Runs one statement; on abort kills it on the server and throws AbortedError. */
  async query(sql: string): Promise<unknown> {
    const conn = this.conn!;
    const { signal } = this.ctx;
    if (signal.aborted) throw new AbortedError();
    const running = conn.query(sql).then(([rows]) => rows as unknown);
    // Dropping the connection rejects the query; this also covers a driver that would not.
    let giveUp: (err: Error) => void = () => undefined;
    const abandoned = new Promise<never>((_, reject) => (giveUp = reject));
    let killed: Promise<void> | undefined;
    const onAbort = (): void => {
      killed = this.kill(running).then((confirmed) => {
        if (!confirmed) giveUp(new AbortedError());
      });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const rows = await Promise.race([running, abandoned]);
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
      running.catch(() => undefined);
    }
  }

  /** Rolls back; false when the connection had to be dropped instead. */
  async rollback(): Promise<boolean> {
    if (!this.conn) return false;
    const { signal } = this.ctx;
    let onAbort: (() => void) | undefined;
    // An abort during ROLLBACK drops the connection at once: the server rolls back by itself.
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new AbortedError());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const rolling = this.conn.query('ROLLBACK');
      rolling.catch(() => undefined);
      await Promise.race([
        withTimeout(rolling, signal.aborted ? ABORT_GRACE_MS : KILL_WAIT_MS),
        ...(signal.aborted ? [] : [aborted]),
      ]);
      return true;
    } catch {
      this.drop();
      return false;
    } finally {
      signal.removeEventListener('abort', onAbort!);
      aborted.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const core = this.core;
    this.core = undefined;
    this.conn = undefined;
    if (core) await closeConnection(core, ABORT_GRACE_MS);
  }

  /** Closes the socket at once: the server sees the client gone and rolls back what is open. */
  private drop(): void {
    if (this.core) dropConnection(this.core);
    this.core = undefined;
    this.conn = undefined;
  }

  /**
   * KILL QUERY from a second connection, bounded: true when the server confirmed the kill and the
   * query returned. Otherwise the connection is dropped, and `unconfirmed` says what may be left.
   */
  private async kill(running: Promise<unknown>): Promise<boolean> {
    const core = this.core;
    if (!core) return false;
    const id = Number(core.threadId);
    const t0 = Date.now();
    let killer: CoreConnection | undefined;
    try {
      killer = await openConnection(this.dsn, { limitMs: ABORT_GRACE_MS });
      const left = Math.max(1, ABORT_GRACE_MS - (Date.now() - t0));
      await withTimeout(killer.promise().query(`KILL QUERY ${id}`), left);
      this.ctx.log(`killed query ${id} on ${this.dsn.display}: ${abortReason(this.ctx.signal)}`);
      const returned = await withTimeout(
        running.then(
          () => true,
          () => true,
        ),
        ABORT_GRACE_MS,
      ).catch(() => false);
      if (returned) return true;
      this.unconfirmed = `KILL QUERY ${id} was sent but the query did not return within ${ABORT_GRACE_MS} ms; the connection was dropped`;
    } catch (err) {
      this.unconfirmed = `could not kill query ${id} (${(err as Error).message}): the server did not answer within ${ABORT_GRACE_MS} ms (frozen or unreachable); the connection was dropped and the server may still finish the statement`;
    } finally {
      if (killer) void closeConnection(killer, ABORT_GRACE_MS);
    }
    this.ctx.log(redact(`${this.unconfirmed} on ${this.dsn.display}`));
    this.drop();
    return false;
  }
}

/**
 * Opens a connection that gives up on abort or after limitMs (besides the driver's connect
 * timeout), destroying the socket: a frozen server cannot keep drctl waiting or alive.
 */
async function openConnection(
  dsn: MysqlDsn,
  opts: { signal?: AbortSignal; limitMs?: number },
): Promise<CoreConnection> {
  const { signal, limitMs } = opts;
  if (signal?.aborted) throw new AbortedError();
  // Loaded on first use: a run without sql steps does not pay for mysql2 at start-up.
  const { default: mysqlCore } = await import('mysql2');
  if (signal?.aborted) throw new AbortedError();
  return new Promise<CoreConnection>((resolve, reject) => {
    const core = mysqlCore.createConnection(connectionOptions(dsn));
    // Errors reach the pending command; an idle connection's error must not crash drctl.
    core.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      core.off('connect', onConnect);
      core.off('error', onError);
    };
    const fail = (err: Error): void => {
      cleanup();
      dropConnection(core);
      reject(err);
    };
    const onAbort = (): void => fail(new AbortedError());
    const onError = (err: Error): void => fail(err);
    const onConnect = (): void => {
      cleanup();
      resolve(core);
    };
    if (limitMs !== undefined) {
      timer = setTimeout(() => fail(new Error(`no connection within ${limitMs} ms`)), limitMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    core.once('connect', onConnect);
    core.once('error', onError);
  });
}

/** Destroys the socket (mysql2's destroy() only half-closes it and leaves queries pending). */
function dropConnection(core: CoreConnection): void {
  (core as unknown as { stream?: { destroy(): void } }).stream?.destroy();
}

/** COM_QUIT, waiting at most ms for the server, then the socket is destroyed. */
function closeConnection(core: CoreConnection, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      dropConnection(core);
      resolve();
    }, ms);
    core.end(() => {
      clearTimeout(t);
      dropConnection(core);
      resolve();
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}
