/**
 * Bridge benchmark: `node --import tsx bench/bridge.bench.ts` (or `npm run bench -- bridge`).
 * A 500-step run (a chain of no-op steps, journal with fsync on this machine's disk) executed with
 * no viewer, then with 50 live viewers on `drctl serve` (a separate process, as on the bastion):
 * each viewer holds the run's event stream open and re-fetches the live part of the run page
 * after events, like the page's script. Reports the executor's wall time per step in each case
 * and the overhead the viewers add. Loopback only; everything it starts it stops.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Executor } from '../src/engine/executor.js';
import { hashPassword, writeUsers } from '../src/engine/users.js';
import { JournalWriter } from '../src/journal/journal.js';
import { buildPlan } from '../src/plan/plan.js';
import { makeRunbook, makeStep, runAction } from '../test/fixtures/engine-runbook.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STEPS = 500;
const VIEWERS = 50;
const ROUNDS = 3;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function runOnce(runsDir: string, runId: string, beforeRun?: () => Promise<() => Promise<number>>) {
  const dir = join(runsDir, runId);
  mkdirSync(dir, { recursive: true });
  const steps = Array.from({ length: STEPS }, (_, i) =>
    makeStep(`s${i}`, runAction(['true']), { needs: i === 0 ? [] : [`s${i - 1}`] }),
  );
  const runbook = makeRunbook(steps);
  const journal = JournalWriter.open(join(dir, 'journal.jsonl'));
  // The action is a no-op: what is measured is the executor (scheduling, journal with fsync),
  // the part 50 viewers reading the same journal could slow down.
  const ex = new Executor({
    runbook,
    runId,
    runDir: dir,
    journal,
    dryRun: false,
    plan: buildPlan(runbook),
    runAction: () => Promise.resolve({ ok: true }),
  });
  const stopViewers = await beforeRun?.();
  const t0 = performance.now();
  const result = await ex.run();
  const wall = performance.now() - t0;
  journal.close();
  const fetched = (await stopViewers?.()) ?? 0;
  if (result.status !== 'succeeded') throw new Error(`bench run ${result.status}: ${result.error}`);
  return { perStepMs: wall / STEPS, fetched };
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'drctl-bench-bridge-'));
  const runsDir = join(base, 'runs');
  mkdirSync(runsDir);
  const usersFile = join(base, 'users.yaml');
  writeUsers(usersFile, new Map([['viewer', { roles: ['QA'], password: hashPassword('viewer-password') }]]));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serve = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test/fixtures/drctl-cli.ts'),
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--runs-dir',
      runsDir,
      '--users',
      usersFile,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/login`)).ok) break;
      } catch {
        if (i > 300) throw new Error('drctl serve did not start');
      }
      await sleep(100);
    }
    const login = await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'viewer', password: 'viewer-password' }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;

    /** 50 viewers: each holds the event stream and re-fetches the live fragment after events. */
    const viewers = (runId: string) => async (): Promise<() => Promise<number>> => {
      const abort = new AbortController();
      let fetched = 0;
      const one = async (): Promise<void> => {
        const res = await fetch(`${url}/api/runs/${runId}/events`, {
          headers: { cookie },
          signal: abort.signal,
        });
        if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
        let pending: Promise<void> | undefined;
        const refresh = async (): Promise<void> => {
          await sleep(150);
          const r = await fetch(`${url}/runs/${runId}/live`, { headers: { cookie }, signal: abort.signal });
          await r.text();
          fetched += 1;
          pending = undefined;
        };
        for await (const chunk of res.body) {
          void chunk;
          pending ??= refresh().catch(() => undefined);
        }
      };
      const all = Array.from({ length: VIEWERS }, () => one().catch(() => undefined));
      await sleep(500); // every stream open before the run starts
      return async () => {
        await sleep(500); // let the last events reach the viewers
        abort.abort();
        await Promise.all(all);
        return fetched;
      };
    };

    const rows: { case: string; perStepMs: number[]; fetched: number }[] = [
      { case: 'no viewer', perStepMs: [], fetched: 0 },
      { case: `${VIEWERS} live viewers`, perStepMs: [], fetched: 0 },
    ];
    await runOnce(runsDir, 'warmup'); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      const a = await runOnce(runsDir, `r${r}-none`);
      rows[0]!.perStepMs.push(a.perStepMs);
      const b = await runOnce(runsDir, `r${r}-viewers`, viewers(`r${r}-viewers`));
      rows[1]!.perStepMs.push(b.perStepMs);
      rows[1]!.fetched += b.fetched;
      process.stdout.write(
        `round ${r + 1}: ${a.perStepMs.toFixed(2)} vs ${b.perStepMs.toFixed(2)} ms/step\n`,
      );
    }
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    process.stdout.write(`\n${STEPS}-step chain of no-op steps, ${ROUNDS} rounds each, median:\n`);
    for (const row of rows) {
      process.stdout.write(
        `  ${row.case.padEnd(18)} ${median(row.perStepMs).toFixed(2)} ms/step  (rounds: ${row.perStepMs.map((x) => x.toFixed(2)).join(', ')})${row.fetched ? `  ${row.fetched} page refreshes served` : ''}\n`,
      );
    }
    const overhead = median(rows[1]!.perStepMs) / median(rows[0]!.perStepMs) - 1;
    process.stdout.write(
      `  executor overhead with ${VIEWERS} viewers: ${(overhead * 100).toFixed(1)}% (target ≤ 10%)\n`,
    );
  } finally {
    serve.kill('SIGTERM');
    await sleep(200);
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
