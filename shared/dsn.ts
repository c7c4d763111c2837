import { UsageError } from './errors.js';

/** Connection settings parsed from `mysql://user:pass@host:port/db?ssl=true` (or `mariadb://`). */
export interface MysqlDsn {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string | undefined;
  socketPath: string | undefined;
  params: Record<string, string>;
  /** `user@host:port/db`, never the password: safe for output, journal and reports. */
  display: string;
}

/**
 * Parses a MySQL DSN. Pure: the password was registered for redaction where the DSN entered
 * (the runbook loader, `drctl check` flags), not here.
 * @param label names the DSN in errors, e.g. `--source` or `resources.core-banking.primary`.
 */
export function parseMysqlDsn(text: string, label = 'DSN'): MysqlDsn {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${label}: not a MySQL DSN`, {
      hint: 'write it as mysql://user:password@host:3306/database (percent-encode special characters)',
    });
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new UsageError(`${label}: scheme must be mysql:// or mariadb://, got ${url.protocol}//`, {
      hint: 'write it as mysql://user:password@host:3306/database',
    });
  }
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const params: Record<string, string> = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  const socketPath = params['socket'];
  if (!url.hostname && !socketPath) {
    throw new UsageError(`${label}: the DSN has no host`, {
      hint: 'write it as mysql://user:password@host:3306',
    });
  }
  const port = url.port ? Number(url.port) : 3306;
  const user = decodeURIComponent(url.username || 'root');
  const database = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined;
  const host = url.hostname || 'localhost';
  const display = `${user}@${socketPath ? `unix:${socketPath}` : `${host}:${port}`}${database ? `/${database}` : ''}`;
  return { host, port, user, password, database, socketPath, params, display };
}

/** mysql2 connection options for a parsed DSN (no driver import here: plain data). */
export function connectionOptions(dsn: MysqlDsn): {
  host: string;
  port: number;
  user: string;
  password?: string;
  database?: string;
  socketPath?: string;
  connectTimeout: number;
} {
  return {
    host: dsn.host,
    port: dsn.port,
    user: dsn.user,
    ...(dsn.password === undefined ? {} : { password: dsn.password }),
    ...(dsn.database === undefined ? {} : { database: dsn.database }),
    ...(dsn.socketPath === undefined ? {} : { socketPath: dsn.socketPath }),
    connectTimeout: 10_000,
  };
}
