import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { openSession } from '../../checkers/mysql/session.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeRunbook } from '../fixtures/engine-cli.js';
import { parseCsv } from '../fixtures/csv.js';
import { freePort } from '../harness/process.js';
import { startMariaDb, type MariaDbServer } from '../harness/mysql.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

/**
 * `drctl reconcile` on a real MariaDB (the remote log and the ledger, each its own database, read
 * by a user with SELECT on those two tables only) and a real Redis: exit codes, totals per
 * currency, per-account detail, and the blacklist in Redis and in a MySQL table.
 */
const PW = 'Rec0n-pw-secret';
let db: MariaDbServer & { stop(): Promise<void> };
let redis: RedisServer;
let rc: Redis;
let dsn: string;
let blDsn: string;
const dir = mkdtempSync(join(tmpdir(), 'drctl-reconcile-'));

interface Entry {
  account: string;
  tx: string;
  amount: string;
  currency?: string;
  ticked?: boolean;
}

/** A fresh scenario: `<name>_log.remote_log` and `<name>.ledger`; the entries are logged, `onLedger` are booked. */
async function scenario(name: string, log: Entry[], onLedger: Entry[]): Promise<string[]> {
  const row = (e: Entry, i: number) =>
    `(${i + 1}, '${e.account}', '${e.tx}', ${e.amount}, '${e.currency ?? 'EUR'}', NOW(3), NOW(3), ${e.ticked ? 'NOW(3)' : 'NULL'})`;
  await db.query(`
    CREATE DATABASE ${name}_log; CREATE DATABASE ${name};
    CREATE TABLE ${name}_log.remote_log (id BIGINT PRIMARY KEY, account VARCHAR(32) NOT NULL,
      transaction_id VARCHAR(40) NOT NULL, amount DECIMAL(14,2) NOT NULL, currency CHAR(3) NOT NULL,
      transaction_time DATETIME(3) NOT NULL, log_time DATETIME(3) NOT NULL, reconciled_time DATETIME(3) NULL,
      KEY (transaction_id));
    CREATE TABLE ${name}.ledger (transaction_id VARCHAR(40) PRIMARY KEY, account VARCHAR(32) NOT NULL,
      amount DECIMAL(14,2) NOT NULL, currency CHAR(3) NOT NULL);
    ${log.length ? `INSERT INTO ${name}_log.remote_log VALUES ${log.map(row).join(', ')};` : ''}
    ${onLedger.length ? `INSERT INTO ${name}.ledger VALUES ${onLedger.map((e) => `('${e.tx}', '${e.account}', ${e.amount}, '${e.currency ?? 'EUR'}')`).join(', ')};` : ''}
    GRANT SELECT ON ${name}_log.remote_log TO 'recon'@'127.0.0.1';
    GRANT SELECT ON ${name}.ledger TO 'recon'@'127.0.0.1';`);
  return [
    '--log',
    dsn,
    '--log-table',
    `${name}_log.remote_log`,
    '--ledger',
    dsn,
    '--ledger-table',
    `${name}.ledger`,
  ];
}

/**
 * drctl in this process (a spawned CLI costs seconds on a loaded 2-core machine): stdout and
 * stderr captured, the exit code main() returns.
 */
async function reconcile(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = (chunk: string | Uint8Array) => ((stdout += String(chunk)), true);
  process.stderr.write = (chunk: string | Uint8Array) => ((stderr += String(chunk)), true);
  try {
    const exitCode = await main(['node', 'drctl', 'reconcile', ...args]);
    return { exitCode, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
}

async function blacklistRows(table: string) {
  return (await db.query(
    `SELECT account, amount, transactions, transaction_ids, added_by FROM ${table} ORDER BY account`,
  )) as {
    account: string;
    amount: string;
    transactions: number;
    transaction_ids: string;
    added_by: string;
  }[];
}

beforeAll(async () => {
  [db, redis] = await Promise.all([startMariaDb(), startRedis()]);
  await db.query(`
    CREATE USER 'recon'@'127.0.0.1' IDENTIFIED BY '${PW}';
    CREATE USER 'bl'@'127.0.0.1' IDENTIFIED BY '${PW}';
    CREATE DATABASE blk;
    GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON blk.* TO 'bl'@'127.0.0.1';`);
  dsn = `mysql://recon:${PW}@127.0.0.1:${db.port}`;
  blDsn = `mysql://bl:${PW}@127.0.0.1:${db.port}`;
  rc = new Redis(redis.url);
});

afterAll(async () => {
  rc?.disconnect();
  await Promise.allSettled([db?.stop(), redis?.stop()]);
});

describe('drctl reconcile', () => {
  it('finds entries missing on the ledger and with a different amount, totals per currency exactly, and blacklists exactly those accounts', async () => {
    const ok = (account: string, tx: string, amount: string, currency = 'EUR') => ({
      account,
      tx,
      amount,
      currency,
    });
    const log: Entry[] = [
      ok('A1', 't01', '0.10'),
      ok('A1', 't02', '0.20'),
      ok('A2', 't03', '100.00', 'USD'),
      ok('A2', 't04', '5.55'),
      ok('A3', 't05', '7.00'),
      ok('A4', 't06', '1.00', 'USD'),
      // Ticked off: outside the default window even though the ledger lacks it.
      { ...ok('A9', 't07', '999.00'), ticked: true },
    ];
    const ledger: Entry[] = [
      ok('A2', 't04', '5.55'),
      ok('A3', 't05', '7.01'),
      ok('A4', 't06', '1.00', 'USD'),
    ];
    const args = await scenario('s1', log, ledger);
    const csv = join(dir, 's1.csv');
    const r = await reconcile(
      ...args,
      '--currency',
      'currency',
      '--blacklist',
      `${redis.url}/0#s1.bl`,
      '--csv',
      csv,
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(1);
    // 0.10 + 0.20 is 0.30 exactly (a float sum prints 0.30000000000000004).
    expect(r.stdout).toContain('IN TRANSIT: 3 accounts, 4 transactions, amount EUR 7.30, USD 100.00');
    expect(r.stdout).toContain('3 missing, 1 different; 2 of 6 entries reconciled');
    expect(r.stdout).toMatch(/A1\s+2\s+EUR 0\.30\s+t01: missing on the ledger/);
    expect(r.stdout).toMatch(/A3\s+1\s+EUR 7\.00\s+t05: amount 7\.00 ≠ 7\.01/);
    expect(r.stdout).not.toContain('A9');
    expect(r.stdout).not.toContain(PW);
    expect((await rc.smembers('s1.bl')).sort()).toEqual(['A1', 'A2', 'A3']);
    const reason = JSON.parse((await rc.hget('s1.bl:reason', 'A2'))!) as Record<string, unknown>;
    expect(reason).toMatchObject({
      by: 'drctl reconcile',
      amount: 'USD 100.00',
      transactions: 1,
      ids: ['t03'],
    });
    expect(r.stdout).toContain('add A1 to blacklist redis');
    const rows = parseCsv(readFileSync(csv, 'utf8'));
    expect(rows[0]).toEqual(['account', 'transaction_id', 'state', 'currency', 'amount', 'differences']);
    expect(rows.slice(1).map((x) => `${x[1]}:${x[2]}`)).toEqual([
      't01:missing',
      't02:missing',
      't03:missing',
      't05:different',
    ]);

    const j = await reconcile(...args, '--currency', 'currency', '--json');
    expect(j.exitCode).toBe(1);
    const doc = JSON.parse(j.stdout) as {
      totals: Record<string, unknown>;
      accounts: { account: string; amounts: unknown }[];
    };
    expect(doc.totals).toMatchObject({
      accounts: 3,
      transactions: 4,
      missing: 3,
      different: 1,
      amounts: { EUR: '7.30', USD: '100.00' },
    });
    expect(doc.accounts.find((a) => a.account === 'A2')?.amounts).toEqual({ USD: '100.00' });
  });

  it('shrinks the blacklist on a re-run as late transactions reach the ledger, and never removes an account it did not add', async () => {
    const log: Entry[] = [
      { account: 'B1', tx: 'u1', amount: '10.00' },
      { account: 'B1', tx: 'u2', amount: '20.00' },
      { account: 'B2', tx: 'u3', amount: '30.00' },
    ];
    const args = await scenario('s2', log, []);
    const target = `${blDsn}#blk.s2`;
    await db.query(
      `CREATE TABLE blk.s2 (account VARCHAR(191) NOT NULL PRIMARY KEY, amount VARCHAR(1024) NOT NULL, transactions INT NOT NULL, transaction_ids TEXT NOT NULL, reason TEXT NOT NULL, added_by VARCHAR(64) NOT NULL, updated_at DATETIME(3) NOT NULL);
       INSERT INTO blk.s2 VALUES ('FRAUD7', '0', 0, '', 'manual: fraud case 7', 'ops', NOW(3))`,
    );
    const first = await reconcile(...args, '--blacklist', target);
    expect(first.exitCode).toBe(1);
    expect(
      (await blacklistRows('blk.s2')).map((x) => [x.account, x.amount, x.transactions, x.transaction_ids]),
    ).toEqual([
      ['B1', '30.00', 2, 'u1,u2'],
      ['B2', '30.00', 1, 'u3'],
      ['FRAUD7', '0', 0, ''],
    ]);

    // B1's two transactions are recovered; B2's is booked with another amount.
    await db.query(
      `INSERT INTO s2.ledger VALUES ('u1', 'B1', 10.00, 'EUR'), ('u2', 'B1', 20.00, 'EUR'), ('u3', 'B2', 31.00, 'EUR')`,
    );
    const second = await reconcile(...args, '--blacklist', target);
    expect(second.exitCode).toBe(1);
    expect(second.stdout).toContain('remove B1 from blacklist mysql');
    // B2's reason (one transaction, 30.00) has not changed: nothing to write for it.
    expect(second.stdout).not.toContain('B2 on blacklist');
    expect((await blacklistRows('blk.s2')).map((x) => x.account)).toEqual(['B2', 'FRAUD7']);

    // --dry-run shows the change and writes nothing.
    await db.query(`UPDATE s2.ledger SET amount = 30.00 WHERE transaction_id = 'u3'`);
    const dry = await reconcile(...args, '--blacklist', target, '--dry-run');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('[dry run] would remove B2 from blacklist');
    expect((await blacklistRows('blk.s2')).map((x) => x.account)).toEqual(['B2', 'FRAUD7']);

    const third = await reconcile(...args, '--blacklist', target);
    expect(third.exitCode).toBe(0);
    expect(third.stdout).toContain('RECONCILED: all 3 entries of the window are on the ledger');
    expect((await blacklistRows('blk.s2')).map((x) => x.account)).toEqual(['FRAUD7']);
  });

  it('writes both blacklist targets in one run, from a runbook remote-log resource', async () => {
    const args = await scenario('s3', [{ account: 'C1', tx: 'v1', amount: '12.34', currency: 'GBP' }], []);
    const file = writeRunbook(dir, 's3', {
      roles: { dba: null },
      resources: {
        'payments-log': {
          kind: 'remote-log',
          log: dsn,
          logTable: 's3_log.remote_log',
          ledger: dsn,
          ledgerTable: 's3.ledger',
          currency: 'currency',
          blacklist: [`${redis.url}#s3.bl`, `${blDsn}#blk.s3`],
        },
      },
      steps: [{ id: 'noop', owner: 'dba', run: ['true'] }],
    });
    expect(args).toHaveLength(8);
    const r = await reconcile('--resource', 'payments-log', '-f', file);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('IN TRANSIT: 1 account, 1 transaction, amount GBP 12.34');
    expect(await rc.smembers('s3.bl')).toEqual(['C1']);
    expect((await blacklistRows('blk.s3')).map((x) => [x.account, x.amount, x.added_by])).toEqual([
      ['C1', 'GBP 12.34', 'drctl reconcile'],
    ]);
  });

  it('judges amounts by value when the ledger keeps another DECIMAL scale: 5.55 is 5.5500, 7.00 is not 7.0001', async () => {
    const e = (account: string, tx: string, amount: string) => ({ account, tx, amount });
    const log = [e('D1', 'd1', '5.55'), e('D2', 'd2', '7.00'), e('D3', 'd3', '-0.10')];
    const args = await scenario('s7', log, [
      e('D1', 'd1', '5.55'),
      e('D2', 'd2', '7.00'),
      e('D3', 'd3', '-0.10'),
    ]);
    await db.query(`ALTER TABLE s7.ledger MODIFY amount DECIMAL(19,4) NOT NULL;
      UPDATE s7.ledger SET amount = 7.0001 WHERE transaction_id = 'd2'`);
    const r = await reconcile(...args, '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('0 missing, 1 different; 2 of 3 entries reconciled');
    expect(r.stdout).toMatch(/D2\s+1\s+7\.00\s+d2: amount 7\.00 ≠ 7\.0001/);
    expect(r.exitCode).toBe(1);
  });

  it('exits 0 on an empty window (everything ticked off, or nothing since a time)', async () => {
    const args = await scenario('s4', [{ account: 'D1', tx: 'w1', amount: '1.00', ticked: true }], []);
    const r = await reconcile(...args, '--blacklist', `${redis.url}#s4.bl`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('RECONCILED: all 0 entries');
    expect(r.stdout).toContain('entries not ticked off (reconciled_time IS NULL)');
    expect(await rc.exists('s4.bl')).toBe(0);
    // With --since the tick column is not used: the ticked entry is in the last hour's window.
    const since = await reconcile(...args, '--since', '1h');
    expect(since.exitCode).toBe(1);
    const future = await reconcile(...args, '--since', '2099-01-01T00:00:00Z');
    expect(future.exitCode).toBe(0);
  });

  it('exits 2 naming a column the log table lacks, and the flag that named it', async () => {
    const args = await scenario('s5', [{ account: 'E1', tx: 'x1', amount: '1.00' }], []);
    const r = await reconcile(...args, '--currency', 'ccy', '--blacklist', `${redis.url}#s5.bl`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('remote log table s5_log.remote_log has no column "ccy" (--currency)');
    const k = await reconcile(...args, '--key', 'txn_id');
    expect(k.exitCode).toBe(2);
    expect(k.stderr).toContain('has no column "txn_id" (--key)');
    expect(await rc.exists('s5.bl')).toBe(0);
  });

  it('exits 2 when the log store cannot be reached, and leaves the blacklist untouched', async () => {
    const args = await scenario('s6', [{ account: 'F1', tx: 'y1', amount: '1.00' }], []);
    const first = await reconcile(...args, '--blacklist', `${redis.url}#s6.bl`);
    expect(first.exitCode).toBe(1);
    const before = [await rc.smembers('s6.bl'), await rc.hgetall('s6.bl:reason')];
    const port = await freePort();
    const dead = [...args];
    dead[1] = `mysql://recon:${PW}@127.0.0.1:${port}`;
    const r = await reconcile(...dead, '--blacklist', `${redis.url}#s6.bl`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`remote log recon@127.0.0.1:${port}: cannot connect (ECONNREFUSED)`);
    expect(r.stderr).not.toContain(PW);
    expect([await rc.smembers('s6.bl'), await rc.hgetall('s6.bl:reason')]).toEqual(before);
  });

  it('keeps no query result alive once it is returned (memory stays bounded over a long walk)', async () => {
    // A walk of 1,000,000 log entries reached 1 GB RSS: every result stayed reachable from the
    // session's never-settling failure promise, through a Promise.race reaction per query.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const s = await openSession(dsn, 'source', { label: 'remote log' });
    try {
      gc();
      const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      const before = used();
      for (let i = 0; i < 60; i++) await s.queryRaw("SELECT REPEAT('x', 1000000) AS big");
      gc();
      const grown = (used() - before) / 1e6;
      expect(grown).toBeLessThan(20);
    } finally {
      await s.close();
    }
  });
});
