import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareResume } from '../../src/engine/resume.js';
import type { JournalEvent } from '../../src/journal/events.js';
import type { Action, Resource, Runbook } from '../../src/runbook/schema.js';
import { execRunbook, type ExecRun } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep } from '../fixtures/engine-runbook.js';
import { startMariaDb, type MariaDbServer } from '../harness/mysql.js';

/**
 * sql steps against a real MariaDB: atomicity, retries, resume, and what a timeout or an abort
 * leaves on the server (rows and information_schema.PROCESSLIST).
 */
let db: MariaDbServer & { stop(): Promise<void> };
let resources: Record<string, Resource>;

beforeAll(async () => {
  db = await startMariaDb();
  await db.query('CREATE DATABASE s; CREATE TABLE s.c (id INT PRIMARY KEY, n INT) ENGINE=InnoDB');
  resources = { core: { kind: 'mysql', primary: db.dsn, replica: db.dsn } };
}, 120_000);

afterAll(async () => {
  await db?.stop();
});

async function counter(id: number): Promise<number | undefined> {
  const rows = (await db.query(`SELECT n FROM s.c WHERE id=${id}`)) as { n: number }[];
  return rows[0]?.n;
}

async function setCounter(id: number, n: number): Promise<void> {
  await db.query(`REPLACE INTO s.c VALUES (${id}, ${n})`);
}

/** Queries still on the server whose text contains `marker` (other than the one looking). */
async function processesWith(marker: string): Promise<string[]> {
  const rows = (await db.query(
    `SELECT INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE '%${marker}%' AND INFO NOT LIKE '%PROCESSLIST%'`,
  )) as { INFO: string }[];
  return rows.map((r) => r.INFO);
}

const sql = (statements: string | string[], expect?: string | number): Action => ({
  kind: 'sql',
  sql: { resource: 'core', statements, ...(expect === undefined ? {} : { expect }) },
});

const finishedOf = (run: ExecRun, id: string) =>
  run.events.find(
    (e): e is Extract<JournalEvent, { type: 'step-finished' }> => e.type === 'step-finished' && e.step === id,
  );
const effectsOf = (run: ExecRun, id: string) =>
  run.events.filter(
    (e): e is Extract<JournalEvent, { type: 'step-effect' }> => e.type === 'step-effect' && e.step === id,
  );

describe('sql steps: atomicity', () => {
  it('runs DML statements in one transaction: a failing later statement undoes the first, retries do not add up', async () => {
    await setCounter(1, 0);
    const rb = makeRunbook(
      [
        makeStep('bump', sql(['UPDATE s.c SET n=n+1 WHERE id=1', 'SELECT * FROM s.no_such_table']), {
          retry: { count: 2, backoffMs: 10, factor: 1, maxMs: 10 },
        }),
      ],
      { resources },
    );
    const run = await execRunbook(rb);
    expect(finishedOf(run, 'bump')).toMatchObject({ status: 'failed', attempts: 3 });
    expect(finishedOf(run, 'bump')?.error).toMatch(/statement 2 of 2.*rolled back/);
    expect(await counter(1)).toBe(0);
    const effects = effectsOf(run, 'bump');
    expect(effects).toHaveLength(3);
    expect(effects.every((e) => e.outcome === 'rolled-back')).toBe(true);
  });

  it('a failed transactional step resumed later applies its statements once', async () => {
    await setCounter(2, 10);
    const rb = makeRunbook(
      [makeStep('double', sql(['UPDATE s.c SET n=n*2 WHERE id=2', 'SELECT * FROM s.missing_until_resume']))],
      { resources },
    );
    const first = await execRunbook(rb);
    expect(first.result.status).toBe('failed');
    expect(await counter(2)).toBe(10);
    await db.query('CREATE TABLE s.missing_until_resume (x INT)');
    const resume = prepareResume(first.view, rb, { retryUnknown: false, markDone: new Map(), by: 'test' });
    const second = await execRunbook(rb, { dir: first.dir, resume: { ...resume, by: 'test' } });
    expect(second.result.status).toBe('succeeded');
    expect(await counter(2)).toBe(20);
    expect(effectsOf(second, 'double').at(-1)).toMatchObject({ outcome: 'committed', target: 'transaction' });
  });

  it('checks expect before COMMIT: a wrong value rolls the change back', async () => {
    await setCounter(3, 5);
    const rb = makeRunbook(
      [makeStep('guarded', sql(['UPDATE s.c SET n=n+1 WHERE id=3', 'SELECT n FROM s.c WHERE id=3'], 7))],
      { resources },
    );
    const run = await execRunbook(rb);
    expect(finishedOf(run, 'guarded')?.error).toMatch(/expected 7, got 6/);
    expect(await counter(3)).toBe(5);
  });

  it('statements that cannot be in a transaction commit one by one, each journaled, never repeated without a decision', async () => {
    await setCounter(4, 10);
    await db.query('DROP TABLE IF EXISTS s.ddl_made');
    const rb = makeRunbook(
      [
        makeStep(
          'mixed',
          sql([
            'UPDATE s.c SET n=n+10 WHERE id=4',
            'CREATE TABLE s.ddl_made (x INT)',
            'SELECT * FROM s.nope',
          ]),
          { retry: { count: 2, backoffMs: 10, factor: 1, maxMs: 10 } },
        ),
      ],
      { resources },
    );
    const run = await execRunbook(rb);
    const fin = finishedOf(run, 'mixed');
    // Not retried: the retry would apply statement 1 again.
    expect(fin).toMatchObject({ status: 'failed', attempts: 1 });
    expect(fin?.error).toMatch(/statement 3 of 3.*statements 1, 2 committed/);
    expect(await counter(4)).toBe(20);
    expect(effectsOf(run, 'mixed').map((e) => [e.target, e.outcome])).toEqual([
      ['statement 1', 'committed'],
      ['statement 2', 'committed'],
      ['statement 3', 'failed'],
    ]);
    // Resume refuses to run it again without a decision...
    const decisions = { retryUnknown: false, markDone: new Map<string, string>(), by: 'test' };
    expect(() => prepareResume(run.view, rb, decisions)).toThrow(/mixed .*committed/);
    // ...and --mark-done records the decision without touching the server.
    const marked = prepareResume(run.view, rb, {
      ...decisions,
      markDone: new Map([['mixed', 'finished by hand']]),
    });
    const second = await execRunbook(rb, { dir: run.dir, resume: { ...marked, by: 'test' } });
    expect(second.result.status).toBe('succeeded');
    expect(await counter(4)).toBe(20);
  });

  it('refuses a string holding several statements instead of running part of it', async () => {
    await setCounter(5, 1);
    const rb = makeRunbook(
      [makeStep('multi', sql('UPDATE s.c SET n=2 WHERE id=5; UPDATE s.c SET n=3 WHERE id=5'))],
      {
        resources,
      },
    );
    const run = await execRunbook(rb);
    expect(finishedOf(run, 'multi')?.error).toMatch(/holds 2 SQL statements/);
    expect(await counter(5)).toBe(1);
  });
});

describe('sql steps: timeouts and aborts stop the work on the server', () => {
  it('a step timeout kills a blocked UPDATE and rolls it back; a late result is not a success', async () => {
    await setCounter(6, 1);
    const holder = await mysql.createConnection({ host: '127.0.0.1', port: db.port, user: 'root' });
    await holder.query('START TRANSACTION');
    await holder.query('SELECT * FROM s.c WHERE id=6 FOR UPDATE');
    // The lock goes away 6 s in: without a kill, the UPDATE would then run and commit.
    const release = setTimeout(() => void holder.query('ROLLBACK'), 6_000);
    try {
      const rb = makeRunbook(
        [
          makeStep('blocked', sql('UPDATE s.c SET n=99 WHERE id=6 /* drctl-blocked */'), {
            timeoutMs: 1_500,
          }),
        ],
        { resources },
      );
      const t0 = Date.now();
      const run = await execRunbook(rb);
      const took = Date.now() - t0;
      expect(finishedOf(run, 'blocked')).toMatchObject({ status: 'failed' });
      expect(finishedOf(run, 'blocked')?.error).toMatch(/timed out after 1.50?s/);
      expect(took).toBeLessThan(5_000);
      expect(await processesWith('drctl-blocked')).toEqual([]);
    } finally {
      clearTimeout(release);
      await holder.query('ROLLBACK');
      await holder.end();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await counter(6)).toBe(1);
  });

  it('a step timeout removes SELECT SLEEP from the process list', async () => {
    const rb = makeRunbook(
      [makeStep('sleepy', sql('SELECT SLEEP(20) /* drctl-sleepy */'), { timeoutMs: 1_000 })],
      {
        resources,
      },
    );
    const t0 = Date.now();
    const run = await execRunbook(rb);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(finishedOf(run, 'sleepy')?.status).toBe('failed');
    expect(await processesWith('drctl-sleepy')).toEqual([]);
  });

  it('a second Ctrl-C kills the query, and the journal says cancelled, not succeeded', async () => {
    await setCounter(7, 1);
    const rb = makeRunbook(
      [makeStep('long', sql(['UPDATE s.c SET n=50 WHERE id=7', 'SELECT SLEEP(20) /* drctl-ctrlc */']))],
      { resources },
    );
    const run = await execRunbook(rb, {
      onExecutor: (ex) => {
        setTimeout(() => ex.interrupt(), 700);
        setTimeout(() => ex.interrupt(), 900);
      },
    });
    expect(run.result.status).toBe('interrupted');
    expect(finishedOf(run, 'long')?.status).toBe('cancelled');
    expect(await processesWith('drctl-ctrlc')).toEqual([]);
    expect(await counter(7)).toBe(1);
  });

  it('a wait step with a blocked sql condition stops at its timeout and leaves no query behind', async () => {
    const rb = makeRunbook(
      [
        makeStep(
          'wait-db',
          {
            kind: 'wait',
            until: {
              kind: 'sql',
              sql: { resource: 'core', statements: 'SELECT SLEEP(20) /* drctl-wait */', expect: 1 },
            },
            intervalMs: 100,
          },
          { timeoutMs: 1_500 },
        ),
      ],
      { resources },
    );
    const t0 = Date.now();
    const run = await execRunbook(rb);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(finishedOf(run, 'wait-db')?.status).toBe('failed');
    expect(finishedOf(run, 'wait-db')?.error).toMatch(/timed out/);
    expect(await processesWith('drctl-wait')).toEqual([]);
  });

  it('a run timeout also kills the query (and the journal says the run was aborted)', async () => {
    const rb: Runbook = makeRunbook([makeStep('slow', sql('SELECT SLEEP(20) /* drctl-runtimeout */'))], {
      resources,
      timeoutMs: 1_000,
    });
    const run = await execRunbook(rb);
    expect(run.result.status).toBe('aborted');
    expect(await processesWith('drctl-runtimeout')).toEqual([]);
  });
});
