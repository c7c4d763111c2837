import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal } from '../../src/journal/journal.js';
import type { Action, Resource } from '../../src/runbook/schema.js';
import { HTTP_CONNECT_MS } from '../../src/steps/http.js';
import { REDIS_CONNECT_MS } from '../../src/steps/redis.js';
import { listRunDirs, spawnCli, writeRunbook } from '../fixtures/engine-cli.js';
import { execRunbook } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep } from '../fixtures/engine-runbook.js';
import { startMariaDb, type MariaDbServer } from '../harness/mysql.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

/**
 * Issue 14 item 1 for the step kinds: a server frozen by SIGSTOP (it accepts TCP in the kernel
 * but never answers) must not hang a step. The step timeout ends every kind within a small bound,
 * and a Ctrl-C of drctl takes effect within a couple of seconds. The server always gets SIGCONT.
 */
let db: MariaDbServer & { stop(): Promise<void> };
let redis: RedisServer;
let redisDr: RedisServer;
let httpChild: ChildProcess;
let httpUrl: string;
let dir: string;

/** Timeout of the steps in the timeout tests; the step must end within TIMEOUT_MS + SLACK_MS. */
const TIMEOUT_MS = 2_000;
const SLACK_MS = 3_000;

beforeAll(async () => {
  dir = makeTempDir('steps-frozen');
  [db, redis, redisDr] = await Promise.all([startMariaDb(), startRedis(), startRedis()]);
  // The HTTP server runs in a child so that it can be stopped without stopping the test.
  httpChild = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<string>((resolve, reject) => {
    httpChild.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    httpChild.once('exit', (code) => reject(new Error(`http server exited with ${code}`)));
  });
  httpUrl = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  for (const pid of [db?.pid, redis?.pid, redisDr?.pid, httpChild?.pid]) cont(pid);
  httpChild?.kill('SIGKILL');
  await Promise.allSettled([db?.stop(), redis?.stop(), redisDr?.stop()]);
  if (dir) removeDir(dir);
});

function cont(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // already gone
  }
}

function pidOf(server: 'mysql' | 'redis' | 'http'): number {
  return server === 'mysql' ? db.pid : server === 'redis' ? redisDr.pid : httpChild.pid!;
}

function resources(): Record<string, Resource> {
  return {
    core: { kind: 'mysql', primary: db.dsn, replica: db.dsn },
    config: { kind: 'redis', url: redisDr.url, source: redis.url, target: redisDr.url },
  };
}

/** The step kinds under test, each against the server it talks to. */
interface Case {
  name: string;
  server: 'mysql' | 'redis' | 'http';
  /**
   * 'before': the server is frozen before the step starts (connect hangs); 'during': once the
   * step logged its first statement (the query is on the server when it freezes).
   */
  freeze: 'before' | 'during';
  action(): Action;
  /** The same step in runbook YAML, for the CLI. */
  yaml(): Record<string, unknown>;
}

const sqlSleep = { resource: 'core', statements: ['SELECT SLEEP(30)'] };
const sqlPoll = { resource: 'core', statements: 'SELECT SLEEP(0.3)', expect: 1 };
const redisSet = { resource: 'config', set: { 'bcf.target': 'dr' } };
const redisPoll = { resource: 'config', expect: { 'never.there': 'x' } };

const cases: Case[] = [
  {
    name: 'sql (frozen while the query runs)',
    server: 'mysql',
    freeze: 'during',
    action: () => ({ kind: 'sql', sql: sqlSleep }),
    yaml: () => ({ sql: sqlSleep }),
  },
  {
    name: 'sql (frozen before connect)',
    server: 'mysql',
    freeze: 'before',
    action: () => ({ kind: 'sql', sql: sqlSleep }),
    yaml: () => ({ sql: sqlSleep }),
  },
  {
    name: 'redis',
    server: 'redis',
    freeze: 'before',
    action: () => ({ kind: 'redis', redis: redisSet }),
    yaml: () => ({ redis: redisSet }),
  },
  {
    name: 'http',
    server: 'http',
    freeze: 'before',
    action: () => ({ kind: 'http', http: { url: `${httpUrl}/health` } }),
    yaml: () => ({ http: { url: `${httpUrl}/health` } }),
  },
  {
    name: 'wait(sql)',
    server: 'mysql',
    freeze: 'during',
    action: () => ({ kind: 'wait', intervalMs: 100, until: { kind: 'sql', sql: sqlPoll } }),
    yaml: () => ({ wait: { until: { sql: sqlPoll }, interval: '100ms' } }),
  },
  {
    name: 'wait(redis)',
    server: 'redis',
    freeze: 'before',
    action: () => ({ kind: 'wait', intervalMs: 100, until: { kind: 'redis', redis: redisPoll } }),
    yaml: () => ({ wait: { until: { redis: redisPoll }, interval: '100ms' } }),
  },
  {
    name: 'wait(http)',
    server: 'http',
    freeze: 'before',
    action: () => ({
      kind: 'wait',
      intervalMs: 100,
      until: { kind: 'http', http: { url: `${httpUrl}/health`, expect: { status: 299 } } },
    }),
    yaml: () => ({
      wait: { until: { http: { url: `${httpUrl}/health`, expect: { status: 299 } } }, interval: '100ms' },
    }),
  },
  {
    name: 'check (redis gate, DR replica frozen)',
    server: 'redis',
    freeze: 'before',
    action: () => ({
      kind: 'check',
      check: { kind: 'redis', resource: 'config', options: { waitMs: 0 } },
    }),
    yaml: () => ({ check: { kind: 'redis', resource: 'config', waitMs: 0 } }),
  },
];

/** Rejects after ms so that a hang fails the test (and the finally below resumes the server). */
function watchdog(ms: number, what: string): { promise: Promise<never>; clear(): void } {
  let t: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms: it hangs`)), ms);
  });
  return { promise, clear: () => clearTimeout(t) };
}

const finishedOf = (events: JournalEvent[], step: string) =>
  events.find(
    (e): e is Extract<JournalEvent, { type: 'step-finished' }> =>
      e.type === 'step-finished' && e.step === step,
  );

describe('a step against a SIGSTOPped server ends at its timeout', () => {
  it.each(cases)(
    '$name',
    async (c) => {
      const pid = pidOf(c.server);
      let frozenAt: number | undefined;
      const freeze = (): void => {
        if (frozenAt !== undefined) return;
        process.kill(pid, 'SIGSTOP');
        frozenAt = Date.now();
      };
      const dog = watchdog(20_000, c.name);
      try {
        if (c.freeze === 'before') freeze();
        const t0 = Date.now();
        const rb = makeRunbook([makeStep('frozen', c.action(), { timeoutMs: TIMEOUT_MS })], {
          resources: resources(),
        });
        const run = await Promise.race([
          execRunbook(rb, {
            observer: {
              // The first statement or poll reached the server: freeze it under the query.
              onLog: () => {
                if (c.freeze === 'during') setTimeout(freeze, 300);
              },
            },
          }),
          dog.promise,
        ]);
        const ms = Date.now() - t0;
        expect(frozenAt, 'the server was frozen during the step').toBeDefined();
        const fin = finishedOf(run.events, 'frozen');
        expect(fin?.status).toBe('failed');
        expect(fin?.error).toMatch(/timed out after 2(\.0+)?s/);
        expect(ms, `${c.name} ended ${ms} ms after it started: ${fin?.error}`).toBeLessThanOrEqual(
          TIMEOUT_MS + SLACK_MS,
        );
        expect(run.result.exitCode).toBe(1);
      } finally {
        dog.clear();
        cont(pid);
      }
    },
    30_000,
  );
});

// Three different frozen servers, so the three 10 s deadlines are waited for at the same time.
describe.concurrent('a step without a timeout gives up at its connect deadline', () => {
  it('redis: gives up on a frozen Redis at its connect deadline', async () => {
    const dog = watchdog(25_000, 'redis step without a timeout');
    process.kill(redisDr.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const step = makeStep('flip', { kind: 'redis', redis: redisSet });
      const run = await Promise.race([
        execRunbook(makeRunbook([step], { resources: resources() })),
        dog.promise,
      ]);
      const ms = Date.now() - t0;
      const fin = finishedOf(run.events, 'flip');
      expect(fin?.status).toBe('failed');
      expect(fin?.error).toMatch(/no answer from Redis within 10 s of connecting/);
      expect(ms).toBeGreaterThanOrEqual(REDIS_CONNECT_MS - 500);
      expect(ms).toBeLessThanOrEqual(REDIS_CONNECT_MS + SLACK_MS);
    } finally {
      dog.clear();
      cont(redisDr.pid);
    }
  }, 40_000);

  it('sql: gives up on a frozen MariaDB at the connect deadline (10 s, handshake included)', async () => {
    const dog = watchdog(25_000, 'sql step without a timeout');
    process.kill(db.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const step = makeStep('q', { kind: 'sql', sql: sqlSleep });
      const run = await Promise.race([
        execRunbook(makeRunbook([step], { resources: resources() })),
        dog.promise,
      ]);
      const ms = Date.now() - t0;
      const fin = finishedOf(run.events, 'q');
      expect(fin?.status).toBe('failed');
      expect(fin?.error).toMatch(/ETIMEDOUT/);
      expect(ms).toBeLessThanOrEqual(10_000 + SLACK_MS);
    } finally {
      dog.clear();
      cont(db.pid);
    }
  }, 40_000);

  it('http: gives up at the connect deadline when a frozen server no longer accepts connections', async () => {
    // A frozen server whose accept queue is full: the kernel drops further SYNs, as a host behind
    // a dead firewall does.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port) })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const fillers: Socket[] = [];
    const dog = watchdog(25_000, 'http step without a timeout');
    try {
      const port = await new Promise<string>((resolve) =>
        child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
      );
      process.kill(child.pid!, 'SIGSTOP');
      for (let i = 0; i < 4; i++) {
        const f = connect(Number(port), '127.0.0.1');
        f.on('error', () => undefined);
        fillers.push(f);
      }
      await sleep(300);
      const t0 = Date.now();
      const step = makeStep('probe', { kind: 'http', http: { url: `http://127.0.0.1:${port}/health` } });
      const run = await Promise.race([execRunbook(makeRunbook([step])), dog.promise]);
      const ms = Date.now() - t0;
      const fin = finishedOf(run.events, 'probe');
      expect(fin?.status).toBe('failed');
      expect(fin?.error).toMatch(/no connection within 10 s/);
      expect(ms).toBeGreaterThanOrEqual(HTTP_CONNECT_MS - 500);
      expect(ms).toBeLessThanOrEqual(HTTP_CONNECT_MS + SLACK_MS);
    } finally {
      dog.clear();
      for (const f of fillers) f.destroy();
      cont(child.pid);
      child.kill('SIGKILL');
    }
  }, 40_000);
});

describe('a write that cannot be confirmed killed', () => {
  it('is journaled as unknown, says why, and is not retried', async () => {
    await db.query('CREATE DATABASE IF NOT EXISTS frozen');
    let frozen = false;
    const dog = watchdog(20_000, 'ddl step');
    try {
      // DDL runs one statement at a time, committing on its own: a dropped connection does not
      // undo it once the server resumes.
      const step = makeStep(
        'ddl',
        {
          kind: 'sql',
          sql: { resource: 'core', statements: ['CREATE TABLE frozen.t AS SELECT SLEEP(30) AS x'] },
        },
        { timeoutMs: TIMEOUT_MS, retry: { count: 2, backoffMs: 10, factor: 1, maxMs: 10 } },
      );
      const t0 = Date.now();
      const run = await Promise.race([
        execRunbook(makeRunbook([step], { resources: resources() }), {
          observer: {
            onLog: () =>
              setTimeout(() => {
                if (frozen) return;
                process.kill(db.pid, 'SIGSTOP');
                frozen = true;
              }, 300),
          },
        }),
        dog.promise,
      ]);
      expect(Date.now() - t0).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
      const effects = run.events.filter((e) => e.type === 'step-effect');
      expect(effects).toMatchObject([{ step: 'ddl', target: 'statement 1', outcome: 'unknown' }]);
      const fin = finishedOf(run.events, 'ddl');
      expect(fin).toMatchObject({ status: 'failed', attempts: 1 });
      expect(fin?.error).toMatch(
        /timed out after 2(\.0+)?s; could not kill query \d+ .*the server may still finish/,
      );
    } finally {
      dog.clear();
      cont(db.pid);
    }
  }, 30_000);
});

describe('Ctrl-C of drctl switch while a step waits on a SIGSTOPped server', () => {
  it.each(cases)(
    '$name: exits 130 within about 2 s and journals the step as not succeeded',
    async (c) => {
      const runs = join(dir, `runs-${cases.indexOf(c)}`);
      const file = writeRunbook(dir, `frozen-${cases.indexOf(c)}`, {
        environment: `frozen-${cases.indexOf(c)}`,
        roles: { SRE: {} },
        resources: {
          core: { kind: 'mysql', primary: db.dsn, replica: db.dsn },
          config: { kind: 'redis', url: redisDr.url, source: redis.url, target: redisDr.url },
        },
        // A long step timeout: only the Ctrl-C can end the step within the bound below.
        steps: [{ id: 'frozen', owner: 'SRE', timeout: '60s', ...c.yaml() }],
      });
      const pid = pidOf(c.server);
      let child: ReturnType<typeof spawnCli> | undefined;
      try {
        if (c.freeze === 'before') process.kill(pid, 'SIGSTOP');
        // The preflight would find the frozen server first: skip it to test the step itself.
        child = spawnCli([
          'switch',
          file,
          '--yes',
          '--runs-dir',
          runs,
          '--skip-preflight',
          '--reason',
          'test: a server is frozen on purpose',
        ]);
        // Wait until the step started (journaled), then give it time to reach the server.
        const journal = (): string | undefined => {
          const id = listRunDirs(runs)[0];
          const p = id === undefined ? undefined : join(runs, id, 'journal.jsonl');
          return p !== undefined && existsSync(p) ? p : undefined;
        };
        const deadline = Date.now() + 30_000;
        for (;;) {
          const p = journal();
          if (p && readJournal(p).events.some((e) => e.type === 'step-started')) break;
          if (Date.now() > deadline || child.exitCode !== null) {
            throw new Error(`the step did not start: ${String((await child).stderr)}`);
          }
          await sleep(50);
        }
        await sleep(500);
        if (c.freeze === 'during') {
          process.kill(pid, 'SIGSTOP');
          await sleep(300);
        }
        const t0 = Date.now();
        // First Ctrl-C: start nothing new and end waits; a second terminates running steps (a
        // wait is over after the first, and drctl may already be exiting).
        child.kill('SIGINT');
        if (c.action().kind !== 'wait') {
          await sleep(200);
          child.kill('SIGINT');
        }
        const dog = watchdog(15_000, `drctl after Ctrl-C (${c.name})`);
        const r = await Promise.race([child, dog.promise]).finally(() => dog.clear());
        const ms = Date.now() - t0;
        expect(r.exitCode, String(r.stderr)).toBe(130);
        expect(ms, `drctl exited ${ms} ms after the first Ctrl-C`).toBeLessThanOrEqual(3_000);
        const events = readJournal(journal()!).events;
        const fin = finishedOf(events, 'frozen');
        expect(fin?.status).toBe('cancelled');
        expect(events.some((e) => e.type === 'step-finished' && e.status === 'succeeded')).toBe(false);
      } finally {
        cont(pid);
        if (child && child.exitCode === null) child.kill('SIGKILL');
      }
    },
    60_000,
  );
});
