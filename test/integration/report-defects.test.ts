import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/engine/executor.js';
import { prepareResume } from '../../src/engine/resume.js';
import { replayJournal, visibleSteps } from '../../src/engine/state.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { buildReportModel, compareReports, renderReport, type ReportModel } from '../../src/report/index.js';
import type { Runbook } from '../../src/runbook/schema.js';
import { execRunbook, type ExecRun } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep, runAction, shellAction } from '../fixtures/engine-runbook.js';
import { referenceOf } from '../fixtures/report-reference.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { HEADER, loadErrors, writeTree } from '../unit/runbook-helpers.js';

/**
 * Issue 12: each defect on a runbook whose timings the test controls (sleep steps, approvals
 * decided after a delay, Ctrl-C + resume), with the expected numbers computed from the journal
 * (test/fixtures/report-reference.ts), not by the report code.
 */
const dirs: string[] = [];
let ex: Executor | undefined;
afterAll(() => dirs.forEach(removeDir));

const integrity = { verified: true, events: 0, breakAt: undefined, tornTail: false, corruptLines: [] };
const modelOf = (events: JournalEvent[], now?: number, live?: boolean): ReportModel =>
  buildReportModel({ runId: 'test-run', events, integrity }, { now, live });
const at = (e: JournalEvent | undefined): number => Date.parse(e!.ts);
const sleepStep = (id: string, s: number, extra: Parameters<typeof makeStep>[2] = {}) =>
  makeStep(id, runAction(['sleep', String(s)]), extra);

async function run(rb: Runbook, opts: Parameters<typeof execRunbook>[1] = {}): Promise<ExecRun> {
  const dir = opts.dir ?? makeTempDir('report-defects');
  dirs.push(dir);
  return execRunbook(rb, { ...opts, dir });
}

/** Three steps a → b → c with the technical clock from a to c (objective 10 s). */
function chain(
  extra: Partial<Runbook> = {},
  stepExtra: Record<string, Parameters<typeof makeStep>[2]> = {},
): Runbook {
  return makeRunbook(
    [
      sleepStep('a', 0.1, stepExtra.a),
      sleepStep('b', 0.1, { needs: ['a'], ...stepExtra.b }),
      sleepStep('c', 0.1, { needs: ['b'], ...stepExtra.c }),
    ],
    { objectives: { technicalMs: 10_000 }, rto: { technical: { from: 'a', to: 'c' } }, ...extra },
  );
}

describe('defect 1: a clock is met only when its from step started and its to step finished for real', () => {
  it('--only without the from step: not started, not MET', async () => {
    const r = await run(chain(), { selected: new Set(['b', 'c']) });
    const m = modelOf(r.events);
    expect(referenceOf(r.events).clocks.technical.status).toBe('not-started');
    expect(m.rto.technical.status).toBe('not-started');
    expect(m.rto.technical.verdict).toContain('not selected');
  });

  it('a dry run measures nothing: no MET, steps are dry-run with 0 tries', async () => {
    const r = await run(chain(), { dryRun: true });
    const m = modelOf(r.events);
    expect(m.rto.technical.status).toBe('dry-run');
    expect(m.steps.map((s) => [s.status, s.attempts, s.durationMs])).toEqual([
      ['dry-run', 0, undefined],
      ['dry-run', 0, undefined],
      ['dry-run', 0, undefined],
    ]);
    expect(renderReport(m, 'console')).toContain('DRY RUN');
  });

  it('a drill where from and to are drill: skip: not started', async () => {
    const skip = { drill: { mode: 'skip' as const } };
    const r = await run(chain({ drill: true }, { a: skip, c: skip }));
    const m = modelOf(r.events);
    expect(m.rto.technical.status).toBe('not-started');
    expect(m.rto.technical.verdict).toContain('drill');
  });

  it('validate rejects a to step upstream of its from step', () => {
    const dir = writeTree({
      'rb.yaml': `${HEADER}rto: { technical: { from: b, to: a } }
steps:
  - { id: a, owner: SRE, run: [true] }
  - { id: b, owner: SRE, needs: [a], run: [true] }
`,
    });
    dirs.push(dir);
    const errors = loadErrors(`${dir}/rb.yaml`);
    expect(errors.join('\n')).toMatch(
      /rto\.technical\.to names step "a", which runs before rto\.technical\.from "b"/,
    );
  });

  it('a to step that succeeded and was then rolled back: rolled back, not MET', async () => {
    const rollback = { action: runAction(['true']) };
    const rb = makeRunbook(
      [
        sleepStep('a', 0.05, { rollback }),
        sleepStep('c', 0.05, { needs: ['a'], rollback }),
        makeStep('d', shellAction('sleep 0.05; exit 3'), { needs: ['c'], onFailure: 'rollback' }),
      ],
      { objectives: { technicalMs: 10_000 }, rto: { technical: { from: 'a', to: 'c' } } },
    );
    const r = await run(rb);
    expect(r.events.some((e) => e.type === 'rollback-started')).toBe(true);
    const ref = referenceOf(r.events).clocks.technical;
    const m = modelOf(r.events);
    expect(ref.status).toBe('rolled-back');
    expect(m.rto.technical.status).toBe('rolled-back');
    expect(m.rto.technical.elapsedMs).toBe(ref.elapsedMs);
    expect(renderReport(m, 'console')).toContain('ROLLED BACK');
  });
});

describe('defect 7: one rule for a from step that drctl did not run', () => {
  it('skipped or marked done by override: neither starts the clock, and the verdict says why', async () => {
    const rb = makeRunbook(
      [
        makeStep('fail-first', shellAction('exit 1')),
        sleepStep('a', 0.05, { needs: ['fail-first'] }),
        sleepStep('c', 0.05, { needs: ['a'] }),
      ],
      { objectives: { technicalMs: 10_000 }, rto: { technical: { from: 'a', to: 'c' } } },
    );
    const dir = makeTempDir('report-d7');
    const first = await run(rb, { dir });
    expect(first.result.status).toBe('failed');
    const plan = prepareResume(first.view, rb, {
      retryUnknown: false,
      markDone: new Map([
        ['fail-first', 'done by hand'],
        ['a', 'done by hand before the night'],
      ]),
      by: 'ops',
    });
    const second = await run(rb, { dir, resume: { ...plan, by: 'ops' } });
    expect(second.result.status).toBe('succeeded');
    const m = modelOf(second.events);
    expect(referenceOf(second.events).clocks.technical.status).toBe('not-started');
    expect(m.rto.technical.status).toBe('not-started');
    expect(m.rto.technical.verdict).toContain('marked done by override');
    // The skipped from step (not selected) follows the same rule.
    const skipped = await run(chain(), { selected: new Set(['b', 'c']) });
    expect(modelOf(skipped.events).rto.technical.status).toBe('not-started');
  });
});

describe('defect 3: attempts are work, the gaps between them are waits', () => {
  it('a step cancelled by Ctrl-C, drctl down, then re-run: work is its two attempts, not the downtime', async () => {
    const rb = makeRunbook([sleepStep('a', 0.05), sleepStep('long', 0.6, { needs: ['a'] })], {
      objectives: { technicalMs: 10_000 },
      rto: { technical: { from: 'a', to: 'long' } },
    });
    const dir = makeTempDir('report-d3');
    const first = await run(rb, {
      dir,
      observer: {
        onEvent: (ev) => {
          if (ev.type === 'step-started' && ev.step === 'long')
            setTimeout(() => (ex!.interrupt(), ex!.interrupt()), 250);
        },
      },
      onExecutor: (e) => (ex = e),
    });
    expect(first.result.status).toBe('interrupted');
    await sleep(1200); // drctl is down
    const plan = prepareResume(first.view, rb, { retryUnknown: false, markDone: new Map(), by: 'ops' });
    const second = await run(rb, { dir, resume: { ...plan, by: 'ops' } });
    expect(second.result.status).toBe('succeeded');
    const ev = second.events;
    const starts = ev.filter((e) => e.type === 'step-started' && e.step === 'long');
    const ends = ev.filter((e) => e.type === 'step-finished' && e.step === 'long');
    expect(starts).toHaveLength(2);
    const work = at(ends[0]) - at(starts[0]) + (at(ends[1]) - at(starts[1]));
    const wall = at(ends[1]) - at(starts[0]);
    expect(wall - work).toBeGreaterThanOrEqual(1200);
    const m = modelOf(ev);
    const long = m.steps.find((s) => s.id === 'long')!;
    expect(long.workMs).toBe(work);
    expect(long.durationMs).toBe(wall);
    expect(long.waitMs).toBe(wall - work);
    const aWork = referenceOf(ev).steps.get('a')!.workMs;
    expect(m.roles[0]).toMatchObject({ sumMs: work + aWork, activeMs: work + aWork });
    expect(m.criticalPath.workMs).toBe(work + aWork);
    expect(m.idleGaps.some((g) => g.kind === 'process-down' && g.durationMs >= 1200)).toBe(true);
  });

  it('an approval wait is waiting, not path work', async () => {
    const rb = makeRunbook(
      [
        sleepStep('a', 0.05),
        makeStep('sign', { kind: 'manual', instructions: 'sign', approvers: [] }, { needs: ['a'] }),
        sleepStep('c', 0.05, { needs: ['sign'] }),
      ],
      { roles: { SRE: { members: ['qa'] }, DBA: { members: ['qa'] }, QA: { members: ['qa'] } } },
    );
    const r = await run(rb, {
      observer: {
        promptApproval: async () => {
          await sleep(700);
          return { decision: 'approved', by: 'qa', via: 'prompt' };
        },
      },
    });
    expect(r.result.status).toBe('succeeded');
    const ref = referenceOf(r.events);
    const req = r.events.find((e) => e.type === 'approval-requested');
    const dec = r.events.find((e) => e.type === 'approval');
    expect(at(dec) - at(req)).toBeGreaterThanOrEqual(650);
    const m = modelOf(r.events);
    const sign = m.steps.find((s) => s.id === 'sign')!;
    expect(sign.workMs).toBe(ref.steps.get('sign')!.workMs);
    expect(sign.workMs!).toBeLessThan(at(dec) - at(req));
    const pathWork = ['a', 'sign', 'c'].reduce((s, id) => s + ref.steps.get(id)!.workMs, 0);
    expect(m.criticalPath.workMs).toBe(pathWork);
    expect(m.criticalPath.waitMs).toBe(m.criticalPath.endOffsetMs - m.criticalPath.startOffsetMs - pathWork);
    expect(m.criticalPath.waitMs).toBeGreaterThanOrEqual(at(dec) - at(req));
  });
});

describe('defect 4: an open clock runs to now', () => {
  it('a live run 0.6 s into its only step (from = to) shows the time elapsed, not 0 ms', async () => {
    const rb = makeRunbook([sleepStep('a', 0.8)], {
      objectives: { technicalMs: 500 },
      rto: { technical: { from: 'a', to: 'a' } },
    });
    const r = await run(rb);
    // The journal up to the step start, as `report` would read it while the step runs.
    const snapshot = r.events.slice(0, r.events.findIndex((e) => e.type === 'step-started') + 1);
    const start = at(snapshot.at(-1));
    const now = start + 600;
    const m = modelOf(snapshot, now, true);
    expect(m.rto.technical.status).toBe('not-reached');
    expect(m.rto.technical.elapsedMs).toBe(600);
    expect(m.rto.technical.verdict).toContain('already over the objective by 100ms (missed)');
    expect(m.rto.technical.verdict).toContain('measured to now');
    expect(m.steps[0]!.workMs).toBe(600);
  });
});

describe('defect 5: --compare', () => {
  it('gives each RTO row its status, compares only reached clocks, and warns when the runbooks differ', async () => {
    const a = await run(chain());
    const b = await run(chain({ sha256: 'e'.repeat(64) }), { selected: new Set(['a', 'b']) });
    const c = compareReports(modelOf(a.events), modelOf(b.events));
    expect(c.rto.technical).toMatchObject({ aStatus: 'met', bStatus: 'not-reached', deltaMs: undefined });
    expect(c.rto.technical.b).toBeUndefined();
    expect(c.warnings.join('\n')).toContain('different runbooks');
  });
});

describe('defect 8: rollback steps that never ran are not part of a successful run', () => {
  it('3 steps, 2 with rollback actions: the report and status list 3', async () => {
    const rollback = { action: runAction(['true']) };
    const r = await run(
      makeRunbook([
        sleepStep('a', 0.02, { phase: 'p', rollback }),
        sleepStep('b', 0.02, { phase: 'p', rollback, needs: ['a'] }),
        sleepStep('c', 0.02, { phase: 'p', needs: ['b'] }),
      ]),
    );
    const m = modelOf(r.events);
    expect(m.steps.map((s) => s.id)).toEqual(['a', 'b', 'c']);
    expect(m.phases.map((p) => p.name)).toEqual(['p']);
    expect(m.roles[0]).toMatchObject({ steps: 3, notRun: 0 });
    expect(renderReport(m, 'console')).toContain('Steps (3)');
    expect(renderReport(m, 'csv').trim().split('\r\n')).toHaveLength(4);
    const view = replayJournal(r.events);
    expect(visibleSteps(view).map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});

describe('defect 9: the CSV adds up to the JSON totals, open steps included', () => {
  it('a live run with an open step', async () => {
    const rb = makeRunbook([sleepStep('a', 0.05), sleepStep('b', 0.3, { needs: ['a'] })]);
    const r = await run(rb);
    const cut = r.events.findIndex((e) => e.type === 'step-started' && e.step === 'b') + 1;
    const events = r.events.slice(0, cut);
    const now = at(events.at(-1)) + 200;
    const m = modelOf(events, now, true);
    const csv = renderReport(m, 'csv').trim().split('\r\n');
    const header = csv[0]!.split(',');
    const work = header.indexOf('work_s');
    expect(work).toBeGreaterThan(0);
    const total = csv.slice(1).reduce((s, line) => s + Number(line.split(',')[work] || 0), 0);
    expect(Math.round(total * 1000)).toBe(m.roles[0]!.sumMs);
    const ref = referenceOf(events, now);
    expect(m.roles[0]!.sumMs).toBe(ref.roles.get('SRE')!.sumMs);
    expect(m.steps[1]!.workMs).toBe(200);
  });
});
