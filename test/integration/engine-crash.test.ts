import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal, verifyChain } from '../../src/journal/journal.js';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * Crash test: for every K of a 20-step runbook, a failpoint SIGKILLs drctl right after step K's
 * finished event; `drctl resume` then finishes the run, and every step's side effect (a line
 * appended to a file) happened exactly once.
 */
const N = 20;
let base: string;

beforeAll(() => {
  base = makeTempDir('engine-crash');
});
afterAll(() => removeDir(base));

function crashRunbook(dir: string, out: string): string {
  const steps = Array.from({ length: N }, (_, i) => ({
    id: `s${String(i + 1).padStart(2, '0')}`,
    owner: 'SRE',
    // A DAG, not a chain: s01 fans out to three lanes that join at the end.
    needs:
      i === 0
        ? []
        : i < 4
          ? ['s01']
          : i === N - 1
            ? ['s17', 's18', 's19']
            : [`s${String(i - 2).padStart(2, '0')}`],
    run: ['sh', '-c', `echo s${String(i + 1).padStart(2, '0')} >> ${out}`],
  }));
  return writeRunbook(dir, 'crash-test', { environment: 'crash', roles: { SRE: {} }, steps });
}

function linesOf(path: string): string[] {
  return readFileSync(path, 'utf8').trim().split('\n');
}

describe('crash and resume', () => {
  it(
    'every step happens exactly once whatever step K drctl is killed after',
    { timeout: 900_000 },
    async () => {
      for (let k = 1; k <= N; k++) {
        const dir = join(base, `k${k}`);
        const out = join(dir, 'out.txt');
        const runs = join(dir, 'runs');
        const { mkdirSync } = await import('node:fs');
        mkdirSync(dir, { recursive: true });
        const file = crashRunbook(dir, out);
        const first = await runCli(['switch', file, '--yes', '--concurrency', '1', '--runs-dir', runs], {
          DRCTL_FAILPOINT: `crash-after-step:${k}`,
        });
        expect(first.exitCode, `K=${k} first run: ${first.stderr}`).not.toBe(0);
        expect(linesOf(out)).toHaveLength(k);
        const resumed = await runCli(['resume', 'latest', '--yes', '--runs-dir', runs]);
        expect(resumed.exitCode, `K=${k} resume: ${resumed.stdout}\n${resumed.stderr}`).toBe(0);
        const lines = linesOf(out);
        expect(lines, `K=${k}`).toHaveLength(N);
        expect(new Set(lines).size, `K=${k} duplicates`).toBe(N);
        const [runId] = listRunDirs(runs);
        const journal = readJournal(join(runs, runId!, 'journal.jsonl'));
        expect(verifyChain(journal).ok).toBe(true);
        expect(journal.events.filter((e) => e.type === 'run-resumed')).toHaveLength(1);
        expect(journal.events.at(-1)).toMatchObject({ type: 'run-finished', status: 'succeeded' });
      }
    },
  );

  it(
    'a step running when drctl died is unknown: resume needs a decision, never re-runs it silently',
    { timeout: 120_000 },
    async () => {
      const dir = makeTempDir('engine-unknown');
      const out = join(dir, 'out.txt');
      const runs = join(dir, 'runs');
      const file = crashRunbook(dir, out);
      const first = await runCli(['switch', file, '--yes', '--concurrency', '1', '--runs-dir', runs], {
        DRCTL_FAILPOINT: 'crash-after-start:s05',
      });
      expect(first.exitCode).not.toBe(0);
      const status = await runCli(['status', 'latest', '--runs-dir', runs]);
      expect(status.stdout).toMatch(/s05\s+unknown\?/);
      expect(status.stdout).toMatch(/stopped without finishing/);

      const refused = await runCli(['resume', 'latest', '--yes', '--runs-dir', runs]);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/s05 was running when drctl stopped: its effect is unknown/);
      expect(refused.stderr).toMatch(/--mark-done s05 --reason/);

      const noReason = await runCli(['resume', 'latest', '--yes', '--mark-done', 's05', '--runs-dir', runs]);
      expect(noReason.exitCode).toBe(2);
      expect(noReason.stderr).toMatch(/needs --reason/);

      const done = await runCli([
        'resume',
        'latest',
        '--yes',
        '--mark-done',
        's05',
        '--reason',
        'done by hand',
        '--as',
        'carol',
        '--runs-dir',
        runs,
      ]);
      expect(done.exitCode, done.stderr).toBe(0);
      const lines = linesOf(out);
      expect(lines).not.toContain('s05');
      expect(lines).toHaveLength(N - 1);
      expect(new Set(lines).size).toBe(N - 1);
      const journal = readJournal(join(runs, listRunDirs(runs)[0]!, 'journal.jsonl')).events;
      expect(journal.find((e) => e.type === 'override')).toMatchObject({
        step: 's05',
        action: 'mark-done',
        by: 'carol',
        reason: 'done by hand',
      });
      expect(journal.find((e) => e.type === 'step-finished' && e.step === 's05')).toMatchObject({
        status: 'done-by-override',
      });

      const again = await runCli(['resume', 'latest', '--yes', '--runs-dir', runs]);
      expect(again.exitCode).toBe(2);
      expect(again.stderr).toMatch(/already finished successfully/);
    },
  );

  it('--retry-unknown runs the unknown step again, once', { timeout: 120_000 }, async () => {
    const dir = makeTempDir('engine-retry-unknown');
    const out = join(dir, 'out.txt');
    const runs = join(dir, 'runs');
    const file = crashRunbook(dir, out);
    await runCli(['switch', file, '--yes', '--concurrency', '1', '--runs-dir', runs], {
      DRCTL_FAILPOINT: 'crash-after-start:s10',
    });
    const r = await runCli(['resume', 'latest', '--yes', '--retry-unknown', '--runs-dir', runs]);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = linesOf(out);
    expect(lines).toHaveLength(N);
    expect(new Set(lines).size).toBe(N);
  });
});
