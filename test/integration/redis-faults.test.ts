import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedisCheck } from '../../checkers/redis/checker.js';
import { redisOptionsSchema } from '../../checkers/redis/options.js';
import type { Resource } from '../../src/runbook/schema.js';
import { BIN, ROOT, drctl } from '../e2e/cli-helpers.js';
import { execRunbook } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep } from '../fixtures/engine-runbook.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

/**
 * Frozen (SIGSTOP) and killed servers: `check redis` and a redis gate end within their
 * deadlines, name the side, and never print a stack trace (issue 14 items 1 and 10).
 */
/** Waits until process `pid` holds an established TCP connection to 127.0.0.1:`port`. */
async function waitForConnection(pid: number, port: number, timeoutMs: number): Promise<void> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const inodes = new Set<string>();
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      }
    } catch {
      // not started yet, or gone
    }
    // /proc/net/tcp: sl local rem st … inode (column 9); rem 0100007F:<port>, st 01 = ESTABLISHED
    const connected = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .slice(1)
      .some((l) => {
        const cols = l.trim().split(/\s+/);
        return cols[2] === `0100007F:${hexPort}` && cols[3] === '01' && inodes.has(cols[9] ?? '');
      });
    if (connected) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} did not connect to port ${port} within ${timeoutMs} ms`);
}

function readlinkSafe(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

describe('redis checker against frozen and dying servers', () => {
  let main: RedisServer;
  let dr: RedisServer;

  beforeAll(async () => {
    [main, dr] = await Promise.all([startRedis(), startRedis()]);
    for (const url of [main.url, dr.url]) {
      const c = new Redis(url);
      const p = c.pipeline();
      for (let i = 0; i < 2000; i++) p.set(`k:${i}`, `v${i}`);
      await p.exec();
      c.disconnect();
    }
  });
  afterAll(async () => {
    for (const s of [main, dr]) if (s) process.kill(s.pid, 'SIGCONT');
    await Promise.all([main?.stop(), dr?.stop()]);
  });

  /** Runs `fn` while `server` is stopped with SIGSTOP, and always resumes it. */
  async function whileStopped<T>(server: RedisServer, fn: () => Promise<T>): Promise<T> {
    process.kill(server.pid, 'SIGSTOP');
    try {
      return await fn();
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
  }

  it('a SIGSTOPped replica: exit 2 within the command deadline, naming --target', async () => {
    const t0 = Date.now();
    const r = await whileStopped(dr, () =>
      drctl(['check', 'redis', '--source', main.url, '--target', dr.url, '--timeout', '2s'], {
        timeoutMs: 40_000,
      }),
    );
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--target 127.0.0.1:${dr.port}: no reply within 2s`);
    expect(r.stderr).not.toMatch(/internal error|\n {4}at /);
    // node's start-up dominates on a loaded CI box; before the fix it hung until killed
    expect(took).toBeLessThan(25_000);
  });

  it('a SIGSTOPped primary: exit 2 naming --source', async () => {
    const r = await whileStopped(main, () =>
      drctl(['check', 'redis', '--source', main.url, '--target', dr.url, '--timeout', '2s'], {
        timeoutMs: 40_000,
      }),
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--source 127.0.0.1:${main.port}: no reply within 2s`);
  });

  it('a gate (abort signal) ends within 2 s whatever the checker waits on', async () => {
    const controller = new AbortController();
    const t0 = Date.now();
    const outcome = await whileStopped(dr, async () => {
      setTimeout(() => controller.abort(new Error('step timed out after 1.0s')), 1000);
      return runRedisCheck(
        { kind: 'redis', source: main.url, target: dr.url },
        // a command deadline far beyond the test: only the abort can end it
        redisOptionsSchema.parse({ timeoutMs: 120_000 }),
        { signal: controller.signal, progress: () => undefined },
      ).then(
        () => 'resolved',
        (err: Error) => err.message,
      );
    });
    expect(outcome).toMatch(/interrupted|step timed out/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a redis gate step with timeout: 2s ends at its timeout on a frozen replica', async () => {
    const resources: Record<string, Resource> = {
      cache: { kind: 'redis', source: main.url, target: dr.url },
    };
    const gate = makeStep(
      'gate-redis',
      // a command deadline far beyond the step: only the step timeout can end it
      { kind: 'check', check: { kind: 'redis', resource: 'cache', options: { timeoutMs: 120_000 } } },
      { timeoutMs: 2000, onFailure: 'continue' },
    );
    const t0 = Date.now();
    const run = await whileStopped(dr, () => execRunbook(makeRunbook([gate], { resources })));
    const took = Date.now() - t0;
    const done = run.events.find((e) => e.type === 'step-finished');
    expect(done).toMatchObject({ step: 'gate-redis', status: 'failed' });
    expect(JSON.stringify(done)).toMatch(/timed out|timeout/i);
    expect(took).toBeLessThan(6000);
  });

  it('Ctrl-C during a check against a frozen replica exits 130 at once', async () => {
    const result = await whileStopped(dr, async () => {
      const child = spawn(
        process.execPath,
        [BIN, 'check', 'redis', '--source', main.url, '--target', dr.url, '--timeout', '60s'],
        { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // wait until it connected (the frozen replica's kernel accepts the connection; PING hangs):
      // by then the Ctrl-C handler is installed
      await waitForConnection(child.pid!, dr.port, 30_000);
      const sent = Date.now();
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return { code, stderr, took: Date.now() - sent };
    });
    expect(result.code, result.stderr).toBe(130);
    // ~0.2 s on an idle machine; the bound leaves room for a loaded CI box, far below --timeout 60s
    expect(result.took).toBeLessThan(5000);
    expect(result.stderr).not.toMatch(/internal error|\n {4}at /);
  });

  it('a server killed mid-check: "lost the connection to --target" (exit 2), never a stack trace', async () => {
    const victim = await startRedis();
    try {
      const c = new Redis(victim.url);
      const p = c.pipeline();
      for (let i = 0; i < 2000; i++) p.set(`k:${i}`, `v${i}`);
      await p.exec();
      c.disconnect();
      let killed = false;
      const err = await runRedisCheck(
        { kind: 'redis', source: main.url, target: victim.url },
        redisOptionsSchema.parse({ batch: 50 }),
        {
          signal: new AbortController().signal,
          progress: (e) => {
            if (e.phase === 'compare' && !killed) {
              killed = true;
              process.kill(victim.pid, 'SIGKILL');
            }
          },
        },
      ).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(killed).toBe(true);
      expect(err?.constructor.name).toBe('ConnectionError');
      expect(err?.message).toContain(`lost the connection to --target 127.0.0.1:${victim.port}`);
      expect(err?.message).not.toMatch(/Connection is closed/);
    } finally {
      await victim.stop();
    }
  });

  it('drctl check redis: a frozen server killed during the check exits 2 with a clear message', async () => {
    const victim = await startRedis();
    try {
      process.kill(victim.pid, 'SIGSTOP');
      const running = drctl(
        ['check', 'redis', '--source', main.url, '--target', victim.url, '--timeout', '20s'],
        {
          timeoutMs: 30_000,
        },
      );
      await new Promise((r) => setTimeout(r, 1500));
      process.kill(victim.pid, 'SIGKILL');
      const r = await running;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--target 127.0.0.1:${victim.port}`);
      expect(r.stderr).not.toMatch(/internal error|Connection is closed|\n {4}at /);
    } finally {
      await victim.stop();
    }
  });
});
