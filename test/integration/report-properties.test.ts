import { mkdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/engine/executor.js';
import { prepareResume } from '../../src/engine/resume.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal } from '../../src/journal/journal.js';
import { buildReportModel, renderReport, type ReportModel } from '../../src/report/index.js';
import { readStatus, statusJson } from '../../src/cli/commands/status.js';
import type { Runbook, Step } from '../../src/runbook/schema.js';
import { formatDuration } from '../../src/util/duration.js';
import { execRunbook } from '../fixtures/engine-exec.js';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeRunbook, makeStep, shellAction } from '../fixtures/engine-runbook.js';
import { referenceOf, type Reference } from '../fixtures/report-reference.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { parseCsv } from '../fixtures/csv.js';

/**
 * Issue 12, the property: random small DAGs of sleep steps with random failures, retries,
 * approvals, rollback, dry runs, --only, drills, Ctrl-C + resume (in process) and kill -9 +
 * resume (real processes). For every run, every format (console, md, csv, json, html and
 * `status --json`) must give the numbers of the simple reference in test/fixtures/report-reference.ts.
 */
const base = makeTempDir('report-props');
afterAll(() => removeDir(base));
const integrity = { verified: true, events: 0, breakAt: undefined, tornTail: false, corruptLines: [] };
const covered = new Map<string, number>();
const cover = (what: string): void => void covered.set(what, (covered.get(what) ?? 0) + 1);

type Kind = 'sleep' | 'fail' | 'retry' | 'manual';
interface StepSpec {
  kind: Kind;
  ms: number;
  needsMask: number;
  rollback: boolean;
  onFailure: 'abort' | 'continue' | 'rollback';
  owner: 'SRE' | 'DBA';
}
interface Trial {
  steps: StepSpec[];
  from: number;
  to: number;
  objectiveMs: number;
  concurrency: number;
  mode: 'plain' | 'ctrl-c' | 'dry-run' | 'only' | 'drill';
  interruptAfterMs: number;
  twice: boolean;
  downMs: number;
}

const stepArb = fc.record({
  kind: fc.constantFrom<Kind>('sleep', 'sleep', 'sleep', 'fail', 'retry', 'manual'),
  ms: fc.integer({ min: 10, max: 80 }),
  needsMask: fc.integer({ min: 0, max: 7 }),
  rollback: fc.boolean(),
  onFailure: fc.constantFrom<StepSpec['onFailure']>('abort', 'continue', 'rollback'),
  owner: fc.constantFrom<StepSpec['owner']>('SRE', 'DBA'),
});
const trialArb = fc.record({
  steps: fc.array(stepArb, { minLength: 2, maxLength: 6 }),
  from: fc.nat(),
  to: fc.nat(),
  objectiveMs: fc.integer({ min: 50, max: 1500 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  mode: fc.constantFrom<Trial['mode']>(
    'plain',
    'plain',
    'ctrl-c',
    'ctrl-c',
    'ctrl-c',
    'dry-run',
    'only',
    'drill',
  ),
  interruptAfterMs: fc.integer({ min: 20, max: 300 }),
  twice: fc.boolean(),
  downMs: fc.integer({ min: 0, max: 400 }),
});

const idOf = (i: number): string => `s${i}`;
function needsOf(spec: StepSpec[], i: number): string[] {
  return [1, 2, 3].filter((d, k) => i - d >= 0 && (spec[i]!.needsMask >> k) & 1).map((d) => idOf(i - d));
}
function upstream(spec: StepSpec[], i: number): Set<number> {
  const out = new Set<number>();
  const todo = needsOf(spec, i).map((id) => Number(id.slice(1)));
  while (todo.length > 0) {
    const j = todo.pop()!;
    if (!out.has(j)) {
      out.add(j);
      todo.push(...needsOf(spec, j).map((id) => Number(id.slice(1))));
    }
  }
  return out;
}
function bounds(t: Trial): { from: string; to: string } {
  const n = t.steps.length;
  const from = t.from % n;
  const up = upstream(t.steps, from);
  const candidates = t.steps.map((_, i) => i).filter((i) => !up.has(i));
  return { from: idOf(from), to: idOf(candidates[t.to % candidates.length]!) };
}
function shellOf(s: StepSpec, i: number, dir: string): string {
  const secs = (s.ms / 1000).toFixed(3);
  if (s.kind === 'fail') return `sleep ${secs}; exit 3`;
  // Fails on its first attempt, succeeds on the second (the count survives a resume).
  if (s.kind === 'retry')
    return `f=${dir}/count-${i}; n=$(cat $f 2>/dev/null || echo 0); echo $((n+1)) > $f; sleep ${secs}; [ "$n" -ge 1 ]`;
  return `sleep ${secs}`;
}
function toRunbook(t: Trial, dir: string): Runbook {
  const steps: Step[] = t.steps.map((s, i) =>
    makeStep(
      idOf(i),
      s.kind === 'manual'
        ? { kind: 'manual', instructions: 'sign', approvers: [] }
        : shellAction(shellOf(s, i, dir)),
      {
        owner: s.owner,
        needs: needsOf(t.steps, i),
        onFailure: s.onFailure,
        retry: { count: s.kind === 'retry' ? 1 : 0, backoffMs: 30, factor: 1, maxMs: 100 },
        ...(s.rollback ? { rollback: { action: shellAction('sleep 0.01') } } : {}),
        ...(t.mode === 'drill' && i % 2 === 1 ? { drill: { mode: 'skip' as const } } : {}),
      },
    ),
  );
  return makeRunbook(steps, {
    // Approvals are taken from role members only (fail closed): 'qa' approves the manual steps.
    roles: { SRE: { members: ['qa'] }, DBA: { members: ['qa'] } },
    objectives: { technicalMs: t.objectiveMs },
    rto: { technical: bounds(t) },
    concurrency: t.concurrency,
    drill: t.mode === 'drill',
  });
}

const show = (ms: number | undefined): string => (ms === undefined ? '—' : formatDuration(ms));
const LABEL: Record<string, string> = {
  met: 'MET',
  missed: 'MISSED',
  'not-reached': 'NOT REACHED',
  'not-started': 'NOT STARTED',
  'rolled-back': 'ROLLED BACK',
  'dry-run': 'DRY RUN',
};

/** Every format against the reference. */
function checkFormats(label: string, events: JournalEvent[], journalPath: string): void {
  const ref: Reference = referenceOf(events);
  const m: ReportModel = buildReportModel({ runId: 'p', events, integrity });
  const why = `${label}\n${events.map((e) => `${e.ts} ${e.type} ${'step' in e ? e.step : ''}`).join('\n')}`;
  // json
  const json = JSON.parse(renderReport(m, 'json')) as ReportModel;
  expect(json.run.durationMs, why).toBe(ref.durationMs);
  expect(json.run.status, why).toBe(ref.status);
  expect(
    json.steps.map((s) => s.id),
    why,
  ).toEqual(ref.listed);
  for (const s of json.steps) {
    const r = ref.steps.get(s.id)!;
    expect([s.id, s.durationMs, s.workMs ?? 0], why).toEqual([s.id, r.durationMs, r.workMs]);
    if (
      ['succeeded', 'failed', 'skipped', 'cancelled', 'dry-run', 'done-by-override', 'not-run'].includes(
        r.status,
      )
    )
      expect([s.id, s.status], why).toEqual([s.id, r.status]);
  }
  for (const [owner, r] of ref.roles) {
    const g = json.roles.find((x) => x.name === owner)!;
    expect([owner, g.sumMs, g.activeMs], why).toEqual([owner, r.sumMs, r.activeMs]);
  }
  const clock = json.rto.technical;
  expect([clock.status, clock.elapsedMs], why).toEqual([
    ref.clocks.technical.status,
    ref.clocks.technical.elapsedMs,
  ]);
  const cp = json.criticalPath;
  expect(cp.workMs, why).toBe(cp.steps.reduce((s, id) => s + ref.steps.get(id)!.workMs, 0));
  expect(cp.waitMs, why).toBe(Math.max(0, cp.endOffsetMs - cp.startOffsetMs - cp.workMs));
  // csv: a row per listed step; work adds up to the role sums
  const csv = parseCsv(renderReport(m, 'csv'));
  const head = csv[0]!;
  const col = (name: string): number => head.indexOf(name);
  expect(
    csv.slice(1).map((r) => r[0]),
    why,
  ).toEqual(ref.listed);
  for (const row of csv.slice(1)) {
    const r = ref.steps.get(row[0]!)!;
    expect([row[0], row[col('duration_s')], row[col('work_s')] || '0'], why).toEqual([
      r.id,
      r.durationMs === undefined ? '' : String(r.durationMs / 1000),
      String((json.steps.find((s) => s.id === r.id)!.workMs ?? 0) / 1000),
    ]);
  }
  for (const [owner, r] of ref.roles) {
    const sum = csv
      .slice(1)
      .filter((row) => ref.steps.get(row[0]!)!.owner === owner)
      .reduce((s, row) => s + Math.round(Number(row[col('work_s')] || 0) * 1000), 0);
    expect([owner, sum], why).toEqual([owner, r.sumMs]);
  }
  // console: run duration, clock label, and each step row's duration and work
  const text = renderReport(m, 'console');
  expect(text, why).toContain(`duration   ${show(ref.durationMs)}`);
  expect(text, why).toContain(LABEL[ref.clocks.technical.status]!);
  const lines = text.split('\n');
  const stepsAt = lines.findIndex((l) => l.startsWith('Steps ('));
  for (const line of lines.slice(stepsAt + 3)) {
    if (line.trim() === '') break;
    const cells = line.trim().split(/\s{2,}/);
    const id = cells[0]!.replace(/^\* /, '');
    const r = ref.steps.get(id)!;
    expect([id, cells[5], cells[6]], why).toEqual([
      id,
      show(r.durationMs),
      show(
        r.durationMs === undefined && r.firstStart === undefined
          ? undefined
          : json.steps.find((s) => s.id === id)!.workMs,
      ),
    ]);
  }
  // md: the steps table
  const md = renderReport(m, 'md');
  expect(md, why).toContain(`| Duration | ${show(ref.durationMs)} |`);
  for (const id of ref.listed) {
    const row = md.split('\n').find((l) => l.startsWith(`| ${id} |`) || l.startsWith(`| **${id}** ★ |`))!;
    const cells = row.split(' | ');
    const r = ref.steps.get(id)!;
    expect([id, cells[7], cells[8]], why).toEqual([
      id,
      show(r.durationMs),
      show(json.steps.find((s) => s.id === id)!.workMs),
    ]);
  }
  // html: the steps table
  const html = renderReport(m, 'html');
  const table = html.slice(html.indexOf('<table class="steps">'));
  for (const tr of table.match(/<tr(?: class="(?:critical|has-notes| )+")?><td>[^]*?<\/tr>/g) ?? []) {
    const cells = [...tr.matchAll(/<td[^>]*>([^]*?)<\/td>/g)].map((x) => x[1]!);
    const id = cells[0]!.replace(' ★', '');
    const r = ref.steps.get(id);
    if (r === undefined) continue;
    expect([id, cells[7], cells[8]], why).toEqual([
      id,
      show(r.durationMs),
      show(json.steps.find((s) => s.id === id)!.workMs),
    ]);
  }
  // status --json, through the same function the CLI prints
  // One instant for both: a clock still open (interrupted or live run) runs to now.
  const now = Date.now();
  const statusRef = referenceOf(events, now);
  const { view, model } = readStatus(journalPath, 'p', { now });
  const st = statusJson(view, model) as {
    durationMs: number;
    rto: ReportModel['rto'];
    steps: { id: string; durationMs?: number; workMs?: number }[];
  };
  expect(st.durationMs, why).toBe(statusRef.durationMs);
  expect(
    st.steps.map((s) => s.id),
    why,
  ).toEqual(statusRef.listed);
  for (const s of st.steps) {
    const r = statusRef.steps.get(s.id)!;
    expect([s.id, s.durationMs, s.workMs ?? 0], why).toEqual([s.id, r.durationMs, r.workMs]);
  }
  expect([st.rto.technical.status, st.rto.technical.elapsedMs], why).toEqual([
    statusRef.clocks.technical.status,
    statusRef.clocks.technical.elapsedMs,
  ]);
}

describe('every format agrees with a reference computed from the journal', () => {
  it(
    'in process: failures, retries, approvals, rollback, dry run, --only, drill, Ctrl-C + resume',
    { timeout: 300_000 },
    async () => {
      let trial = 0;
      await fc.assert(
        fc.asyncProperty(trialArb, async (t) => {
          trial += 1;
          if (process.env.DRCTL_PROP_TRACE) writeSync(2, `trial ${trial}: ${JSON.stringify(t)}\n`);
          const dir = join(base, `t${trial}`);
          mkdirSync(dir, { recursive: true });
          const rb = toRunbook(t, dir);
          let ex: Executor | undefined;
          const approve = {
            promptApproval: async (step: Step, _i: string, _r: string, signal: AbortSignal) => {
              const spec = t.steps[Number(step.id.slice(1))]!;
              try {
                await sleep(spec.ms * 3, undefined, { signal });
              } catch {
                return undefined;
              }
              return { decision: 'approved' as const, by: 'qa', via: 'prompt' as const };
            },
          };
          const first = await execRunbook(rb, {
            dir,
            dryRun: t.mode === 'dry-run',
            selected:
              t.mode === 'only'
                ? new Set(rb.steps.filter((_, i) => i !== t.from % rb.steps.length).map((s) => s.id))
                : undefined,
            observer: approve,
            onExecutor: (e) => {
              ex = e;
              if (t.mode !== 'ctrl-c') return;
              setTimeout(() => ex!.interrupt(), t.interruptAfterMs);
              if (t.twice) setTimeout(() => ex!.interrupt(), t.interruptAfterMs + 15);
            },
          });
          cover(`mode ${t.mode}`);
          for (const k of new Set(t.steps.map((s) => s.kind))) cover(`step kind ${k}`);
          if (first.events.some((e) => e.type === 'rollback-started')) cover('rollback');
          if (first.result.status === 'interrupted' && !first.view.rolledBack) {
            await sleep(t.downMs);
            const plan = prepareResume(first.view, rb, {
              retryUnknown: true,
              markDone: new Map(),
              by: 'ops',
            });
            await execRunbook(rb, { dir, resume: { ...plan, by: 'ops' }, observer: approve });
            cover('ctrl-c + resume');
          }
          const path = join(dir, 'journal.jsonl');
          const events = readJournal(path).events;
          cover(`clock ${referenceOf(events).clocks.technical.status}`);
          checkFormats(`trial ${trial}: ${JSON.stringify(t)}`, events, path);
        }),
        {
          seed: Number(process.env.DRCTL_PROP_SEED ?? 12_2026),
          numRuns: Number(process.env.DRCTL_PROP_RUNS ?? 24),
          endOnFailure: true,
        },
      );
      console.log(
        `report properties (in process): ${trial} trials; covered ${JSON.stringify(Object.fromEntries(covered))}`,
      );
    },
  );

  it('real processes: kill -9 while a step runs, resume after a pause', { timeout: 300_000 }, async () => {
    let trial = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          stepArb.map((s) => ({
            ...s,
            kind: s.kind === 'manual' ? ('sleep' as const) : s.kind,
            onFailure: 'continue' as const,
          })),
          {
            minLength: 2,
            maxLength: 4,
          },
        ),
        fc.nat(),
        fc.integer({ min: 100, max: 1200 }),
        async (steps, victim, downMs) => {
          trial += 1;
          const dir = join(base, `k${trial}`);
          mkdirSync(dir, { recursive: true });
          const runs = join(dir, 'runs');
          const t: Trial = {
            steps,
            from: 0,
            to: steps.length - 1,
            objectiveMs: 800,
            concurrency: 2,
            mode: 'plain',
            interruptAfterMs: 0,
            twice: false,
            downMs,
          };
          const file = writeRunbook(dir, 'prop', {
            environment: 'test',
            roles: { SRE: {}, DBA: {} },
            objectives: { rto: { technical: '800ms' } },
            rto: { technical: bounds(t) },
            steps: steps.map((s, i) => ({
              id: idOf(i),
              owner: s.owner,
              needs: needsOf(steps, i),
              onFailure: 'continue',
              run: shellOf(s, i, dir),
              shell: true,
              ...(s.kind === 'retry' ? { retry: { count: 1, backoff: '30ms', factor: 1 } } : {}),
            })),
          });
          // A step that surely starts: nothing upstream of it fails.
          const sure = steps
            .map((_, i) => i)
            .filter((i) => [...upstream(steps, i)].every((j) => steps[j]!.kind !== 'fail'));
          const killed = idOf(sure[victim % sure.length]!);
          const first = await runCli(['switch', file, '--yes', '--runs-dir', runs], {
            DRCTL_FAILPOINT: `crash-after-start:${killed}`,
          });
          const [runId] = listRunDirs(runs);
          const path = join(runs, runId!, 'journal.jsonl');
          if (first.exitCode !== 0 && !readJournal(path).events.some((e) => e.type === 'run-finished')) {
            cover('kill -9');
            await sleep(downMs);
            const resumed = await runCli([
              'resume',
              'latest',
              '--yes',
              '--retry-unknown',
              '--runs-dir',
              runs,
            ]);
            expect(resumed.exitCode === 0 || resumed.exitCode === 1, resumed.stderr).toBe(true);
            cover('kill -9 + resume');
          }
          const events = readJournal(path).events;
          checkFormats(`kill trial ${trial}: ${JSON.stringify({ steps, victim, downMs })}`, events, path);
        },
      ),
      { seed: 12_2027, numRuns: 3, endOnFailure: true },
    );
    console.log(
      `report properties (kill -9): ${trial} trials; covered ${JSON.stringify(Object.fromEntries(covered))}`,
    );
  });
});
