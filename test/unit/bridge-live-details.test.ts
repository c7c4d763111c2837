import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { clockForecasts, runningOutput } from '../../src/bridge/live-details.js';
import type { RunSnapshot } from '../../src/bridge/runs.js';
import type { RunLocation } from '../../src/journal/runs.js';
import { buildPlan } from '../../src/plan/plan.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { makeRunbook, makeStep, runAction } from '../fixtures/engine-runbook.js';

const dir = makeTempDir('bridge-live-details');
afterAll(() => removeDir(dir));

let runs = 0;
function runDir(files: Record<string, string>): RunLocation {
  const d = join(dir, `run-${runs++}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return { id: `run-${runs}`, dir: d, journalPath: join(d, 'journal.jsonl') };
}

/** The parts of a snapshot the live details read: the steps' states, and whether it finished. */
function snapshot(steps: { id: string; state: string; startedAt?: string }[]): RunSnapshot {
  return { view: { steps, finished: undefined, dryRun: false } } as unknown as RunSnapshot;
}

describe('the run page forecast is the plan forecast', () => {
  it('before anything ran, each clock forecast equals buildPlan (seeded DAGs, role limits)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            estimateS: fc.integer({ min: 0, max: 600 }),
            owner: fc.constantFrom('SRE', 'DBA', 'QA'),
            needs: fc.array(fc.nat(), { maxLength: 3 }),
          }),
          { minLength: 2, maxLength: 12 },
        ),
        fc.record({
          SRE: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
          DBA: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
        }),
        fc.nat(),
        fc.nat(),
        (specs, limits, a, b) => {
          const steps = specs.map((s, i) =>
            makeStep(`s${i}`, runAction(['true']), {
              owner: s.owner,
              estimateMs: s.estimateS * 1000,
              // Needs only earlier steps: a DAG.
              needs: i === 0 ? [] : [...new Set(s.needs.map((n) => `s${n % i}`))],
            }),
          );
          const from = `s${Math.min(a, b) % steps.length}`;
          const to = `s${steps.length - 1 - (Math.max(a, b) % steps.length)}`;
          const runbook = makeRunbook(steps, {
            objectives: { technicalMs: 600_000, complianceMs: 1_800_000 },
            rto: { technical: { from, to }, compliance: { from: 's0', to: `s${steps.length - 1}` } },
            roles: { SRE: { concurrency: limits.SRE }, DBA: { concurrency: limits.DBA }, QA: {} },
          });
          const loc = runDir({ 'runbook.json': JSON.stringify(runbook), 'invocation.json': '{}' });
          const plan = buildPlan(runbook);
          const got = clockForecasts(loc, snapshot(steps.map((s) => ({ id: s.id, state: 'pending' }))))!;
          expect(got.map((c) => [c.clock, c.reached, c.elapsedMs])).toEqual([
            ['technical', false, undefined],
            ['compliance', false, undefined],
          ]);
          expect(got[0]!.forecastMs).toBe(plan.rto.technical!.forecastMs);
          expect(got[1]!.forecastMs).toBe(plan.rto.compliance!.forecastMs);
          // Nothing ran yet: the compliance clock's `to` ends when the whole plan would.
          expect(got[1]!.remainingMs).toBe(plan.byId.get(`s${steps.length - 1}`)!.forecastEndMs);
        },
      ),
      { seed: 1616, numRuns: 100 },
    );
  });

  it('a running step counts with its estimate less the time it has run', () => {
    const steps = [
      makeStep('a', runAction(['true']), { estimateMs: 60_000 }),
      makeStep('b', runAction(['true']), { estimateMs: 30_000, needs: ['a'] }),
    ];
    const runbook = makeRunbook(steps, {
      objectives: { technicalMs: 80_000 },
      rto: { technical: { from: 'a', to: 'b' } },
    });
    const loc = runDir({ 'runbook.json': JSON.stringify(runbook), 'invocation.json': '{}' });
    const since = new Date(Date.now() - 20_000).toISOString();
    const [tech] = clockForecasts(
      loc,
      snapshot([
        { id: 'a', state: 'running', startedAt: since },
        { id: 'b', state: 'pending' },
      ]),
    )!;
    // 20 s run, 40 s of a and 30 s of b to go: 90 s, over the 80 s objective.
    expect(tech!.elapsedMs).toBeGreaterThanOrEqual(20_000);
    expect(tech!.remainingMs).toBeGreaterThan(69_000);
    expect(tech!.remainingMs).toBeLessThanOrEqual(70_000);
    expect(Math.round(tech!.forecastMs! / 1000)).toBe(90);
  });

  it('no runbook.json (a run recorded by something else): no forecast, nothing thrown', () => {
    expect(clockForecasts(runDir({}), snapshot([]))).toBeUndefined();
  });
});

describe('a running step shows its last output lines', () => {
  it("keeps the current attempt's complete lines, the last 5, redacted; only running steps", () => {
    const loc = runDir({
      'steps/copy.stdout.log': [
        '--- attempt 1 2026-11-29T20:00:00Z run: copy',
        'old attempt line',
        '--- attempt 2 2026-11-29T20:01:00Z run: copy',
        ...Array.from({ length: 7 }, (_, i) => `copied batch ${i + 1}`),
        'connecting to mysql://app:hunter2-secret@10.0.0.5/bank',
        'a line still being writ',
      ].join('\n'),
      'steps/copy.stderr.log': '--- attempt 2 2026-11-29T20:01:00Z run: copy\n',
      'steps/done.stdout.log': '--- attempt 1 x\nfinished output\n',
    });
    const out = runningOutput(
      loc,
      snapshot([
        { id: 'copy', state: 'running' },
        { id: 'done', state: 'succeeded' },
        { id: 'silent', state: 'running' },
      ]),
    );
    expect([...out.keys()]).toEqual(['copy']);
    expect(out.get('copy')).toEqual([
      'copied batch 4',
      'copied batch 5',
      'copied batch 6',
      'copied batch 7',
      'connecting to mysql://app:***@10.0.0.5/bank',
    ]);
  });

  it('reads only the end of a large output file', () => {
    const big = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n') + '\n';
    const loc = runDir({ 'steps/big.stdout.log': `--- attempt 1 x\n${big}` });
    const out = runningOutput(loc, snapshot([{ id: 'big', state: 'running' }]));
    expect(out.get('big')!.map((l) => l.split(' ')[1])).toEqual(['4995', '4996', '4997', '4998', '4999']);
  });
});
