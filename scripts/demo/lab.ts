/**
 * The demo's "Main" and "DR" on 127.0.0.1, started from Debian's packages by the same harness
 * the tests use: a MariaDB primary with its GTID replica (DR copy), Redis holding the app
 * config, a Ceph RGW with a Main and a DR bucket, an OpenSearch pair, and the demo bank app.
 * Every PID is written to <dir>/pids.json so `npm run demo:down` can stop what a killed demo
 * left behind, and nothing else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../checkers/s3/client.js';
import { Redis } from 'ioredis';
import { startCeph, type CephCluster } from '../../test/harness/ceph.js';
import {
  startMariaDb,
  startMariaDbPair,
  type MariaDbPair,
  type MariaDbServer,
} from '../../test/harness/mysql.js';
import { startRedis, type RedisServer } from '../../test/harness/redis.js';
import { startSearch, type SearchServer } from '../../test/harness/search.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LAB_DIR = process.env.DRCTL_DEMO_DIR ?? join(ROOT, '.lab', 'demo');

/** Demo-only credentials: they stand in for the bank's vault; drctl still masks them. */
const APP_PASSWORD = 'demo-app-pw-7f3a';
const CHECK_PASSWORD = 'demo-check-pw-91c2';

export interface Lab {
  env: Record<string, string>;
  appUrl: string;
  mysql: MariaDbPair;
  /** The remote-log store in a third site (with `remoteLog`): every payment is also logged there. */
  remoteLog?: MariaDbServer | undefined;
  /** Adds variables to env and to env.sh. */
  addEnv(vars: Record<string, string>): void;
  stop(): Promise<void>;
}

export interface LabOptions {
  s3: boolean;
  es: boolean;
  log: (line: string) => void;
  /** Start a third MariaDB, the remote log the bank app writes each payment to (the unplanned demo). */
  remoteLog?: boolean;
  /** The app's background payments every N ms; 0: none (default 100). */
  loadMs?: number;
}

export async function startLab(opts: LabOptions): Promise<Lab> {
  rmSync(LAB_DIR, { recursive: true, force: true });
  mkdirSync(LAB_DIR, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const pids: Record<string, number> = {};
  const savePids = () => writeFileSync(join(LAB_DIR, 'pids.json'), JSON.stringify(pids, null, 2));
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(join(LAB_DIR, 'pids.json'), { force: true });
  };
  try {
    const t0 = Date.now();
    const since = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
    // The slow starters (Ceph ~13 s, OpenSearch ~30 s) run while MariaDB and Redis come up.
    const cephP = opts.s3 ? startCeph({ dir: join(LAB_DIR, 'ceph') }) : Promise.resolve(undefined);
    const searchP = opts.es
      ? Promise.all([startSearch('opensearch', { heapMb: 384 }), startSearch('opensearch', { heapMb: 384 })])
      : Promise.resolve(undefined);
    const [mysql, redis, redisDr, remoteLog] = await Promise.all([
      startMariaDbPair({ dir: join(LAB_DIR, 'mysql') }),
      startRedis(),
      startRedis(),
      opts.remoteLog
        ? startMariaDb({ dir: join(LAB_DIR, 'mysql', 'remote-log'), serverId: 3 })
        : Promise.resolve(undefined),
    ]);
    stops.push(
      () => mysql.stop(),
      () => redis.stop(),
      () => redisDr.stop(),
    );
    pids['mariadb-primary'] = mysql.primary.pid;
    pids['mariadb-replica'] = mysql.replica.pid;
    pids['redis'] = redis.pid;
    pids['redis-dr'] = redisDr.pid;
    if (remoteLog) {
      stops.push(() => remoteLog.stop());
      pids['mariadb-remote-log'] = remoteLog.pid;
      await seedRemoteLog(remoteLog);
      opts.log(`remote log (third site): MariaDB 127.0.0.1:${remoteLog.port}, table bank_log.remote_log`);
    }
    savePids();
    opts.log(
      `MariaDB primary 127.0.0.1:${mysql.primary.port} → GTID replica 127.0.0.1:${mysql.replica.port}, Redis ${redis.url} → DR replica ${redisDr.url} (${since()})`,
    );
    await seedBank(mysql);
    await seedConfig(redis, redisDr);

    const ceph = await cephP;
    if (ceph) {
      stops.push(() => ceph.stop());
      pids['ceph'] = -1; // its daemons are stopped by their own pid files (ceph harness)
      await seedBuckets(ceph);
      opts.log(`Ceph RGW ${ceph.endpoint}: buckets docs-main and docs-dr (${since()})`);
    }
    const search = await searchP;
    if (search) {
      for (const s of search) stops.push(() => s.stop());
      pids['opensearch-main'] = search[0].pid;
      pids['opensearch-dr'] = search[1].pid;
      await seedSearch(search[0], search[1]);
      opts.log(`OpenSearch ${search[0].version}: Main ${search[0].url}, DR ${search[1].url} (${since()})`);
    }
    savePids();

    // The app binds a port the OS picks and says which (picking one first and binding it later
    // raced with the servers other tests start meanwhile).
    const portFile = join(LAB_DIR, 'bank-app.port');
    rmSync(portFile, { force: true });
    const dsn = (port: number, user: string, pw: string) => `mysql://${user}:${pw}@127.0.0.1:${port}/bank`;
    const appLog = openSync(join(LAB_DIR, 'bank-app.log'), 'a');
    const app = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'scripts/demo/bank-app.ts'),
        '--port',
        '0',
        '--port-file',
        portFile,
        '--redis',
        redis.url,
        '--live',
        dsn(mysql.primary.port, 'bank_app', APP_PASSWORD),
        '--dr',
        dsn(mysql.replica.port, 'bank_app', APP_PASSWORD),
        ...(remoteLog
          ? ['--remote-log', dsn(remoteLog.port, 'bank_app', APP_PASSWORD).replace(/bank$/, 'bank_log')]
          : []),
        ...(opts.loadMs !== undefined ? ['--load-ms', String(opts.loadMs)] : []),
      ],
      { cwd: ROOT, stdio: ['ignore', appLog, appLog], detached: true },
    );
    app.unref();
    pids['bank-app'] = app.pid!;
    savePids();
    stops.push(async () => {
      if (app.exitCode === null) {
        app.kill('SIGTERM');
        await Promise.race([new Promise((r) => app.once('exit', r)), sleep(5000)]);
      }
    });
    const appPort = await waitForPortFile(portFile, app, 30_000);
    const appUrl = `http://127.0.0.1:${appPort}`;
    await waitForHttp(`${appUrl}/health`, 30_000);
    opts.log(`demo bank app ${appUrl} reads bcf.resource.target.* from Redis on every request (${since()})`);

    const env: Record<string, string> = {
      DEMO_MAIN_ADMIN_DSN: `mysql://root@127.0.0.1:${mysql.primary.port}`,
      DEMO_DR_ADMIN_DSN: `mysql://root@127.0.0.1:${mysql.replica.port}`,
      DEMO_MAIN_PORT: String(mysql.primary.port),
      DEMO_DR_PORT: String(mysql.replica.port),
      DEMO_CHECK_PASSWORD: CHECK_PASSWORD,
      DEMO_REPL_PASSWORD: 'replpass',
      DEMO_REDIS_URL: redis.url,
      DEMO_REDIS_DR_URL: redisDr.url,
      DEMO_APP_URL: appUrl,
      DEMO_LAB_DIR: LAB_DIR,
      ...(remoteLog ? { DEMO_LOG_PORT: String(remoteLog.port) } : {}),
    };
    if (ceph) {
      Object.assign(env, {
        DEMO_S3_ENDPOINT: ceph.endpoint,
        AWS_ACCESS_KEY_ID: ceph.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ceph.secretAccessKey,
        AWS_REGION: 'us-east-1',
      });
    }
    if (search) Object.assign(env, { DEMO_ES_MAIN: search[0].url, DEMO_ES_DR: search[1].url });
    const saveEnv = () =>
      writeFileSync(
        join(LAB_DIR, 'env.sh'),
        Object.entries(env)
          .map(([k, v]) => `export ${k}='${v}'`)
          .join('\n') + '\n',
        { mode: 0o600 },
      );
    saveEnv();
    return {
      env,
      appUrl,
      mysql,
      remoteLog,
      addEnv: (vars) => {
        Object.assign(env, vars);
        saveEnv();
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function seedBank(pair: MariaDbPair): Promise<void> {
  await pair.primary.query(`
    CREATE DATABASE bank CHARACTER SET utf8mb4;
    USE bank;
    CREATE TABLE bank.accounts (id INT PRIMARY KEY, owner VARCHAR(64) NOT NULL, balance DECIMAL(18,2) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6));
    CREATE TABLE bank.payments (id BIGINT AUTO_INCREMENT PRIMARY KEY, account_id INT NOT NULL, amount DECIMAL(18,2) NOT NULL, status VARCHAR(16) NOT NULL, created_at DATETIME(6) NOT NULL, txn_id VARCHAR(40) NULL, KEY (account_id), UNIQUE KEY (txn_id));
    CREATE TABLE bank.ledger (account_id INT NOT NULL, seq INT NOT NULL, entry DECIMAL(18,2) NOT NULL, memo VARCHAR(255), PRIMARY KEY (account_id, seq));
    INSERT INTO bank.accounts (id, owner, balance) SELECT seq, CONCAT('customer-', seq), 100000.00 FROM seq_1_to_100;
    INSERT INTO bank.payments (account_id, amount, status, created_at) SELECT 1 + seq % 100, seq % 500 + 0.25, 'settled', NOW(6) FROM seq_1_to_5000;
    INSERT INTO bank.ledger SELECT 1 + seq % 100, seq, (seq % 300) - 150.5, CONCAT('entry ', seq) FROM seq_1_to_20000;
    CREATE USER bank_app@'127.0.0.1' IDENTIFIED BY '${APP_PASSWORD}';
    GRANT SELECT, INSERT, UPDATE ON bank.* TO bank_app@'127.0.0.1';
    CREATE USER drctl_check@'127.0.0.1' IDENTIFIED BY '${CHECK_PASSWORD}';
    GRANT SELECT, SHOW VIEW, BINLOG MONITOR, SLAVE MONITOR ON *.* TO drctl_check@'127.0.0.1';
  `);
  const [row] = (await pair.primary.query('SELECT @@gtid_binlog_pos AS pos')) as { pos: string }[];
  await pair.replica.query(`SELECT MASTER_GTID_WAIT('${row!.pos}', 30)`);
}

/**
 * The seed bank's remote log: the app writes every payment here synchronously, in a third site;
 * a log entry whose transaction is not in the DR ledger after a failover is money in transit.
 */
async function seedRemoteLog(log: MariaDbServer): Promise<void> {
  await log.query(`
    CREATE DATABASE bank_log CHARACTER SET utf8mb4;
    CREATE TABLE bank_log.remote_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, account INT NOT NULL, transaction_id VARCHAR(40) NOT NULL, amount DECIMAL(18,2) NOT NULL, transaction_time DATETIME(6) NOT NULL, log_time DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), reconciled_time DATETIME(6) NULL, UNIQUE KEY (transaction_id), KEY (log_time));
    CREATE USER bank_app@'127.0.0.1' IDENTIFIED BY '${APP_PASSWORD}';
    GRANT SELECT, INSERT ON bank_log.* TO bank_app@'127.0.0.1';
    CREATE USER drctl_check@'127.0.0.1' IDENTIFIED BY '${CHECK_PASSWORD}';
    GRANT SELECT ON bank_log.* TO drctl_check@'127.0.0.1';
  `);
}

/** The app config lives in Main's Redis; DR's Redis replicates it (checked by a redis gate). */
async function seedConfig(redis: RedisServer, redisDr: RedisServer): Promise<void> {
  const dr = new Redis(redisDr.url);
  await dr.replicaof('127.0.0.1', redis.port);
  // The first sync takes a moment on a busy host: the switch's preflight wants the link up.
  for (let i = 0; i < 200 && !/master_link_status:up/.test(await dr.info('replication')); i++)
    await new Promise((r) => setTimeout(r, 100));
  dr.disconnect();
  const c = new Redis(redis.url);
  await c.mset(
    'bcf.resource.target.mysql',
    'live',
    'bcf.resource.target.redis',
    'live',
    'bcf.resource.target.ceph',
    'live',
    'bcf.resource.target.es',
    'live',
    'bcf.traffic',
    'open',
  );
  c.disconnect();
}

async function seedBuckets(ceph: CephCluster): Promise<void> {
  const s3 = createS3Client(
    { endpoint: ceph.endpoint, accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
    'source',
    40,
  );
  for (const b of ['docs-main', 'docs-dr']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  // Statements and KYC scans, replicated to DR (the demo writes both copies).
  const keys = Array.from(
    { length: 200 },
    (_, i) => `statements/2026/11/acct-${String(i % 100).padStart(3, '0')}-${i}.pdf`,
  );
  for (let i = 0; i < keys.length; i += 20) {
    await Promise.all(
      keys
        .slice(i, i + 20)
        .flatMap((Key) =>
          ['docs-main', 'docs-dr'].map((Bucket) =>
            s3.send(new PutObjectCommand({ Bucket, Key, Body: `statement ${Key}` })),
          ),
        ),
    );
  }
  s3.destroy();
}

async function seedSearch(main: SearchServer, dr: SearchServer): Promise<void> {
  const docs = Array.from({ length: 500 }, (_, i) => ({
    id: `txn-${i}`,
    account: 1 + (i % 100),
    amount: (i % 500) + 0.25,
    ts: '2026-11-21T23:00:00Z',
    memo: { channel: i % 3 ? 'mobile' : 'card' },
  }));
  const body = docs
    .map((d) => `{"index":{"_index":"transactions","_id":"${d.id}"}}\n${JSON.stringify(d)}\n`)
    .join('');
  for (const s of [main, dr]) {
    await fetch(`${s.url}/transactions`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mappings: { properties: { id: { type: 'keyword' }, ts: { type: 'date' } } } }),
    });
    const r = await fetch(`${s.url}/_bulk?refresh=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    if (!r.ok) throw new Error(`bulk load into ${s.url} failed: ${r.status}`);
  }
}

/** The port the bank app bound (it writes it once listening); fails if the app exits first. */
async function waitForPortFile(file: string, app: ChildProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (app.exitCode !== null || app.signalCode !== null)
      throw new Error(`the bank app exited during startup; see ${join(LAB_DIR, 'bank-app.log')}`);
    try {
      const port = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(port) && port > 0) return port;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`the bank app did not start within ${timeoutMs} ms; see ${join(LAB_DIR, 'bank-app.log')}`);
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms; see ${join(LAB_DIR, 'bank-app.log')}`);
}

/** Stops what a previous demo left running: only PIDs it recorded, checked against /proc. */
export async function stopLeftovers(log: (line: string) => void): Promise<void> {
  const file = join(LAB_DIR, 'pids.json');
  // The bridge (scripts/demo/bridge.ts) starts beside the lab and records its own pid.
  const bridgeFile = join(LAB_DIR, 'bridge.pid');
  if (!existsSync(file) && !existsSync(bridgeFile)) {
    log('nothing to stop: no demo is running');
    return;
  }
  const pids = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>) : {};
  if (existsSync(bridgeFile)) pids['bridge'] = Number(readFileSync(bridgeFile, 'utf8'));
  for (const [name, pid] of Object.entries(pids)) {
    if (pid <= 0) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!/mariadbd|redis-server|java|bank-app|drctl\.js\0serve/.test(cmd)) continue; // the PID was reused by something else
    process.kill(pid, 'SIGTERM');
    log(`stopped ${name} (pid ${pid})`);
  }
  if ('ceph' in pids) {
    const { stopCeph } = await import('../../test/harness/ceph.js');
    await stopCeph(join(LAB_DIR, 'ceph'));
    log('stopped ceph daemons');
  }
  rmSync(file, { force: true });
  rmSync(bridgeFile, { force: true });
}
