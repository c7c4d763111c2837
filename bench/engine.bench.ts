/**
 * Executor benchmark: `node --import tsx bench/engine.bench.ts`
 *  1. executor overhead per step: 2,000 no-op steps (independent, and a 2,000-step chain), with the
 *     journal on this machine's disk (real fsync) and on tmpfs (/dev/shm: the executor alone);
 *  2. the cost of a real `run` step (a process spawned per step);
 *  3. a DAG of sleep steps with unlimited concurrency: makespan vs the critical path from buildPlan.
 * Prints a table and exits. No servers needed.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Executor } from '../src/engine/executor.js';
import { JournalWriter, readJournal } from '../src/journal/journal.js';
import { buildPlan } from '../src/plan/plan.js';
import type { Action, Step } from '../src/runbook/schema.js';
import type { StepContext, StepOutcome } from '../src/steps/types.js';
import { makeRunbook, makeStep, runAction } from '../test/fixtures/engine-runbook.js';

interface Row {
  case: string;
  steps: number;
  wallMs: number;
  perStepMs?: number;
  note?: string;
}

const rows: Row[] = [];
const noop: Action = { kind: 'run', argv: ['true'], command: undefined, shell: false };

async function execute(
  steps: Step[],
  base: string,
  runAction?: (a: Action, c: StepContext) => Promise<StepOutcome>,
): Promise<number> {
  const dir = mkdtempSync(join(base, 'drctl-bench-engine-'));
  try {
    const runbook = makeRunbook(steps);
    const plan = buildPlan(runbook);
    const journal = JournalWriter.open(join(dir, 'journal.jsonl'));
    const ex = new Executor({
      runbook,
      runId: 'bench',
      runDir: dir,
      journal,
      dryRun: false,
      plan,
      runAction,
    });
    const t0 = performance.now();
    const result = await ex.run();
    const wall = performance.now() - t0;
    journal.close();
    if (result.status !== 'succeeded') throw new Error(`bench run ${result.status}: ${result.error}`);
    const events = readJournal(join(dir, 'journal.jsonl')).events.length;
    if (events < steps.length * 2) throw new Error(`only ${events} events journaled`);
    return wall;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const instant = (): Promise<StepOutcome> => Promise.resolve({ ok: true });

function independent(n: number): Step[] {
  return Array.from({ length: n }, (_, i) => makeStep(`s${i}`, noop));
}
function chain(n: number): Step[] {
  return Array.from({ length: n }, (_, i) =>
    makeStep(`s${i}`, noop, { needs: i === 0 ? [] : [`s${i - 1}`] }),
  );
}

async function noopCases(): Promise<void> {
  const places: [string, string][] = [['disk', tmpdir()]];
  if (existsSync('/dev/shm')) places.push(['tmpfs', '/dev/shm']);
  for (const [where, base] of places) {
    for (const [shape, make] of [
      ['independent', independent],
      ['chain', chain],
    ] as const) {
      const steps = make(2000);
      await execute(make(50), base, instant); // warm-up
      const wall = await execute(steps, base, instant);
      rows.push({
        case: `no-op ${shape}, journal on ${where}`,
        steps: 2000,
        wallMs: wall,
        perStepMs: wall / 2000,
      });
    }
  }
}

async function spawnCase(): Promise<void> {
  const n = 100;
  const steps = Array.from({ length: n }, (_, i) =>
    makeStep(`p${i}`, runAction(['true']), { needs: i === 0 ? [] : [`p${i - 1}`] }),
  );
  const wall = await execute(steps, tmpdir());
  rows.push({
    case: 'run step `true` (chain, process spawn + logs)',
    steps: n,
    wallMs: wall,
    perStepMs: wall / n,
  });
}

/** A layered random DAG; each step needs 1–3 steps of the layer before. Deterministic (LCG). */
function sleepDag(layers: number, width: number, minMs: number, maxMs: number): Step[] {
  let seed = 42;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const steps: Step[] = [];
  for (let l = 0; l < layers; l++) {
    for (let w = 0; w < width; w++) {
      const ms = Math.round(minMs + rand() * (maxMs - minMs));
      const needs =
        l === 0
          ? []
          : [
              ...new Set(
                Array.from(
                  { length: 1 + Math.floor(rand() * 3) },
                  () => `l${l - 1}-${Math.floor(rand() * width)}`,
                ),
              ),
            ];
      steps.push(makeStep(`l${l}-${w}`, runAction(['sleep', String(ms / 1000)]), { needs, estimateMs: ms }));
    }
  }
  return steps;
}

async function dagCase(label: string, steps: Step[], withTimers: boolean): Promise<void> {
  const plan = buildPlan(makeRunbook(steps));
  const critical = plan.criticalPath.durationMs;
  const durations = new Map(steps.map((s) => [s.id, s.estimateMs ?? 0]));
  const timerAction = async (_a: Action, ctx: StepContext): Promise<StepOutcome> => {
    await sleep(durations.get(ctx.step.id) ?? 0);
    return { ok: true };
  };
  const wall = await execute(steps, tmpdir(), withTimers ? timerAction : undefined);
  const over = ((wall - critical) / critical) * 100;
  rows.push({
    case: label,
    steps: steps.length,
    wallMs: wall,
    note: `critical path ${critical} ms; makespan ${over >= 0 ? '+' : ''}${over.toFixed(2)}% (${plan.criticalPath.steps.length} steps on it)`,
  });
}

await noopCases();
await spawnCase();
await dagCase('sleep DAG, unlimited concurrency (timer sleeps)', sleepDag(8, 25, 200, 600), true);
await dagCase('sleep DAG, unlimited concurrency (`sleep` processes)', sleepDag(8, 25, 200, 600), false);

const rss = process.resourceUsage().maxRSS / 1024;
console.log('\nengine benchmark (drctl executor)');
console.log('case'.padEnd(52), 'steps'.padStart(6), 'wall ms'.padStart(9), 'ms/step'.padStart(8), ' note');
for (const r of rows) {
  console.log(
    r.case.padEnd(52),
    String(r.steps).padStart(6),
    r.wallMs.toFixed(0).padStart(9),
    (r.perStepMs === undefined ? '' : r.perStepMs.toFixed(3)).padStart(8),
    '',
    r.note ?? '',
  );
}
console.log(`peak RSS ${rss.toFixed(0)} MiB`);
