import { createConnection as createCoreConnection, type ConnectionOptions } from 'mysql2';
import type { Connection, FieldPacket } from 'mysql2/promise';
import { ConnectionError } from '../../shared/errors.js';
import { connectionOptions, parseMysqlDsn, type MysqlDsn } from '../../shared/dsn.js';

/**
 * One read-only session to one side. Every session uses time_zone '+00:00' (so TIMESTAMP values
 * compare as instants whatever the server default is), READ COMMITTED consistent reads (plain
 * SELECTs never lock rows and do not pin an old snapshot for the whole scan), and a read-only
 * transaction mode so that a bug can never write.
 */
export interface Session {
  side: 'source' | 'target';
  display: string;
  /** Rows as objects, numbers and dates as strings. */
  query<T = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
  /** Rows as arrays of raw bytes (Buffer) or null: exact values for comparison and repair SQL. */
  queryRaw(sql: string, values?: unknown[]): Promise<(Buffer | null)[][]>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Aborting destroys the connection: a pending query rejects at once with the abort reason. */
  signal?: AbortSignal;
  /** Connect (handshake included) deadline, ms. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * While a query runs longer than this, a second connection checks every so often that the
   * server still answers `SELECT 1` within the connect deadline; if not, the session is lost.
   * Long scans of a live server go on; a frozen (SIGSTOPped) or unreachable one ends the check.
   * Default 5 s.
   */
  livenessIntervalMs?: number;
  /** What messages call this server instead of the side, e.g. `remote log` (drctl reconcile). */
  label?: string;
}

/** The connection to one side broke or the server stopped answering: nothing more can be judged. */
export class ConnectionLostError extends ConnectionError {
  constructor(
    readonly side: string,
    readonly display: string,
    readonly reason: string,
    readonly during?: string,
  ) {
    super(`lost the connection to the ${side} ${display}${during ? ` during ${during}` : ''}: ${reason}`, {
      hint: `check that the ${side} server is up and reachable, then run the check again`,
    });
  }

  /** The same loss, naming what was being compared. */
  withContext(during: string): ConnectionLostError {
    return this.during ? this : new ConnectionLostError(this.side, this.display, this.reason, during);
  }
}

const LOST_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_NET_READ_ERROR',
  'ER_NET_ERROR_ON_WRITE',
]);

function isConnectionLoss(err: unknown): boolean {
  const e = asDriverError(err);
  return (
    LOST_CODES.has(e.code ?? '') ||
    /closed state|connection lost|server closed the connection/i.test(e.message ?? '')
  );
}

export async function openSession(
  dsnText: string,
  sessionSide: 'source' | 'target',
  opts: SessionOptions = {},
): Promise<Session> {
  const side: string = opts.label ?? sessionSide;
  const dsn = parseMysqlDsn(dsnText, opts.label ?? (side === 'source' ? '--source' : '--target'));
  const connectTimeout = opts.connectTimeoutMs ?? 10_000;
  const livenessMs = opts.livenessIntervalMs ?? 5_000;
  const signal = opts.signal;
  const driverOptions = {
    ...connectionOptions(dsn),
    connectTimeout,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    decimalNumbers: false,
    charset: 'utf8mb4_general_ci',
  };
  const aborted = () => (signal?.reason instanceof Error ? signal.reason : new Error('interrupted'));
  if (signal?.aborted) throw aborted();
  let conn: Connection;
  try {
    conn = await connect(driverOptions, signal);
  } catch (err) {
    if (signal?.aborted) throw aborted();
    throw toConnectionError(err, dsn, side);
  }
  conn.on('error', () => undefined);

  // One way to fail every pending query at once: loss found by the watchdog, or an abort. Each
  // query races a promise of its own, dropped when the query ends: racing one long-lived promise
  // kept a reaction per query on it, and with it every result ever read (a 1M-entry reconcile
  // reached 1 GB RSS).
  let failure: Error | undefined;
  const waiting = new Set<(err: Error) => void>();
  const fail = (err: Error) => {
    if (failure) return;
    failure = err;
    for (const reject of waiting) reject(err);
    waiting.clear();
    hardClose(conn);
    if (probe) hardClose(probe);
    probeAbort.abort(err);
  };
  const onAbort = () => fail(aborted());
  // Read through a function: set from callbacks, which flow analysis does not see.
  const currentFailure = (): Error | undefined => failure;
  signal?.addEventListener('abort', onAbort, { once: true });

  let probe: Connection | undefined;
  let probing = false;
  // Ends a probe still connecting when the session fails or closes: no socket keeps node alive.
  const probeAbort = new AbortController();
  // Aborted while connecting: the listener above never fires for a signal aborted before it.
  if (signal?.aborted) onAbort();
  const checkAlive = async () => {
    if (probing || failure) return;
    probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_r, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not answering (no reply within ${connectTimeout} ms)`)),
          connectTimeout,
        );
      });
      await Promise.race([
        (async () => {
          probe ??= await connect(driverOptions, probeAbort.signal);
          probe.on('error', () => undefined);
          await probe.query('SELECT 1');
        })(),
        deadline,
      ]);
    } catch (err) {
      if (probe) hardClose(probe);
      probe = undefined;
      const reason = err instanceof Error ? err.message : String(err);
      fail(new ConnectionLostError(side, dsn.display, `the server stopped answering (${reason})`));
    } finally {
      clearTimeout(timer);
      probing = false;
    }
  };

  const guarded = async <R>(sql: string, run: () => Promise<R>): Promise<R> => {
    if (failure) throw failure;
    const watchdog = setInterval(() => void checkAlive(), livenessMs);
    const pending = run();
    pending.catch(() => undefined);
    let rejectThis: (err: Error) => void = () => undefined;
    const failed = new Promise<never>((_resolve, reject) => (rejectThis = reject));
    failed.catch(() => undefined);
    waiting.add(rejectThis);
    try {
      return await Promise.race([pending, failed]);
    } catch (err) {
      const failedBefore = currentFailure();
      if (failedBefore) throw failedBefore;
      if (isConnectionLoss(err)) {
        const e = asDriverError(err);
        const reason = /closed state/i.test(e.message ?? '')
          ? 'the server closed the connection'
          : (e.message ?? e.code ?? 'connection closed');
        fail(new ConnectionLostError(side, dsn.display, reason));
        throw failure!;
      }
      throw toQueryError(err, dsn, side, sql);
    } finally {
      waiting.delete(rejectThis);
      clearInterval(watchdog);
    }
  };

  const session: Session = {
    side: sessionSide,
    display: dsn.display,
    async query<T>(sql: string, values?: unknown[]) {
      const [rows] = await guarded(sql, () => conn.query(sql, values));
      return rows as T[];
    },
    async queryRaw(sql: string, values?: unknown[]) {
      const [rows] = (await guarded(sql, () =>
        conn.query({
          sql,
          values,
          rowsAsArray: true,
          typeCast: (field: { buffer(): Buffer | null }) => field.buffer(),
        }),
      )) as unknown as [(Buffer | null)[][], FieldPacket[]];
      return rows;
    },
    async close() {
      signal?.removeEventListener('abort', onAbort);
      if (probe) hardClose(probe);
      probeAbort.abort(new Error('closed'));
      if (failure) return;
      // A frozen server never answers QUIT: do not wait for it.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        conn.end().catch(() => hardClose(conn)),
        new Promise<void>((r) => {
          timer = setTimeout(() => {
            hardClose(conn);
            r();
          }, 2000);
        }),
      ]);
      clearTimeout(timer);
    },
  };
  await session.query(
    "SET SESSION time_zone = '+00:00', SESSION sql_mode = '', SESSION group_concat_max_len = 268435456",
  );
  await session.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY');
  return session;
}

interface MysqlDriverError {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  message?: string;
}

function asDriverError(err: unknown): MysqlDriverError {
  return typeof err === 'object' && err !== null ? err : { message: String(err) };
}

function toConnectionError(err: unknown, dsn: MysqlDsn, side: string): ConnectionError {
  const e = asDriverError(err);
  const where = `${side} ${dsn.display}`;
  switch (e.code ?? '') {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return new ConnectionError(`${where}: access denied for user ${dsn.user} (wrong user or password)`, {
        hint: `check the user and password in the ${side} DSN (mysql://user:password@host:port)`,
      });
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_BAD_DB_ERROR':
      return new ConnectionError(`${where}: ${e.sqlMessage ?? e.message ?? ''}`, {
        hint: 'fix the database name in the DSN path, or leave it out',
      });
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'ENOENT':
      return new ConnectionError(`${where}: cannot connect (${e.code})`, {
        hint: `check the host and port of the ${side} DSN and that the server is running`,
      });
    default:
      return new ConnectionError(
        `${where}: cannot connect: ${e.sqlMessage ?? e.message ?? e.code ?? 'unknown error'}`,
        {
          hint: `check the ${side} DSN`,
        },
      );
  }
}

/** Privilege errors name the privilege; other SQL errors keep the server's message. */
export class MysqlQueryError extends ConnectionError {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, hint: string) {
    super(message, { hint });
    this.code = code;
  }
}

function toQueryError(err: unknown, dsn: MysqlDsn, side: string, sql: string): MysqlQueryError {
  const e = asDriverError(err);
  const msg = e.sqlMessage ?? e.message ?? 'unknown error';
  const where = `${side} ${dsn.display}`;
  switch (e.code ?? '') {
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_COLUMNACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
      return new MysqlQueryError(
        `${where}: missing the SELECT privilege: ${msg}`,
        e.code,
        `GRANT SELECT ON *.* TO ${dsn.user}`,
      );
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      return new MysqlQueryError(
        `${where}: missing a privilege: ${msg}`,
        e.code,
        `the checker needs SELECT, SHOW VIEW and REPLICATION CLIENT (MySQL) or BINLOG MONITOR + SLAVE MONITOR (MariaDB); grant the one named above to ${dsn.user}`,
      );
    default:
      return new MysqlQueryError(
        `${where}: query failed: ${msg} [${sql.slice(0, 200)}]`,
        e.code,
        'see the server message above',
      );
  }
}

/**
 * Connects (handshake included) with the driver's callback API, so that an abort can destroy a
 * connection still waiting for a frozen server's handshake: nothing keeps the process alive.
 */
function connect(options: ConnectionOptions, signal: AbortSignal | undefined): Promise<Connection> {
  return new Promise<Connection>((resolve, reject) => {
    const core = createCoreConnection(options);
    const onAbort = () => {
      core.on('error', () => undefined);
      destroySocket(core);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('interrupted'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    core.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(core.promise());
    });
    core.once('error', (err: unknown) => {
      signal?.removeEventListener('abort', onAbort);
      core.on('error', () => undefined);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

/**
 * The driver's destroy() only half-closes the socket (FIN) and waits for the server, which a
 * frozen server never answers: destroy the socket itself so nothing keeps the process alive.
 */
function hardClose(conn: Connection): void {
  destroySocket((conn as unknown as { connection: unknown }).connection);
}

function destroySocket(core: unknown): void {
  const c = core as { destroy?: () => void; stream?: { destroy?: () => void } } | undefined;
  c?.destroy?.();
  c?.stream?.destroy?.();
}

/**
 * Runs one query on each side at once and waits for both. When both fail, the source's error is
 * the one thrown, so the verdict names the same side on every run (Promise.all names the faster).
 */
export async function onBothSides<A, B>(source: Promise<A>, target: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([source, target]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}
