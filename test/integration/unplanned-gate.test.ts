import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { submitApproval } from '../../src/engine/approvals.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { waitForReplicaApplied } from '../../src/reconcile/replica-gate.js';
import { applyUnplanned } from '../../src/reconcile/unplanned.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { execRunbook } from '../fixtures/engine-exec.js';
import { makeTempDir } from '../harness/process.js';
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

  it('drives an unplanned switch: Main-only step skipped, replica-only gate, reconcile, blacklist journaled, data-risk approval with the totals', async () => {
    // Replication to DR is cut; two payments of account ACC-7 commit on Main only, and the
    // remote log (a database of its own on the DR host here) has them.
    await pair.replica.query('STOP SLAVE');
    await pair.primary.query('INSERT INTO bank.ledger VALUES (100, 10.00), (101, 20.00)');
    await pair.replica.query(`CREATE DATABASE bank_log;
      CREATE TABLE bank_log.remote_log (id INT PRIMARY KEY, account VARCHAR(16), transaction_id INT, amount DECIMAL(12,2), log_time DATETIME);
      INSERT INTO bank_log.remote_log VALUES (1, 'ACC-1', 4, 4.00, NOW()), (2, 'ACC-7', 100, 10.00, NOW()), (3, 'ACC-7', 101, 20.00, NOW());
      CREATE DATABASE blk`);
    const dir = makeTempDir('unplanned-run');
    const file = join(dir, 'rb.yaml');
    writeFileSync(
      file,
      `apiVersion: drctl/v1
kind: Runbook
name: bank
dataRiskRole: head
roles: { dba: null, head: { members: [carol] } }
resources:
  core: { kind: mysql, primary: '${pair.primary.dsn}', replica: '${pair.replica.dsn}' }
  payments-log:
    kind: remote-log
    log: '${pair.replica.dsn}'
    logTable: bank_log.remote_log
    ledger: '${pair.replica.dsn}'
    ledgerTable: bank.ledger
    key: transaction_id=id
    compare: amount
    blacklist: '${pair.replica.dsn}#blk.blacklist'
steps:
  - { id: stop-main, owner: dba, run: ['false'], unplanned: skip }
  - { id: gate, owner: dba, needs: [stop-main], check: { kind: mysql, resource: core } }
  - { id: promote, owner: dba, needs: [gate], run: ['true'] }
`,
    );
    const rb = applyUnplanned(loadRunbook(file));
    const asked: string[] = [];
    const run = await execRunbook(rb, {
      dir,
      approvalPollMs: 20,
      observer: {
        onEvent: (ev) => {
          if (ev.type !== 'approval-requested') return;
          asked.push(`${ev.role}: ${ev.instructions}`);
          setTimeout(() => submitApproval(dir, { step: ev.step, decision: 'approved', by: 'carol' }), 20);
        },
      },
    });
    const of = <T extends JournalEvent['type']>(t: T) =>
      run.events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === t);
    expect(run.result.status).toBe('succeeded');
    expect(of('step-skipped').map((e) => [e.step, e.reason])).toEqual([
      ['stop-main', 'unplanned: skipped (Main may be gone)'],
    ]);
    const gate = of('gate-result')[0]!.result;
    expect(gate.status).toBe('unverified');
    expect(gate.summary).toContain(
      'RPO not proven: 2 transactions, amount 30.00 in transit, 1 account blacklisted',
    );
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/^head: RPO not proven: 2 transactions, amount 30\.00 .*ACC-7 30\.00/);
    expect(of('step-effect').map((e) => e.detail)).toEqual([
      expect.stringContaining('add ACC-7 to blacklist mysql'),
    ]);
    expect(of('approval')[0]).toMatchObject({ step: 'gate', decision: 'approved', by: 'carol' });
    expect(await pair.replica.query('SELECT account, amount, transactions FROM blk.blacklist')).toEqual([
      { account: 'ACC-7', amount: '30.00', transactions: 2 },
    ]);
    await pair.replica.query('START SLAVE');
  });
});
