/**
 * The forecast and the run order steps identically when the steps take the forecast's durations.
 *
 * A real `drctl switch` of 500 `true` steps cannot show this: process start-up jitter decides
 * which of two steps ends first, so "the same durations" never holds exactly. Here the real
 * Executor (the one `drctl switch` runs, with its journal on disk) runs a loaded runbook and the
 * Plan `drctl plan` builds, and only the actions are replaced: each one waits on a virtual
 * clock that the test moves. The clock moves only when the executor is idle (every step it
 * started is inside its action), to the earliest end, and ends one step at a time (equal ends:
 * the one that started first), which is the rule the forecast states. So every scheduling
 * decision of the run is the executor's own, made with exactly the forecast's durations.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { JournalEvent } from '../../src/journal/events.js';
import { buildPlan } from '../../src/plan/plan.js';
import type { Plan } from '../../src/plan/types.js';
import { loadRunbook, type LoadedRunbook } from '../../src/runbook/load.js';
import type { StepContext, StepOutcome } from '../../src/steps/types.js';
import { execRunbook } from '../fixtures/engine-exec.js';
import { makeTempDir } from '../harness/process.js';
import { mulberry32 } from '../harness/prng.js';

interface Generated {
  file: string;
  history: Map<string, number>;
}

/**
 * A seeded 500-step runbook: a random needs DAG (declared out of order), five roles and four
 * resources with and without limits, estimates drawn from a few values (so that priorities and
 * end times tie often), some steps without one, some skipped in a drill; and a "previous run"
 * giving other durations for a third of the steps.
 */
function generate(seed: number, n: number, dir: string): Generated {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const roles: Record<string, { concurrency?: number }> = {};
  for (let r = 0; r < 5; r++) roles[`R${r}`] = r === 4 ? {} : { concurrency: 1 + Math.floor(rand() * 4) };
  const resources: Record<string, unknown> = {};
  for (let r = 0; r < 4; r++) {
    resources[`res${r}`] = {
      kind: 'http',
      url: 'http://127.0.0.1:9',
      ...(r === 3 ? {} : { concurrency: 1 + Math.floor(rand() * 3) }),
    };
  }
  const durations = [0, 100, 200, 300, 500, 1000, 2000, 5000];
  const history = new Map<string, number>();
  const steps = Array.from({ length: n }, (_, i) => {
    const id = `s${String(i).padStart(3, '0')}`;
    const needs =
      i === 0
        ? []
        : [
            ...new Set(
              Array.from(
                { length: Math.floor(rand() * 4) },
                () => `s${String(Math.floor(rand() * i)).padStart(3, '0')}`,
              ),
            ),
          ];
    const estimate = rand() < 0.1 ? undefined : pick(durations);
    if (rand() < 0.33) history.set(id, pick(durations) + Math.floor(rand() * 3) * 50);
    return {
      id,
      owner: pick(Object.keys(roles)),
      ...(needs.length ? { needs } : {}),
      ...(estimate === undefined ? {} : { estimate: `${estimate}ms` }),
      ...(rand() < 0.3 ? { resource: pick(Object.keys(resources)) } : {}),
      ...(rand() < 0.1 ? { drill: 'skip' } : {}),
      run: ['true'],
    };
  });
  // Declared out of order: the tie-break is the declaration order, not the id.
  for (let i = steps.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [steps[i], steps[j]] = [steps[j]!, steps[i]!];
  }
  const file = join(dir, `gen-${seed}.yaml`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'drctl/v1',
      kind: 'Runbook',
      name: `generated-${seed}`,
      environment: 'test',
      concurrency: 12,
      roles,
      resources,
      steps,
    }),
  );
  return { file, history };
}

interface VirtualRun {
  /** Steps in the order the executor started them (step-started, or skipped in a drill). */
  order: string[];
  /** Virtual start per step. */
  startAt: Map<string, number>;
  makespan: number;
  events: JournalEvent[];
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const fsBusy = (): boolean => process.getActiveResourcesInfo().some((r) => r.startsWith('FSReq'));

/** Runs the real executor with actions that take `durationOf(id)` on a virtual clock. */
async function runVirtually(
  rb: LoadedRunbook,
  plan: Plan,
  durationOf: (id: string) => number,
): Promise<VirtualRun> {
  let now = 0;
  let seq = 0;
  let started = 0;
  let invoked = 0;
  const startAt = new Map<string, number>();
  const order: string[] = [];
  // In flight, by (end, start sequence): the next to end first.
  const pending: { id: string; end: number; seq: number; resolve: (o: StepOutcome) => void }[] = [];
  const runAction = (_a: unknown, ctx: StepContext): Promise<StepOutcome> =>
    new Promise((resolve) => {
      invoked += 1;
      const id = ctx.step.id;
      startAt.set(id, now);
      // Equal ends go by start order (step-started), not by when the action was reached: two
      // steps started in one pass wait on two group fsyncs, which a loaded host may complete in
      // either order (CI, seed 1502: s128 and s006 swapped).
      const item = { id, end: now + durationOf(id), seq: startSeq.get(id) ?? seq++, resolve };
      let at = pending.findIndex((p) => p.end > item.end || (p.end === item.end && p.seq > item.seq));
      if (at < 0) at = pending.length;
      pending.splice(at, 0, item);
    });
  let finished = false;
  const startSeq = new Map<string, number>();
  // The journal on tmpfs where there is one: this test is about order, and ~500 group fsyncs on
  // a busy disk would only make it slow.
  const runDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'drctl-forecast-'));
  const run = execRunbook(rb, {
    dir: runDir,
    plan,
    runAction,
    observer: {
      onEvent: (ev) => {
        if (ev.type === 'step-started') {
          startSeq.set(ev.step, started);
          started += 1;
          order.push(ev.step);
        } else if (ev.type === 'step-skipped' && ev.reason.startsWith('drill')) {
          order.push(ev.step);
          startAt.set(ev.step, now);
        }
      },
    },
  }).finally(() => (finished = true));
  const driver = (async () => {
    for (;;) {
      // Idle: the loop has run (one macrotask after the last end) and every started step is
      // inside its action (the group fsync before an action is real I/O).
      await tick();
      // A finished step reaches the scheduler only after its journal fsync (libuv's pool): on a
      // loaded host that takes longer than a tick, and moving the clock then ended two steps at
      // once (CI: seed 1502 ordered differently). So idle also means no fs request in flight.
      const until = Date.now() + 5000;
      while (invoked < started || (fsBusy() && Date.now() < until)) await tick();
      if (finished) return;
      const next = pending.shift();
      if (next === undefined) continue;
      now = next.end;
      next.resolve({ ok: true });
    }
  })();
  const [result] = await Promise.all([run, driver]).finally(() =>
    rmSync(runDir, { recursive: true, force: true }),
  );
  expect(result.result.status).toBe('succeeded');
  return { order, startAt, makespan: now, events: result.events };
}

function durationsOf(rb: LoadedRunbook, history: ReadonlyMap<string, number>): (id: string) => number {
  const est = new Map(rb.steps.map((s) => [s.id, s.estimateMs ?? 0]));
  return (id) => history.get(id) ?? est.get(id) ?? 0;
}

describe('forecast = run', () => {
  const dir = makeTempDir('engine-forecast');

  for (const [seed, drill] of [
    [1501, false],
    [1502, true],
  ] as const) {
    it(`orders a generated 500-step runbook like the executor (seed ${seed}${drill ? ', drill' : ''})`, async () => {
      const gen = generate(seed, 500, dir);
      const rb = loadRunbook(gen.file, { vars: {}, ...(drill ? { drill: true } : {}) });
      expect(rb.steps).toHaveLength(500);
      const plan = buildPlan(rb, { history: gen.history });
      const run = await runVirtually(rb, plan, durationsOf(rb, gen.history));

      // Ties are common, so the tie-breaks are exercised, not only the priorities.
      const starts = plan.steps.map((p) => p.forecastStartMs);
      expect(starts.length - new Set(starts).size, `seed ${seed}`).toBeGreaterThan(100);
      expect(run.order, `seed ${seed}`).toEqual(plan.startOrder);
      for (const p of plan.steps) expect(run.startAt.get(p.step.id), p.step.id).toBe(p.forecastStartMs);
      expect(run.makespan).toBe(plan.makespanMs);
    }, 120_000);
  }

  it('honours the selection and a --concurrency override the same way', async () => {
    const gen = generate(1503, 200, dir);
    const rb = loadRunbook(gen.file, { vars: {} });
    const selected = new Set(rb.steps.filter((_, i) => i % 3 !== 0).map((s) => s.id));
    const plan = buildPlan(rb, { concurrency: 3, selected });
    const run = await runVirtually(rb, plan, durationsOf(rb, new Map()));
    expect(run.order).toEqual(plan.startOrder);
    expect(plan.startOrder).toHaveLength(selected.size);
    for (const id of plan.startOrder)
      expect(run.startAt.get(id), id).toBe(plan.byId.get(id)!.forecastStartMs);
    // Never more than 3 at once, in the forecast as in the run.
    const ivs = plan.steps.filter((p) => p.selected && p.forecastEndMs > p.forecastStartMs);
    for (const p of ivs) {
      const overlapping = ivs.filter(
        (q) => q.forecastStartMs <= p.forecastStartMs && q.forecastEndMs > p.forecastStartMs,
      ).length;
      expect(overlapping).toBeLessThanOrEqual(3);
    }
    const skipped = run.events.filter((e) => e.type === 'step-skipped').length;
    expect(skipped).toBe(200 - selected.size);
  }, 120_000);
});
