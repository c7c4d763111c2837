import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal } from '../../src/journal/journal.js';
import { listRunDirs, runCli, spawnCli, writeRunbook, type CliResult } from '../fixtures/engine-cli.js';
import { freePort, makeTempDir, removeDir } from '../harness/process.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

// Two operators on one bastion start `drctl switch` from different working directories (so
// different runs dirs): the lock is per environment on the host, not per runs dir. A runbook's
// `lock: { redis: … }` extends it to every host. Real drctl processes, a real redis-server.

const PASSWORD = 'lock-S3cret-pw';
let dir: string;
let redis: RedisServer;
let admin: Redis;

beforeAll(async () => {
  dir = makeTempDir('lock');
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  await admin.config('SET', 'requirepass', PASSWORD);
  await admin.auth(PASSWORD);
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
  removeDir(dir);
});

/** A step that writes `<name>.started`, then waits for `<name>.go` (at most 20 s). */
function gatedStep(id: string, name: string, needs: string[] = []): Record<string, unknown> {
  const started = join(dir, `${name}.started`);
  const go = join(dir, `${name}.go`);
  return {
    id,
    owner: 'SRE',
    needs,
    run: [
      'sh',
      '-c',
      `touch ${started}; i=0; while [ ! -e ${go} ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done`,
    ],
  };
}

function markerStep(id: string, file: string, needs: string[] = []): Record<string, unknown> {
  return { id, owner: 'SRE', needs, run: ['sh', '-c', `echo ${id} >> ${file}`] };
}

async function waitForFile(path: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear within ${ms} ms`);
    await sleep(50);
  }
}

function journalOf(runsDir: string): JournalEvent[] {
  const [id] = listRunDirs(runsDir);
  if (id === undefined) return [];
  return readJournal(join(runsDir, id, 'journal.jsonl')).events;
}

/** Everything drctl wrote: output and every file of every run. */
function allText(results: CliResult[], runsDirs: string[]): string {
  const parts = results.flatMap((r) => [r.stdout, r.stderr]);
  for (const runs of runsDirs) {
    for (const id of listRunDirs(runs)) {
      for (const f of readdirSync(join(runs, id))) {
        const p = join(runs, id, f);
        if (f.endsWith('.json') || f.endsWith('.jsonl')) parts.push(readFileSync(p, 'utf8'));
      }
    }
  }
  return parts.join('\n');
}

function killGroupOf(events: JournalEvent[]): void {
  for (const e of events) {
    if (e.type !== 'step-process') continue;
    try {
      process.kill(-e.pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('host lock: one switch per environment on this host, whatever the runs dir', () => {
  it('a second switch from another runs dir is refused with who, where, since; a kill -9 holder is taken over', async () => {
    const lockDir = join(dir, 'host-locks');
    const env = { DRCTL_LOCK_DIR: lockDir };
    const out = join(dir, 'host.out');
    const file = writeRunbook(dir, 'host-lock', {
      environment: 'host-env',
      roles: { SRE: {} },
      steps: [gatedStep('hold', 'host'), markerStep('after', out, ['hold'])],
    });
    const runsA = join(dir, 'runs-a');
    const runsB = join(dir, 'runs-b');
    const a = spawnCli(['switch', file, '--yes', '--runs-dir', runsA], env);
    await waitForFile(join(dir, 'host.started'));
    const [runA] = listRunDirs(runsA);

    const b = await runCli(['switch', file, '--yes', '--runs-dir', runsB], env);
    expect(b.exitCode, b.stderr).toBe(2);
    expect(b.stderr).toContain('environment "host-env"');
    expect(b.stderr).toContain(`run ${runA}`);
    expect(b.stderr).toContain(`user ${userInfo().username}`);
    expect(b.stderr).toContain(`on ${hostname()}`);
    expect(b.stderr).toContain(`pid ${a.pid}`);
    expect(b.stderr).toMatch(/since 20\d\d-\d\d-\d\dT/);
    expect(b.stderr).toMatch(/hint: .*drctl status/);
    expect(b.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(listRunDirs(runsB)).toEqual([]);

    writeFileSync(join(dir, 'host.go'), '');
    const ra = await a;
    expect(ra.exitCode, String(ra.stderr)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('after\n');
    const acquired = journalOf(runsA).find((e) => e.type === 'lock-acquired');
    expect(acquired).toMatchObject({ scope: 'host' });

    // The holder is killed -9 mid-step: its pid is dead, so the next switch takes over at once.
    removeDir(join(dir, 'host.started'));
    removeDir(join(dir, 'host.go'));
    removeDir(runsA);
    const killed = spawnCli(['switch', file, '--yes', '--runs-dir', runsA], env);
    await waitForFile(join(dir, 'host.started'));
    killed.kill('SIGKILL');
    await killed;
    killGroupOf(journalOf(runsA));
    writeFileSync(join(dir, 'host.go'), '');
    const t0 = Date.now();
    const c = await runCli(['switch', file, '--yes', '--runs-dir', runsB], env);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(c.stdout + c.stderr).toMatch(
      new RegExp(
        `took over the lock of run ${listRunDirs(runsA)[0]}.*pid ${killed.pid}.*(dead|no longer runs)`,
      ),
    );
    expect(journalOf(runsB).find((e) => e.type === 'lock-acquired')).toMatchObject({
      scope: 'host',
      tookOver: expect.stringContaining(String(killed.pid)) as unknown,
    });
    expect(readdirSync(lockDir).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});

describe('shared lock: lock: { redis } in the runbook', () => {
  const lockEnv = (name: string) => ({ DRCTL_LOCK_DIR: join(dir, `locks-${name}`), LOCK_PW: PASSWORD });
  let url: string;
  beforeAll(() => {
    url = `redis://:\${env:LOCK_PW}@127.0.0.1:${redis.port}`;
  });

  it('refuses a switch from another host while held, keeps it past the TTL, and releases it', async () => {
    const out = join(dir, 'shared.out');
    const file = writeRunbook(dir, 'shared-lock', {
      environment: 'shared-env',
      lock: { redis: url, ttl: '1500ms' },
      roles: { SRE: {} },
      steps: [gatedStep('hold', 'shared'), markerStep('after', out, ['hold'])],
    });
    const runsA = join(dir, 'shared-a');
    const runsB = join(dir, 'shared-b');
    // Different DRCTL_LOCK_DIR: as if on another host, so only the shared lock can refuse.
    const a = spawnCli(['switch', file, '--yes', '--runs-dir', runsA], lockEnv('a'));
    await waitForFile(join(dir, 'shared.started'));
    const [runA] = listRunDirs(runsA);
    const key = 'drctl:lock:{shared-env}';
    expect(await admin.get(key)).toContain(runA);

    const b = await runCli(['switch', file, '--yes', '--runs-dir', runsB], lockEnv('b'));
    expect(b.exitCode, b.stderr).toBe(2);
    expect(b.stderr).toContain('environment "shared-env"');
    expect(b.stderr).toContain(`redis 127.0.0.1:${redis.port}`);
    expect(b.stderr).toContain(`run ${runA}`);
    expect(b.stderr).toContain(`pid ${a.pid}`);
    expect(b.stderr).toMatch(/since 20\d\d-/);
    expect(b.stderr).toMatch(/expires in \d/);
    expect(listRunDirs(runsB)).toEqual([]);

    // Held for 3 s, twice the TTL: renewal keeps it.
    await sleep(3000);
    expect(await admin.pttl(key)).toBeGreaterThan(0);
    writeFileSync(join(dir, 'shared.go'), '');
    const ra = await a;
    expect(ra.exitCode, String(ra.stderr)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('after\n');
    expect(await admin.exists(key)).toBe(0);
    const acquired = journalOf(runsA).find((e) => e.type === 'lock-acquired' && e.scope === 'redis');
    expect(acquired).toMatchObject({ where: `redis 127.0.0.1:${redis.port}`, key });
    expect(typeof (acquired as { token?: unknown }).token).toBe('number');

    const text = allText(
      [b, { exitCode: 0, stdout: String(ra.stdout), stderr: String(ra.stderr) }],
      [runsA, runsB],
    );
    expect(text).not.toContain(PASSWORD);
  });

  it('a kill -9 holder is detected after the TTL and the next switch takes the lock', async () => {
    const file = writeRunbook(dir, 'shared-kill', {
      environment: 'kill-env',
      lock: { redis: url, ttl: '3s' },
      roles: { SRE: {} },
      steps: [gatedStep('hold', 'kill')],
    });
    const runsA = join(dir, 'kill-a');
    const runsB = join(dir, 'kill-b');
    const a = spawnCli(['switch', file, '--yes', '--runs-dir', runsA], lockEnv('ka'));
    await waitForFile(join(dir, 'kill.started'));
    const tokenA = (
      journalOf(runsA).find((e) => e.type === 'lock-acquired' && e.scope === 'redis') as {
        token: number;
      }
    ).token;
    a.kill('SIGKILL');
    await a;
    killGroupOf(journalOf(runsA));
    writeFileSync(join(dir, 'kill.go'), '');

    // Dead holder: its key stays until the TTL runs out (no renewal), then is gone by itself.
    const key = 'drctl:lock:{kill-env}';
    expect(await admin.get(key)).toContain(listRunDirs(runsA)[0]);
    for (let i = 0; i < 100 && (await admin.exists(key)) === 1; i++) await sleep(100);
    expect(await admin.exists(key)).toBe(0);
    const late = await runCli(['switch', file, '--yes', '--runs-dir', runsB], lockEnv('kb'));
    expect(late.exitCode, late.stderr).toBe(0);
    const tokenB = (
      journalOf(runsB).find((e) => e.type === 'lock-acquired' && e.scope === 'redis') as {
        token: number;
      }
    ).token;
    expect(tokenB).toBeGreaterThan(tokenA);
  });

  it('a run whose lock was taken from it starts no further step, journals why and exits 1', async () => {
    const out = join(dir, 'stolen.out');
    const file = writeRunbook(dir, 'shared-stolen', {
      environment: 'stolen-env',
      lock: { redis: url, ttl: '5s' },
      roles: { SRE: {} },
      steps: [gatedStep('hold', 'stolen'), markerStep('after', out, ['hold'])],
    });
    const runs = join(dir, 'stolen-runs');
    const key = 'drctl:lock:{stolen-env}';
    const a = spawnCli(['switch', file, '--yes', '--runs-dir', runs], lockEnv('s'));
    await waitForFile(join(dir, 'stolen.started'));
    // Someone else holds it now (the key expired and another switch took it, with a new token).
    await admin.del(key);
    await admin.set(
      key,
      JSON.stringify({ runId: 'thief', user: 'mallory', host: 'elsewhere' }),
      'PX',
      60_000,
    );
    await admin.incr(`${key}:fence`);
    writeFileSync(join(dir, 'stolen.go'), '');
    const r = await a;
    expect(r.exitCode, String(r.stderr)).toBe(1);
    expect(existsSync(out)).toBe(false);
    const events = journalOf(runs);
    const lost = events.find((e) => e.type === 'lock-lost');
    expect(lost).toMatchObject({ reason: expect.stringMatching(/held by run thief/) as unknown });
    expect(events.some((e) => e.type === 'step-started' && e.step === 'after')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', status: 'failed' });
    expect(String(r.stdout) + String(r.stderr)).toMatch(/lock .*lost/);
    // The thief's key is left alone.
    expect(await admin.get(key)).toContain('thief');
    await admin.del(key);

    // Once the thief is gone, resume takes the locks again (a newer token) and runs the rest.
    const [id] = listRunDirs(runs);
    const resumed = await runCli(['resume', id!, '--yes', '--runs-dir', runs], lockEnv('s'));
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('after\n');
    const tokens = journalOf(runs)
      .filter((e) => e.type === 'lock-acquired' && e.scope === 'redis')
      .map((e) => (e as { token: number }).token);
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).toBeGreaterThan(tokens[0]!);
    expect(
      allText([{ exitCode: 1, stdout: String(r.stdout), stderr: String(r.stderr) }, resumed], [runs]),
    ).not.toContain(PASSWORD);
  });

  it('a frozen lock server: a short freeze is covered by the TTL, a long one stops the run before its next step', async () => {
    const out = join(dir, 'frozen.out');
    const file = writeRunbook(dir, 'shared-frozen', {
      environment: 'frozen-env',
      lock: { redis: url, ttl: '3s' },
      roles: { SRE: {} },
      steps: [
        gatedStep('hold-1', 'frozen1'),
        markerStep('mid', out, ['hold-1']),
        gatedStep('hold-2', 'frozen2', ['mid']),
        markerStep('after', out, ['hold-2']),
      ],
    });
    const runs = join(dir, 'frozen-runs');
    const a = spawnCli(['switch', file, '--yes', '--runs-dir', runs], lockEnv('f'));
    try {
      await waitForFile(join(dir, 'frozen1.started'));
      process.kill(redis.pid, 'SIGSTOP');
      await sleep(1200);
      process.kill(redis.pid, 'SIGCONT');
      writeFileSync(join(dir, 'frozen1.go'), '');
      await waitForFile(join(dir, 'frozen2.started'));
      expect(readFileSync(out, 'utf8')).toBe('mid\n');
      process.kill(redis.pid, 'SIGSTOP');
      await sleep(3500);
      writeFileSync(join(dir, 'frozen2.go'), '');
      const t0 = Date.now();
      const r = await a;
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(r.exitCode, String(r.stderr)).toBe(1);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    expect(readFileSync(out, 'utf8')).toBe('mid\n');
    const lost = journalOf(runs).find((e) => e.type === 'lock-lost');
    expect(lost).toMatchObject({
      reason: expect.stringMatching(/cannot renew the lock on redis 127\.0\.0\.1:\d+ .*TTL/) as unknown,
    });
    expect(JSON.stringify(journalOf(runs))).not.toContain(PASSWORD);
  });

  it('an unreachable lock server or a bad lock: refuses to start with exit 2', async () => {
    const port = await freePort();
    const down = writeRunbook(dir, 'shared-down', {
      environment: 'down-env',
      lock: { redis: `redis://:\${env:LOCK_PW}@127.0.0.1:${port}` },
      roles: { SRE: {} },
      steps: [markerStep('x', join(dir, 'down.out'))],
    });
    const runs = join(dir, 'down-runs');
    const r = await runCli(['switch', down, '--yes', '--runs-dir', runs], lockEnv('d'));
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`cannot reach the lock server redis 127.0.0.1:${port}`);
    expect(r.stderr).not.toContain(PASSWORD);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(join(dir, 'down.out'))).toBe(false);
    expect(listRunDirs(runs)).toEqual([]);

    const wrong = writeRunbook(dir, 'shared-wrong', {
      environment: 'wrong-env',
      lock: { redis: `redis://:wrong-pw-123@127.0.0.1:${redis.port}` },
      roles: { SRE: {} },
      steps: [markerStep('x', join(dir, 'wrong.out'))],
    });
    const w = await runCli(['switch', wrong, '--yes', '--runs-dir', runs], lockEnv('d'));
    expect(w.exitCode, w.stderr).toBe(2);
    expect(w.stderr).toContain('lock server');
    expect(w.stderr).not.toContain('wrong-pw-123');

    const bad = writeRunbook(dir, 'shared-bad', {
      environment: 'bad-env',
      lock: { redis: 'http://127.0.0.1:1', ttl: 'soon' },
      roles: { SRE: {} },
      steps: [markerStep('x', join(dir, 'bad.out'))],
    });
    const v = await runCli(['validate', bad], lockEnv('d'));
    expect(v.exitCode, v.stderr).toBe(2);
    expect(v.stderr).toMatch(/lock\.redis: .*redis:\/\//);
    expect(v.stderr).toMatch(/lock\.ttl/);
  });
});
