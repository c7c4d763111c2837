import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockPath } from '../../src/engine/lock.js';
import { readJournal } from '../../src/journal/journal.js';
import { listRunDirs, runCli, spawnCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { startReceiver } from '../harness/webhook.js';

let dir: string;
let runs: string;
let out: string;
let file: string;

beforeAll(() => {
  dir = makeTempDir('engine-cli');
  runs = join(dir, 'runs');
  out = join(dir, 'out.txt');
  file = writeRunbook(dir, 'cli-test', {
    environment: 'cli-env',
    roles: { SRE: {}, QA: {} },
    steps: [
      { id: 'declare', owner: 'SRE', run: ['sh', '-c', `echo declare >> ${out}`] },
      { id: 'switch-a', owner: 'SRE', needs: ['declare'], run: ['sh', '-c', `echo switch-a >> ${out}`] },
      { id: 'switch-b', owner: 'SRE', needs: ['declare'], run: ['sh', '-c', `echo switch-b >> ${out}`] },
      { id: 'verify', owner: 'QA', needs: ['switch-*'], run: ['sh', '-c', `echo verify >> ${out}`] },
    ],
  });
});
afterAll(() => removeDir(dir));

describe('drctl switch / status / approve from the command line', () => {
  it('--dry-run changes nothing and prints what each step would do', async () => {
    const r = await runCli(['switch', file, '--dry-run', '--runs-dir', runs]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(false);
    expect(r.stdout).toContain(`[dry run] declare: would run: run: sh -c 'echo declare >> ${out}'`);
    expect(r.stdout.match(/\[dry run\] \S+: would run:/g)).toHaveLength(4);
    const [id] = listRunDirs(runs);
    const events = readJournal(join(runs, id!, 'journal.jsonl')).events;
    expect(events[0]).toMatchObject({ type: 'run-started', dryRun: true });
    expect(existsSync(join(runs, id!, 'steps'))).toBe(false);
    // A dry run takes no lock and cannot be resumed.
    expect(existsSync(lockPath('cli-env'))).toBe(false);
    const resumed = await runCli(['resume', id!, '--yes', '--runs-dir', runs]);
    expect(resumed.exitCode).toBe(2);
    expect(resumed.stderr).toMatch(/was a dry run/);
    removeDir(runs);
  });

  it('bad input exits 2 with a clear message and starts nothing', { timeout: 300_000 }, async () => {
    const cases: { args: string[]; message: RegExp }[] = [
      { args: ['switch', file, '--yes', '--only', 'nope-*'], message: /--only nope-\* matches no step/ },
      { args: ['switch', file, '--yes', '--from', 'nope'], message: /--from nope matches no step/ },
      {
        args: ['switch', file, '--yes', '--var', 'novalue'],
        message: /--var "novalue": expected name=value/,
      },
      {
        args: ['switch', file, '--yes', '--concurrency', 'many'],
        message: /--concurrency must be a whole number/,
      },
      { args: ['switch', file], message: /confirmation needed[\s\S]*hint: pass --yes/ },
      { args: ['switch', join(dir, 'missing.yaml'), '--yes'], message: /not found/ },
      { args: ['status', 'no-such-run'], message: /no runs found|unknown run/ },
      { args: ['resume', 'no-such-run', '--yes'], message: /no runs found|unknown run/ },
      { args: ['approve', 'no-such-run', 'declare'], message: /no runs found|unknown run/ },
    ];
    for (const c of cases) {
      const r = await runCli([...c.args, '--runs-dir', runs]);
      expect(r.exitCode, `${c.args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, c.args.join(' ')).toMatch(c.message);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    expect(listRunDirs(runs)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it(
    'runs, reports status, and refuses what no longer makes sense on a finished run',
    { timeout: 300_000 },
    async () => {
      const r = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/run \S+ succeeded/);
      expect(readFileSync(out, 'utf8').trim().split('\n').sort()).toEqual([
        'declare',
        'switch-a',
        'switch-b',
        'verify',
      ]);
      const [id] = listRunDirs(runs);
      expect(existsSync(join(runs, id!, 'runbook.json'))).toBe(true);
      expect(JSON.parse(readFileSync(join(runs, id!, 'invocation.json'), 'utf8'))).toMatchObject({
        direction: 'switchover',
        who: { host: hostname() },
      });

      const status = await runCli(['status', 'latest', '--runs-dir', runs]);
      expect(status.exitCode).toBe(0);
      expect(status.stdout).toMatch(/status: succeeded/);
      expect(status.stdout).toMatch(/verify\s+succeeded\s+QA/);
      const json = await runCli(['status', id!, '--json', '--runs-dir', runs]);
      expect((JSON.parse(json.stdout) as { steps: unknown[] }).steps).toHaveLength(4);

      const approve = await runCli(['approve', id!, 'declare', '--as', 'bob', '--runs-dir', runs]);
      expect(approve.exitCode).toBe(2);
      expect(approve.stderr).toMatch(/step declare is not waiting for approval \(it is succeeded\)/);
      const resume = await runCli(['resume', id!, '--yes', '--runs-dir', runs]);
      expect(resume.exitCode).toBe(2);
      expect(resume.stderr).toMatch(/already finished successfully/);
      removeDir(runs);
      removeDir(out);
    },
  );

  it('one switch per environment: a live holder refuses, a dead holder is stale', async () => {
    const holder = {
      pid: process.pid,
      host: hostname(),
      user: 'alice',
      since: '2026-11-22T01:00:00.000Z',
      runId: 'other-run',
      environment: 'cli-env',
    };
    writeFileSync(lockPath('cli-env'), JSON.stringify(holder));
    const refused = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(
      new RegExp(
        `locked by another switch: run other-run, user alice on ${hostname()}, pid ${process.pid}, since 2026-11-22T01:00:00.000Z`,
      ),
    );
    expect(existsSync(out)).toBe(false);

    writeFileSync(lockPath('cli-env'), JSON.stringify({ ...holder, pid: 2 ** 22 - 1 }));
    const ok = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(existsSync(lockPath('cli-env'))).toBe(false);
    removeDir(runs);
    removeDir(out);
  });

  it(
    'a manual step is approved by a second drctl process; status --follow shows it live',
    { timeout: 300_000 },
    async () => {
      const manualFile = writeRunbook(dir, 'manual-test', {
        environment: 'manual-env',
        roles: { SRE: {}, QA: { members: ['bob'] } },
        steps: [
          { id: 'prepare', owner: 'SRE', run: ['sh', '-c', `echo prepare >> ${out}`] },
          {
            id: 'business-verified',
            owner: 'QA',
            needs: ['prepare'],
            manual: 'Run the verification cases and confirm',
          },
          {
            id: 'open-traffic',
            owner: 'SRE',
            needs: ['business-verified'],
            run: ['sh', '-c', `echo open >> ${out}`],
          },
        ],
      });
      const switching = spawnCli(['switch', manualFile, '--yes', '--runs-dir', runs]);
      let runId: string | undefined;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        runId = listRunDirs(runs)[0];
        if (runId && existsSync(join(runs, runId, 'journal.jsonl'))) {
          const events = readJournal(join(runs, runId, 'journal.jsonl')).events;
          if (events.some((e) => e.type === 'approval-requested')) break;
        }
        await sleep(200);
      }
      expect(runId).toBeDefined();
      const follower = spawnCli(['status', runId!, '--follow', '--runs-dir', runs]);
      const early = await runCli(['approve', runId!, 'open-traffic', '--as', 'bob', '--runs-dir', runs]);
      expect(early.exitCode).toBe(2);
      expect(early.stderr).toMatch(/not waiting for approval \(it is pending\)/);
      const approve = await runCli([
        'approve',
        runId!,
        'business-verified',
        '--as',
        'bob',
        '--comment',
        'all 200 cases passed',
        '--runs-dir',
        runs,
      ]);
      expect(approve.exitCode, approve.stderr).toBe(0);
      expect(approve.stdout).toMatch(/business-verified approved by bob: recorded/);
      const result = await switching;
      expect(result.exitCode, String(result.stderr)).toBe(0);
      expect(String(result.stdout)).toMatch(
        /business-verified approved by bob via cli: all 200 cases passed/,
      );
      const followed = await follower;
      expect(followed.exitCode).toBe(0);
      expect(String(followed.stdout)).toMatch(/waiting for approval by QA/);
      expect(String(followed.stdout)).toMatch(/run succeeded/);
      expect(readFileSync(out, 'utf8')).toBe('prepare\nopen\n');
    },
  );

  it(
    "status --follow prints what the executor journals after run-finished (its notifications' grace), then exits with it",
    { timeout: 120_000 },
    async () => {
      // A receiver that holds every request for 30 s: the run ends, the 2 s grace runs out, and
      // the executor journals the give-ups after run-finished. --follow used to stop at run-finished.
      const slow = await startReceiver(() => ({ status: 200, delayMs: 30_000 }));
      const followRuns = join(dir, 'follow-runs');
      try {
        const file = writeRunbook(dir, 'follow-grace', {
          environment: 'follow-env',
          roles: { SRE: {} },
          notify: { grace: '2s', channels: { slow: { format: 'json', url: slow.url, timeout: '60s' } } },
          steps: [{ id: 'wait', owner: 'SRE', run: ['sleep', '1'] }],
        });
        const switching = spawnCli(['switch', file, '--yes', '--runs-dir', followRuns]);
        let runId: string | undefined;
        for (let i = 0; i < 300 && runId === undefined; i++) {
          runId = listRunDirs(followRuns)[0];
          if (runId === undefined) await sleep(100);
        }
        const follower = spawnCli(['status', runId!, '--follow', '--runs-dir', followRuns]);
        const [switched, followed] = await Promise.all([switching, follower]);
        expect(switched.exitCode, String(switched.stderr)).toBe(0);
        expect(followed.exitCode).toBe(0);
        const out = String(followed.stdout);
        const finishedAt = out.indexOf('run succeeded');
        const gaveUp = out.indexOf('could not notify slow: run-finished');
        expect(finishedAt).toBeGreaterThanOrEqual(0);
        expect(gaveUp, out).toBeGreaterThan(finishedAt);
        // Every line of the journal was printed: the follower did not stop early.
        const events = readJournal(join(followRuns, runId!, 'journal.jsonl')).events;
        const eventLines = out.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
        expect(eventLines, out).toHaveLength(events.length);
      } finally {
        await slow.stop();
        removeDir(followRuns);
      }
    },
  );
});
