import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/journal/journal.js';
import { formatDuration } from '../../src/util/duration.js';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { referenceOf } from '../fixtures/report-reference.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * Issue 12 defects 2, 4 and 6 through the CLI on real processes: drctl is killed (-9) while a
 * step runs, the report is read while the run is down, the run is resumed after a pause, and
 * `status` (text and --json) and `report` must give the numbers computed from the journal.
 */
let base: string;
beforeAll(() => {
  base = makeTempDir('report-status-cli');
});
afterAll(() => removeDir(base));

const DOWN_MS = 1500;

function runbook(dir: string): string {
  return writeRunbook(dir, 'timed', {
    environment: 'test',
    roles: { SRE: {} },
    objectives: { rto: { technical: '2s' } },
    rto: { technical: { from: 'a', to: 'c' } },
    steps: [
      { id: 'a', owner: 'SRE', run: ['sleep', '0.2'] },
      { id: 'b', owner: 'SRE', needs: ['a'], run: ['sleep', '0.3'] },
      { id: 'c', owner: 'SRE', needs: ['b'], run: ['sleep', '0.2'] },
    ],
  });
}

describe('status and report after kill -9 + resume (defects 2, 4, 6)', () => {
  it(
    'one replay, one answer: status --json, status text and report agree with the journal',
    { timeout: 120_000 },
    async () => {
      const dir = join(base, 'kill');
      mkdirSync(dir, { recursive: true });
      const runs = join(dir, 'runs');
      const file = runbook(dir);
      const first = await runCli(['switch', file, '--yes', '--runs-dir', runs], {
        DRCTL_FAILPOINT: 'crash-after-start:b',
      });
      expect(first.exitCode, first.stderr).not.toBe(0);
      const [runId] = listRunDirs(runs);
      const journal = join(runs, runId!, 'journal.jsonl');

      // Defect 4: while drctl is down, the open clock runs to now, not to the last event.
      const beforeReport = Date.now();
      const down = await runCli(['report', 'latest', '--format', 'json', '--runs-dir', runs]);
      expect(down.exitCode, down.stderr).toBe(0);
      const downModel = JSON.parse(down.stdout) as {
        rto: { technical: { status: string; elapsedMs: number } };
      };
      const crashedEvents = readJournal(journal).events;
      const aStart = Date.parse(crashedEvents.find((e) => e.type === 'step-started' && e.step === 'a')!.ts);
      expect(downModel.rto.technical.status).toBe('not-reached');
      expect(downModel.rto.technical.elapsedMs).toBeGreaterThanOrEqual(beforeReport - aStart);

      await sleep(DOWN_MS);
      const resumed = await runCli(['resume', 'latest', '--yes', '--retry-unknown', '--runs-dir', runs]);
      expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);

      const events = readJournal(journal).events;
      const ref = referenceOf(events);
      expect(ref.status).toBe('succeeded');
      expect(ref.durationMs).toBeGreaterThanOrEqual(DOWN_MS);

      const status = await runCli(['status', 'latest', '--json', '--runs-dir', runs]);
      const report = await runCli(['report', 'latest', '--format', 'json', '--runs-dir', runs]);
      const text = await runCli(['status', 'latest', '--runs-dir', runs]);
      const s = JSON.parse(status.stdout) as {
        durationMs: number;
        rto: { technical: { status: string; elapsedMs: number } };
        steps: { id: string; durationMs?: number; workMs?: number; state: string }[];
      };
      const r = JSON.parse(report.stdout) as {
        run: { durationMs: number };
        rto: { technical: { status: string; elapsedMs: number } };
        steps: { id: string; durationMs?: number; workMs?: number }[];
      };
      expect(s.durationMs).toBe(ref.durationMs);
      expect(r.run.durationMs).toBe(ref.durationMs);
      expect(text.stdout).toContain(`succeeded in ${formatDuration(ref.durationMs)}`);
      for (const id of ['a', 'b', 'c']) {
        const want = ref.steps.get(id)!;
        const ss = s.steps.find((x) => x.id === id)!;
        const rs = r.steps.find((x) => x.id === id)!;
        expect([ss.durationMs, ss.workMs], id).toEqual([want.durationMs, want.workMs]);
        expect([rs.durationMs, rs.workMs], id).toEqual([want.durationMs, want.workMs]);
      }
      // b ran before the crash and again after: its duration spans the downtime, its work does not.
      expect(ref.steps.get('b')!.durationMs! - ref.steps.get('b')!.workMs).toBeGreaterThanOrEqual(DOWN_MS);
      expect(s.rto.technical).toMatchObject({
        status: ref.clocks.technical.status,
        elapsedMs: ref.clocks.technical.elapsedMs,
      });
      expect(r.rto.technical).toMatchObject({
        status: ref.clocks.technical.status,
        elapsedMs: ref.clocks.technical.elapsedMs,
      });
      expect(ref.clocks.technical.status).toBe('missed');

      // Defect 6: plan --history names the run its durations came from, and refuses a dry run.
      const plan = await runCli(['plan', file, '--history', join(runs, runId!)]);
      expect(plan.exitCode, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`Durations from run ${runId}`);
      const dry = await runCli(['switch', file, '--yes', '--dry-run', '--runs-dir', runs]);
      expect(dry.exitCode, dry.stderr).toBe(0);
      const dryId = listRunDirs(runs).find((id) => id !== runId)!;
      const fromDry = await runCli(['plan', file, '--history', join(runs, dryId)]);
      expect(fromDry.exitCode).toBe(2);
      expect(fromDry.stderr).toContain('was a dry run');
    },
  );
});
