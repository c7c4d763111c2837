import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import mysql from 'mysql2/promise';
import {
  makeTempDir,
  onFreePort,
  removeDir,
  requireBinary,
  startServer,
  tailFile,
  waitUntilReady,
} from './process.js';

/**
 * Real MariaDB servers for tests, demos and benchmarks: Debian's mariadbd started directly
 * (no system service), 127.0.0.1 on free ports, a private datadir and --tmpdir each (two servers
 * sharing a tmpdir delete each other's #sql temp files at startup), GTID replication with
 * MASTER_USE_GTID=slave_pos. Ported from the lab recipe mysql-up.sh.
 */

export interface MariaDbServer {
  port: number;
  socket: string;
  /** `mysql://root@127.0.0.1:<port>` (root has no password). */
  dsn: string;
  pid: number;
  /** Runs SQL as root over the socket (several statements allowed); returns the last result's rows. */
  query(sql: string): Promise<unknown[]>;
}

export interface MariaDbPair {
  primary: MariaDbServer;
  replica: MariaDbServer;
  dir: string;
  stop(): Promise<void>;
}

export interface StartMariaDbOptions {
  /** Directory for datadir, tmpdir, socket and logs; default a new temp dir (removed on stop). */
  dir?: string;
  /** Default 1. */
  serverId?: number;
  /** innodb_buffer_pool_size; default 128M (tests), benches pass more. */
  bufferPool?: string;
  /** Start with read_only=ON (replicas). */
  readOnly?: boolean;
  semisync?: boolean;
  /** Listen on this port (e.g. a restart on the port it had); default a free one. */
  port?: number;
}

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
const APT = 'apt-get install -y mariadb-server mariadb-client';
const REPL_USER = 'repl';
const REPL_PASS = 'replpass';

export async function startMariaDb(
  opts: StartMariaDbOptions = {},
): Promise<MariaDbServer & { stop(): Promise<void> }> {
  requireBinary(MARIADBD, APT);
  requireBinary(INSTALL_DB, APT);
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? makeTempDir('mariadb');
  const serverId = opts.serverId ?? 1;
  const data = join(dir, 'data');
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  const userArgs = asRoot ? ['--user=root'] : [];
  // A datadir that already holds the system tables is a restart (e.g. after a SIGKILL): keep it.
  const restart = existsSync(join(data, 'mysql'));
  const install = restart
    ? { exitCode: 0, all: '' }
    : await execa(
        INSTALL_DB,
        [
          '--no-defaults',
          ...userArgs,
          `--datadir=${data}`,
          `--tmpdir=${tmp}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--skip-name-resolve',
        ],
        { reject: false, all: true },
      );
  if (install.exitCode !== 0) {
    throw new Error(`mariadb-install-db failed (exit ${install.exitCode}):\n${install.all ?? ''}`);
  }
  const socket = join(dir, 'mysqld.sock');
  const name = `server${serverId}`;
  const launch = async (port: number) => {
    const args = [
      '--no-defaults',
      ...userArgs,
      '--basedir=/usr',
      `--datadir=${data}`,
      `--tmpdir=${tmp}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      `--log-basename=${name}`,
      `--log-error=${join(dir, 'error.log')}`,
      `--log-bin=${name}-bin`,
      `--relay-log=${name}-relay-bin`,
      `--server-id=${serverId}`,
      '--binlog-format=ROW',
      '--gtid-strict-mode=ON',
      '--log-slave-updates=ON',
      '--report-host=127.0.0.1',
      `--report-port=${port}`,
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      `--innodb-buffer-pool-size=${opts.bufferPool ?? '128M'}`,
      '--innodb-log-file-size=256M',
      '--innodb-flush-log-at-trx-commit=2',
      '--sync-binlog=0',
      '--max-connections=300',
      `--read-only=${opts.readOnly ? 'ON' : 'OFF'}`,
      `--rpl-semi-sync-master-enabled=${opts.semisync && !opts.readOnly ? 'ON' : 'OFF'}`,
      `--rpl-semi-sync-slave-enabled=${opts.semisync && opts.readOnly ? 'ON' : 'OFF'}`,
      '--rpl-semi-sync-master-timeout=10000',
    ];
    const proc = startServer(name, MARIADBD, args, { logFile: join(dir, 'stdout.log') });
    const pool = mysql.createPool({
      socketPath: socket,
      user: 'root',
      multipleStatements: true,
      connectionLimit: 4,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
    try {
      await waitUntilReady(
        {
          ...proc,
          logTail: (n) => proc.logTail(n) + '\n--- error.log ---\n' + tailFile(join(dir, 'error.log'), n),
        },
        async () => {
          await pool.query('SELECT 1');
          return true;
        },
        60_000,
        port,
      );
    } catch (err) {
      await pool.end().catch(() => undefined);
      await proc.stop('SIGKILL', 5_000);
      throw err;
    }
    return { port, proc, pool };
  };
  // A restart keeps its port; a new server retries on another when its port was taken meanwhile.
  const { port, proc, pool } =
    opts.port !== undefined ? await launch(opts.port) : await onFreePort(`mariadb ${serverId}`, launch);
  const query = async (sql: string): Promise<unknown[]> => {
    const [rows] = await pool.query(sql);
    if (Array.isArray(rows) && rows.length > 0 && Array.isArray(rows[rows.length - 1])) {
      // multi-statement: the last result set that is a row list
      for (let i = rows.length - 1; i >= 0; i--) if (Array.isArray(rows[i])) return rows[i] as unknown[];
    }
    return Array.isArray(rows) ? rows : [];
  };
  return {
    port,
    socket,
    dsn: `mysql://root@127.0.0.1:${port}`,
    pid: proc.child.pid ?? 0,
    query,
    async stop() {
      await pool.end().catch(() => undefined);
      await proc.stop('SIGTERM', 30_000);
      if (ownsDir) removeDir(dir);
    },
  };
}

/**
 * Starts a GTID primary (server_id 1) and a read-only replica (server_id 2) replicating from it,
 * and returns once both replication threads run and the replica has applied everything.
 */
export async function startMariaDbPair(
  opts: { semisync?: boolean; dir?: string; bufferPool?: string } = {},
): Promise<MariaDbPair> {
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? makeTempDir('mariadb-pair');
  const common = {
    ...(opts.bufferPool ? { bufferPool: opts.bufferPool } : {}),
    ...(opts.semisync ? { semisync: true } : {}),
  };
  const started = await Promise.allSettled([
    startMariaDb({ ...common, dir: join(dir, 'primary'), serverId: 1 }),
    startMariaDb({ ...common, dir: join(dir, 'replica'), serverId: 2, readOnly: true }),
  ]);
  const [p, r] = started;
  if (p.status !== 'fulfilled' || r.status !== 'fulfilled') {
    for (const s of started) if (s.status === 'fulfilled') await s.value.stop();
    const reason = started.find((s) => s.status === 'rejected')!.reason as unknown;
    throw reason instanceof Error ? reason : new Error(String(reason));
  }
  const primary = p.value;
  const replica = r.value;
  const stop = async () => {
    await Promise.allSettled([replica.stop(), primary.stop()]);
    if (ownsDir) removeDir(dir);
  };
  try {
    // Created once on the primary (binlogged, so it replicates too).
    await primary.query(
      `CREATE USER '${REPL_USER}'@'127.0.0.1' IDENTIFIED BY '${REPL_PASS}';` +
        `GRANT REPLICATION SLAVE ON *.* TO '${REPL_USER}'@'127.0.0.1'`,
    );
    await replica.query(
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, ` +
        `MASTER_USER='${REPL_USER}', MASTER_PASSWORD='${REPL_PASS}', ` +
        `MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos; START SLAVE`,
    );
    await waitForReplicaThreads(replica);
    await waitForReplicaCatchUp({ primary, replica });
    if (opts.semisync) {
      for (let i = 0; i < 100; i++) {
        const rows = (await primary.query(`SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'`)) as {
          Value: string;
        }[];
        if (Number(rows[0]?.Value ?? 0) >= 1) break;
        await sleep(100);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  writeFileSync(
    join(dir, 'pair.json'),
    JSON.stringify({ primary: primary.dsn, replica: replica.dsn }) + '\n',
  );
  return { primary, replica, dir, stop };
}

async function waitForReplicaThreads(replica: MariaDbServer, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, unknown> | undefined;
  while (Date.now() < deadline) {
    last = ((await replica.query('SHOW SLAVE STATUS')) as Record<string, unknown>[])[0];
    if (last?.['Slave_IO_Running'] === 'Yes' && last['Slave_SQL_Running'] === 'Yes') return;
    await sleep(100);
  }
  throw new Error(`replication not running after ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

/** Waits until the replica has applied the primary's current gtid_binlog_pos (MASTER_GTID_WAIT). */
export async function waitForReplicaCatchUp(
  pair: { primary: MariaDbServer; replica: MariaDbServer },
  timeoutSeconds = 30,
): Promise<void> {
  const [row] = (await pair.primary.query('SELECT @@gtid_binlog_pos AS pos')) as { pos: string }[];
  const pos = row?.pos ?? '';
  const [res] = (await pair.replica.query(
    `SELECT MASTER_GTID_WAIT(${mysql.escape(pos)}, ${timeoutSeconds}) AS r`,
  )) as { r: number | string }[];
  if (Number(res?.r) !== 0) throw new Error(`replica did not reach primary gtid_binlog_pos '${pos}'`);
}
