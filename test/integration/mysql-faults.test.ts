import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMysqlCheck } from '../../checkers/mysql/checker.js';
import { mysqlOptionsSchema, type MysqlOptionsInput } from '../../checkers/mysql/options.js';
import { ConnectionLostError } from '../../checkers/mysql/session.js';
import type { CheckResult } from '../../checkers/types.js';
import { ConnectionError } from '../../src/errors.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';

/**
 * Issue 14 items 1 and 10: a frozen (SIGSTOPped) or killed server ends `check mysql` with a
 * connection error naming the side and the table, within bounded time; an abort takes effect
 * at once. Never a hang, never an UNVERIFIED verdict carrying raw SQL.
 */
let pair: MariaDbPair;

let onRows: (() => void) | undefined;

function check(opts: MysqlOptionsInput, signal = new AbortController().signal): Promise<CheckResult> {
  const options = mysqlOptionsSchema.parse({ waitMs: 3000, chunkTimeMs: 50, gtid: false, ...opts });
  return runMysqlCheck({ kind: 'mysql', source: pair.primary.dsn, target: pair.replica.dsn }, options, {
    signal,
    progress: (e) => {
      if (e.phase === 'rows' && (e.done ?? 0) > 0) onRows?.();
    },
  });
}

/** Resolves once the row scan has compared some rows (the fault then hits a table). */
function scanning(): Promise<void> {
  return new Promise((resolve) => {
    onRows = () => {
      onRows = undefined;
      resolve();
    };
  });
}

/** Settles the promise and measures how long it took. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const t0 = Date.now();
  try {
    await p;
    return { ms: Date.now() - t0, error: undefined };
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
}

beforeAll(async () => {
  pair = await startMariaDbPair();
  await pair.primary.query(`CREATE DATABASE f; USE f;
    CREATE TABLE f.big (id INT PRIMARY KEY, v VARCHAR(20));
    INSERT INTO f.big SELECT seq, CONCAT('v', seq) FROM seq_1_to_100000`);
  await waitForReplicaCatchUp(pair, 60);
}, 120_000);

afterAll(async () => {
  try {
    process.kill(pair.replica.pid, 'SIGCONT');
  } catch {
    // already gone
  }
  await pair?.stop();
});

describe('mysql checker against a frozen or dying server', () => {
  it('gives a connection error within ~15 s when the replica freezes in the middle of a scan', async () => {
    const running = timed(check({ databases: ['f'], maxRowsPerSecond: 20_000 }));
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pair.replica.pid, 'SIGSTOP');
    try {
      const { ms, error } = await running;
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect(String((error as Error).message)).toMatch(
        /lost the connection to the target .*(during f\.big)?.*stopped answering/,
      );
      expect(ms).toBeLessThan(40_000);
    } finally {
      process.kill(pair.replica.pid, 'SIGCONT');
    }
  }, 60_000);

  it('gives a connection error within the connect deadline when the replica is frozen before the check', async () => {
    process.kill(pair.replica.pid, 'SIGSTOP');
    try {
      const { ms, error } = await timed(check({ databases: ['f'] }));
      expect(error).toBeInstanceOf(ConnectionError);
      expect(String((error as Error).message)).toMatch(/target/);
      expect(ms).toBeLessThan(25_000);
    } finally {
      process.kill(pair.replica.pid, 'SIGCONT');
    }
  }, 60_000);

  it('an abort (Ctrl-C) ends a check stuck on a frozen server within a second or two', async () => {
    const controller = new AbortController();
    const running = timed(check({ databases: ['f'], maxRowsPerSecond: 20_000 }, controller.signal));
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pair.replica.pid, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 500));
      const abortedAt = Date.now();
      controller.abort(new Error('interrupted'));
      const { error } = await running;
      expect(Date.now() - abortedAt).toBeLessThan(2500);
      expect((error as Error).message).toBe('interrupted');
    } finally {
      process.kill(pair.replica.pid, 'SIGCONT');
    }
  }, 60_000);

  it('names the side and the table when the replica is killed mid-check (no raw SQL, no verdict)', async () => {
    const started = scanning();
    const running = timed(check({ databases: ['f'], maxRowsPerSecond: 20_000 }));
    await started;
    process.kill(pair.replica.pid, 'SIGKILL');
    const { ms, error } = await running;
    expect(error).toBeInstanceOf(ConnectionLostError);
    const message = (error as Error).message;
    expect(message).toMatch(/^lost the connection to the target root@127\.0\.0\.1:\d+ during f\.big: /);
    expect(message).not.toMatch(/SELECT/);
    expect(ms).toBeLessThan(20_000);
  }, 60_000);
});
