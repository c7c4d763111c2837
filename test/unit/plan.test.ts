import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
import type { Step } from '../../src/runbook/schema.js';
import { makeRunbook, makeStep, runAction } from '../fixtures/engine-runbook.js';

const MIN = 60_000;

function step(
  id: string,
  needs: string[],
  estimateMin: number | undefined,
  owner = 'SRE',
  extra: Partial<Step> = {},
): Step {
  return makeStep(id, runAction(['true']), {
    owner,
    needs,
    estimateMs: estimateMin === undefined ? undefined : estimateMin * MIN,
    ...extra,
  });
}

const runbook = makeRunbook;

describe('buildPlan', () => {
  // declare(5) → stop(4) → {gate-a(10), gate-b(3)} → promote(2, needs both) → open(1)
  //                     ↘ notify(30) ───────────────────────────────────────↗
  const diamond = () =>
    runbook(
      [
        step('declare', [], 5, 'QA'),
        step('stop', ['declare'], 4),
        step('gate-a', ['stop'], 10, 'DBA'),
        step('gate-b', ['stop'], 3, 'DBA'),
        step('promote', ['gate-a', 'gate-b'], 2, 'DBA'),
        step('notify', ['stop'], 30, 'QA'),
        step('open', ['promote', 'notify'], 1),
      ],
      {
        objectives: { technicalMs: 40 * MIN, complianceMs: 30 * MIN },
        rto: { technical: { from: 'stop', to: 'open' }, compliance: { from: 'declare', to: 'promote' } },
      },
    );

  it('computes waves', () => {
    expect(buildPlan(diamond()).waves).toEqual([
      ['declare'],
      ['stop'],
      ['notify', 'gate-a', 'gate-b'],
      ['promote'],
      ['open'],
    ]);
  });

  it('finds the critical path and makespan', () => {
    const plan = buildPlan(diamond());
    expect(plan.criticalPath).toEqual({ steps: ['declare', 'stop', 'notify', 'open'], durationMs: 40 * MIN });
    expect(plan.makespanMs).toBe(40 * MIN);
    expect(plan.byId.get('notify')!.onCriticalPath).toBe(true);
    expect(plan.byId.get('gate-a')!.onCriticalPath).toBe(false);
  });

  it('forecasts the RTO clocks against the objectives', () => {
    const plan = buildPlan(diamond());
    expect(plan.rto.technical).toEqual({
      from: 'stop',
      to: 'open',
      forecastMs: 35 * MIN,
      objectiveMs: 40 * MIN,
      met: true,
    });
    expect(plan.rto.compliance).toEqual({
      from: 'declare',
      to: 'promote',
      forecastMs: 21 * MIN,
      objectiveMs: 30 * MIN,
      met: true,
    });
  });

  it('respects role concurrency in the forecast and warns', () => {
    const rb = diamond();
    rb.roles.DBA = { concurrency: 1 };
    const plan = buildPlan(rb);
    // gate-a (longer remaining path) goes first, gate-b waits for it.
    expect(plan.byId.get('gate-a')!.forecastStartMs).toBe(9 * MIN);
    expect(plan.byId.get('gate-b')!.forecastStartMs).toBe(19 * MIN);
    expect(plan.byId.get('promote')!.forecastEndMs).toBe(24 * MIN);
    expect(plan.warnings).toContain(
      'role DBA has up to 2 steps that could run in parallel but concurrency 1: they will queue',
    );
  });

  it('respects resource concurrency', () => {
    const rb = runbook(
      [
        step('a', [], 10, 'SRE', { resources: ['core'] }),
        step('b', [], 10, 'SRE', { resources: ['core'] }),
        step('c', [], 10, 'SRE', { resources: ['other'] }),
      ],
      { resources: { core: { kind: 'mysql', primary: 'mysql://h', replica: 'mysql://r', concurrency: 1 } } },
    );
    expect(buildPlan(rb).makespanMs).toBe(20 * MIN);
  });

  it('uses history durations instead of estimates, and warns about missing estimates', () => {
    const rb = runbook([step('a', [], undefined), step('b', ['a'], 5)]);
    expect(buildPlan(rb).warnings[0]).toBe('1 step has no estimate (counted as 0 in the forecast): a');
    const plan = buildPlan(rb, { history: new Map([['a', 7 * MIN]]) });
    expect(plan.makespanMs).toBe(12 * MIN);
    expect(plan.warnings).toEqual([]);
  });

  it('flags a forecast over the objective', () => {
    const rb = diamond();
    rb.objectives.technicalMs = 20 * MIN;
    const plan = buildPlan(rb);
    expect(plan.rto.technical!.met).toBe(false);
    expect(plan.warnings).toContain('technical RTO forecast 35m00s exceeds the objective 20m00s');
  });

  it('property: the forecast respects every dependency, and unlimited concurrency reaches the critical path', () => {
    const dag = fc
      .array(
        fc.record({ est: fc.integer({ min: 0, max: 50 }), deps: fc.array(fc.nat(), { maxLength: 3 }) }),
        {
          minLength: 1,
          maxLength: 40,
        },
      )
      .map((nodes) =>
        nodes.map((n, i) =>
          step(
            `s${i}`,
            i === 0 ? [] : [...new Set(n.deps.map((d) => `s${d % i}`))],
            n.est,
            i % 2 ? 'SRE' : 'DBA',
          ),
        ),
      );
    fc.assert(
      fc.property(dag, fc.integer({ min: 1, max: 3 }), (steps, conc) => {
        const free = buildPlan(runbook(steps));
        expect(free.makespanMs).toBe(free.criticalPath.durationMs);
        const limited = buildPlan(
          runbook(steps, { roles: { SRE: { concurrency: conc }, DBA: { concurrency: conc } } }),
        );
        expect(limited.makespanMs).toBeGreaterThanOrEqual(free.makespanMs);
        for (const p of limited.steps) {
          for (const n of p.step.needs)
            expect(p.forecastStartMs).toBeGreaterThanOrEqual(limited.byId.get(n)!.forecastEndMs);
        }
        // Execution order is topological.
        const pos = new Map(limited.steps.map((p, i) => [p.step.id, i]));
        for (const p of limited.steps)
          for (const n of p.step.needs) expect(pos.get(n)!).toBeLessThan(pos.get(p.step.id)!);
      }),
      { numRuns: 200 },
    );
  });
});
