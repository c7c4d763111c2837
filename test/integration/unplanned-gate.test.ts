import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForReplicaApplied } from '../../src/reconcile/replica-gate.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';

/**
 * The replica-only gate of `drctl switch --unplanned`, on a real MariaDB primary + GTID replica:
 * a replica whose SQL thread lags its IO thread (MASTER_DELAY) makes it wait, then pass; one whose
 * SQL thread is stopped with relay log left makes it fail, naming the GTIDs not applied.
 */
let pair: MariaDbPair;

async function ioPos(): Promise<string> {
  const [row] = (await pair.replica.query('SHOW SLAVE STATUS')) as { Gtid_IO_Pos: string }[];
  return row?.Gtid_IO_Pos ?? '';
}

/** Waits until the replica's IO thread has received the primary's whole binlog. */
async function received(): Promise<string> {
  const [row] = (await pair.primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[];
  const want = row!.p;
  for (let i = 0; i < 200 && (await ioPos()) !== want; i++) await sleep(50);
  expect(await ioPos()).toBe(want);
  return want;
}

beforeAll(async () => {
  pair = await startMariaDbPair();
  await pair.primary.query(
    'CREATE DATABASE bank; CREATE TABLE bank.ledger (id INT PRIMARY KEY, amount DECIMAL(12,2))',
  );
  await waitForReplicaCatchUp(pair);
});

afterAll(async () => {
  await pair?.stop();
});

describe('replica-only gate', () => {
  it('passes at once on a replica that applied everything it received', async () => {
    const r = await waitForReplicaApplied(pair.replica.dsn, { signal: AbortSignal.timeout(10_000) });
    expect(r.ok).toBe(true);
    expect(r.notApplied).toEqual([]);
    expect(r.summary).toMatch(/applied everything it received .*SQL thread idle/);
  });

  it('fails naming the GTIDs not applied when the SQL thread is stopped with relay log left', async () => {
    await pair.replica.query('STOP SLAVE SQL_THREAD');
    const [before] = (await pair.replica.query('SELECT @@gtid_slave_pos AS p')) as { p: string }[];
    await pair.primary.query(
      'INSERT INTO bank.ledger VALUES (1, 1.00); INSERT INTO bank.ledger VALUES (2, 2.00); INSERT INTO bank.ledger VALUES (3, 3.00)',
    );
    const pos = await received();
    const last = BigInt(pos.split('-')[2]!);
    const expected = [last - 2n, last - 1n, last].map((s) => `0-1-${s}`);
    expect(before!.p).toBe(`0-1-${last - 3n}`);
    const r = await waitForReplicaApplied(pair.replica.dsn, { signal: AbortSignal.timeout(10_000) });
    expect(r.ok).toBe(false);
    expect(r.notApplied).toEqual(expected);
    expect(r.summary).toContain(
      `SQL thread is stopped with relay log left; GTIDs received but not applied: ${expected.join(', ')}`,
    );

    await pair.replica.query('START SLAVE SQL_THREAD');
    const after = await waitForReplicaApplied(pair.replica.dsn, { signal: AbortSignal.timeout(10_000) });
    expect(after.ok).toBe(true);
    expect(after.executed).toBe(pos);
  });

  it('waits while the SQL thread lags the IO thread, then passes', async () => {
    await pair.replica.query('STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 2; START SLAVE');
    try {
      await pair.primary.query('INSERT INTO bank.ledger VALUES (4, 4.00)');
      const pos = await received();
      const [applied] = (await pair.replica.query('SELECT @@gtid_slave_pos AS p')) as { p: string }[];
      expect(applied!.p).not.toBe(pos);
      const r = await waitForReplicaApplied(pair.replica.dsn, {
        signal: AbortSignal.timeout(20_000),
        pollMs: 100,
      });
      expect(r.ok).toBe(true);
      expect(r.executed).toBe(pos);
      expect(r.waitedMs).toBeGreaterThan(300);
      expect(await pair.replica.query('SELECT amount FROM bank.ledger WHERE id = 4')).toEqual([
        { amount: '4.00' },
      ]);
    } finally {
      await pair.replica.query('STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE');
    }
  });
});
