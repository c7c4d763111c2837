import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal } from '../../src/journal/journal.js';
import type { ReportModel, StepReport } from '../../src/report/index.js';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * Real runs: small runbooks executed by the real executor through `drctl switch` / `drctl resume`
 * (real processes, real journal), then `drctl report --format json` checked against the journal
 * field by field.
 */
let base: string;
beforeAll(() => {
  base = makeTempDir('report-engine');
});
afterAll(() => removeDir(base));

function runbookDoc(dir: string, extra: { failOpen?: boolean } = {}): Record<string, unknown> {
  const flaky = join(dir, 'flaky.count');
  return {
    environment: `report-${Math.random().toString(36).slice(2, 8)}`,
    objectives: { rto: { technical: '1m', compliance: '2s' } },
    rto: { technical: { from: 'stop', to: 'open' }, compliance: { from: 'declare', to: 'verified' } },
    roles: { PM: {}, SRE: {}, DBA: {}, QA: {} },
    steps: [
      { id: 'declare', owner: 'PM', phase: 'prepare', run: ['sleep', '0.2'], estimate: '1s' },
      {
        id: 'stop',
        owner: 'SRE',
        phase: 'cutover',
        needs: ['declare'],
        run: ['sleep', '0.4'],
        estimate: '1s',
      },
      {
        id: 'flaky',
        owner: 'DBA',
        phase: 'cutover',
        needs: ['stop'],
        // Fails the first time, succeeds on the retry.
        run: ['sh', '-c', `echo x >> ${flaky}; [ $(wc -l < ${flaky}) -ge 2 ]`],
        retries: { count: 2, backoff: '200ms' },
        estimate: '1s',
      },
      {
        id: 'switch-a',
        owner: 'SRE',
        phase: 'cutover',
        needs: ['stop'],
        run: ['sleep', '0.3'],
        estimate: '1s',
      },
      {
        id: 'open',
        owner: 'SRE',
        phase: 'cutover',
        needs: ['flaky', 'switch-a'],
        run: extra.failOpen ? ['sh', '-c', 'echo gateway refused >&2; exit 3'] : ['sleep', '0.2'],
        estimate: '1s',
      },
      {
        id: 'verified',
        owner: 'QA',
        phase: 'verify',
        needs: ['open'],
        run: ['sleep', '0.2'],
        estimate: '1s',
      },
    ],
  };
}

async function reportJson(runs: string, run = 'latest'): Promise<ReportModel> {
  const r = await runCli(['report', run, '--format', 'json', '--runs-dir', runs]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ReportModel;
}

const ofStep = (events: JournalEvent[], type: JournalEvent['type'], step: string) =>
  events.filter((e) => e.type === type && 'step' in e && e.step === step);
const stepOf = (m: ReportModel, id: string): StepReport => m.steps.find((s) => s.id === id)!;

/** Start, end and duration of every started step equal what the journal recorded. */
function expectTimesFromJournal(m: ReportModel, events: JournalEvent[]): void {
  for (const s of m.steps) {
    const started = ofStep(events, 'step-started', s.id);
    const finished = ofStep(events, 'step-finished', s.id);
    if (started.length === 0) continue;
    expect(s.startedAt, s.id).toBe(started[0]!.ts);
    if (finished.length > 0) {
      expect(s.finishedAt, s.id).toBe(finished.at(-1)!.ts);
      expect(s.durationMs, s.id).toBe(Date.parse(finished.at(-1)!.ts) - Date.parse(started[0]!.ts));
    }
  }
}

describe('report on journals written by the real executor', () => {
  it(
    'a successful run: times, retries, RTO clocks, critical path, totals',
    { timeout: 300_000 },
    async () => {
      const dir = join(base, 'ok');
      mkdirSync(dir, { recursive: true });
      const runs = join(dir, 'runs');
      const file = writeRunbook(dir, 'report-ok', runbookDoc(dir));
      const run = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
      expect(run.exitCode, run.stderr).toBe(0);
      const [id] = listRunDirs(runs);
      const events = readJournal(join(runs, id!, 'journal.jsonl')).events;
      const m = await reportJson(runs);

      expect(m.run).toMatchObject({
        id,
        status: 'succeeded',
        direction: 'switchover',
        runbook: { name: 'report-ok' },
      });
      expect(m.integrity).toMatchObject({ verified: true, events: events.length });
      expect(m.steps.map((s) => [s.id, s.status])).toEqual([
        ['declare', 'succeeded'],
        ['stop', 'succeeded'],
        ['flaky', 'succeeded'],
        ['switch-a', 'succeeded'],
        ['open', 'succeeded'],
        ['verified', 'succeeded'],
      ]);
      expectTimesFromJournal(m, events);
      expect(stepOf(m, 'stop').durationMs).toBeGreaterThanOrEqual(400);
      expect(stepOf(m, 'stop')).toMatchObject({
        owner: 'SRE',
        phase: 'cutover',
        estimateMs: 1000,
        attempts: 1,
      });
      expect(stepOf(m, 'flaky').attempts).toBe(2);
      expect(stepOf(m, 'flaky').notes[0]).toMatch(/^attempt 1 failed exit 1: .* \(retry in 200ms\)$/);

      const clockStart = Date.parse(stepOf(m, 'stop').startedAt!);
      const clockEnd = Date.parse(stepOf(m, 'open').finishedAt!);
      expect(m.rto.technical).toMatchObject({
        status: 'met',
        elapsedMs: clockEnd - clockStart,
        objectiveMs: 60_000,
      });
      const compliance =
        Date.parse(stepOf(m, 'verified').finishedAt!) - Date.parse(stepOf(m, 'declare').startedAt!);
      expect(m.rto.compliance).toMatchObject({ elapsedMs: compliance, objectiveMs: 2000 });
      expect(m.rto.compliance.status).toBe(compliance <= 2000 ? 'met' : 'missed');

      // The path ends at verified, goes through needs, and through whichever of flaky/switch-a ended last.
      const path = m.criticalPath.steps;
      expect(path[0]).toBe('declare');
      expect(path.slice(-2)).toEqual(['open', 'verified']);
      const later =
        Date.parse(stepOf(m, 'flaky').finishedAt!) >= Date.parse(stepOf(m, 'switch-a').finishedAt!)
          ? 'flaky'
          : 'switch-a';
      expect(path).toEqual(['declare', 'stop', later, 'open', 'verified']);

      expect(m.roles.map((r) => [r.name, r.steps])).toEqual([
        ['PM', 1],
        ['SRE', 3],
        ['DBA', 1],
        ['QA', 1],
      ]);
      const sre = m.roles.find((r) => r.name === 'SRE')!;
      expect(sre.sumMs).toBe(
        ['stop', 'switch-a', 'open'].reduce((sum, id) => sum + stepOf(m, id).durationMs!, 0),
      );
      expect(m.phases.map((p) => p.name)).toEqual(['prepare', 'cutover', 'verify']);
      for (const g of m.idleGaps) expect(g.durationMs).toBeGreaterThanOrEqual(1000);
    },
  );

  it(
    'a failed run: the failing step, its exit code and output, and the steps that never ran',
    { timeout: 300_000 },
    async () => {
      const dir = join(base, 'failed');
      mkdirSync(dir, { recursive: true });
      const runs = join(dir, 'runs');
      const file = writeRunbook(dir, 'report-failed', runbookDoc(dir, { failOpen: true }));
      const run = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
      expect(run.exitCode).toBe(1);
      const [id] = listRunDirs(runs);
      const events = readJournal(join(runs, id!, 'journal.jsonl')).events;
      const m = await reportJson(runs);
      expect(m.run.status).toBe('failed');
      expectTimesFromJournal(m, events);
      expect(stepOf(m, 'open')).toMatchObject({ status: 'failed', exitCode: 3, attempts: 1 });
      expect(stepOf(m, 'open').outputTail?.join('\n')).toContain('gateway refused');
      expect(stepOf(m, 'verified')).toMatchObject({ status: 'not-run', attempts: 0 });
      expect(m.rto.technical.status).toBe('not-reached');
      expect(m.rto.technical.verdict).toContain('step open ended failed');
      expect(m.rto.compliance.verdict).toContain('step verified never ran');
      expect(m.criticalPath.steps.at(-1)).toBe('open');
      expect(m.roles.find((r) => r.name === 'SRE')).toMatchObject({ failed: 1 });
    },
  );

  it(
    'a resumed run: crash while a step ran, resumed with --mark-done and a reason',
    { timeout: 300_000 },
    async () => {
      const dir = join(base, 'resumed');
      mkdirSync(dir, { recursive: true });
      const runs = join(dir, 'runs');
      const file = writeRunbook(dir, 'report-resumed', runbookDoc(dir));
      const first = await runCli(['switch', file, '--yes', '--concurrency', '1', '--runs-dir', runs], {
        DRCTL_FAILPOINT: 'crash-after-start:switch-a',
      });
      expect(first.exitCode).not.toBe(0);
      const resumed = await runCli([
        'resume',
        'latest',
        '--yes',
        '--mark-done',
        'switch-a',
        '--reason',
        'checked by hand: config key flipped',
        '--runs-dir',
        runs,
      ]);
      expect(resumed.exitCode, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
      const [id] = listRunDirs(runs);
      const events = readJournal(join(runs, id!, 'journal.jsonl')).events;
      const m = await reportJson(runs);

      expect(m.integrity.verified).toBe(true);
      expect(m.run.status).toBe('succeeded');
      const resumedAt = events.find((e) => e.type === 'run-resumed')!;
      expect(m.run.resumes).toEqual([{ at: resumedAt.ts, by: expect.stringContaining('@') as string }]);
      const sw = stepOf(m, 'switch-a');
      expect(sw.status).toBe('done-by-override');
      expect(sw.startedAt).toBe(ofStep(events, 'step-started', 'switch-a')[0]!.ts);
      expect(sw.overrides).toEqual([
        {
          at: expect.any(String) as string,
          action: 'mark-done',
          by: expect.any(String) as string,
          reason: 'checked by hand: config key flipped',
        },
      ]);
      expect(sw.notes.some((n) => n.endsWith('checked by hand: config key flipped'))).toBe(true);
      expect(sw.notes).toContain('was running when drctl stopped; re-run after resume');
      for (const other of ['declare', 'stop', 'flaky', 'open', 'verified'])
        expect(stepOf(m, other).status).toBe('succeeded');

      // The time drctl was down: from the last event before the resume to the resume.
      const before = events[events.indexOf(resumedAt) - 1]!;
      const downMs = Date.parse(resumedAt.ts) - Date.parse(before.ts);
      const down = m.idleGaps.filter((g) => g.kind === 'process-down');
      if (downMs >= 1000)
        expect(down).toEqual([expect.objectContaining({ startedAt: before.ts, durationMs: downMs })]);
      else expect(down).toEqual([]);
    },
  );
});
