import mysql, { type Connection, type FieldPacket } from 'mysql2/promise';
import { ConnectionError } from '../../src/errors.js';
import { connectionOptions, parseMysqlDsn, type MysqlDsn } from '../../src/util/dsn.js';

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

export async function openSession(dsnText: string, side: 'source' | 'target'): Promise<Session> {
  const dsn = parseMysqlDsn(dsnText, side === 'source' ? '--source' : '--target');
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      ...connectionOptions(dsn),
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      decimalNumbers: false,
      charset: 'utf8mb4_general_ci',
    });
  } catch (err) {
    throw toConnectionError(err, dsn, side);
  }
  conn.on('error', () => undefined);
  const session: Session = {
    side,
    display: dsn.display,
    async query<T>(sql: string, values?: unknown[]) {
      try {
        const [rows] = await conn.query(sql, values);
        return rows as T[];
      } catch (err) {
        throw toQueryError(err, dsn, side, sql);
      }
    },
    async queryRaw(sql: string, values?: unknown[]) {
      try {
        const [rows] = (await conn.query({
          sql,
          values,
          rowsAsArray: true,
          typeCast: (field: { buffer(): Buffer | null }) => field.buffer(),
        })) as unknown as [(Buffer | null)[][], FieldPacket[]];
        return rows;
      } catch (err) {
        throw toQueryError(err, dsn, side, sql);
      }
    },
    async close() {
      await conn.end().catch(() => conn.destroy());
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
