import type { Runbook, Step } from '../runbook/schema.js';
import { formatDuration } from '../util/duration.js';
import { forecastSchedule, type Schedule } from './scheduler.js';
import type { ClockForecast, Plan, PlannedStep } from './types.js';

export interface PlanOptions {
  /** Actual durations of a previous run (ms by step id), used instead of estimates. */
  history?: ReadonlyMap<string, number> | undefined;
  /** Overrides the runbook's run-wide concurrency (`--concurrency`); undefined keeps it. */
  concurrency?: number | undefined;
  /** Steps chosen by --only/--from (see selectSteps); undefined runs every step. */
  selected?: ReadonlySet<string> | undefined;
}

/**
 * Builds the execution plan: waves, critical path, the schedule the executor runs from
 * (priorities, limits, selection) and the forecast: that schedule run by the executor's own
 * scheduler on a virtual clock. Pure: no I/O.
 */
export function buildPlan(runbook: Runbook, options: PlanOptions = {}): Plan {
  const steps = runbook.steps;
  const byIdStep = new Map(steps.map((s) => [s.id, s]));
  // In a drill, a step whose drill variant is `skip` takes no time.
  const duration = (s: Step) =>
    runbook.drill && s.drill.mode === 'skip' ? 0 : (options.history?.get(s.id) ?? s.estimateMs ?? 0);
  const dependents = new Map<string, string[]>(steps.map((s) => [s.id, []]));
  for (const s of steps) for (const n of s.needs) dependents.get(n)?.push(s.id);

  const order = topologicalOrder(steps, dependents);
  const wave = new Map<string, number>();
  const earliestEnd = new Map<string, number>();
  const criticalPred = new Map<string, string | undefined>();
  for (const id of order) {
    const s = byIdStep.get(id)!;
    let w = 0;
    let start = 0;
    let pred: string | undefined;
    for (const n of s.needs) {
      w = Math.max(w, wave.get(n)! + 1);
      const e = earliestEnd.get(n)!;
      if (pred === undefined || e > start) {
        start = e;
        pred = n;
      }
    }
    wave.set(id, w);
    earliestEnd.set(id, start + duration(s));
    criticalPred.set(id, pred);
  }
  const remaining = new Map<string, number>();
  for (const id of [...order].reverse()) {
    const s = byIdStep.get(id)!;
    const after = Math.max(0, ...dependents.get(id)!.map((d) => remaining.get(d)!));
    remaining.set(id, duration(s) + after);
  }

  // Critical path: back from the step that ends last, through the need that ends last.
  let last: string | undefined;
  for (const id of order) if (last === undefined || earliestEnd.get(id)! >= earliestEnd.get(last)!) last = id;
  const critical: string[] = [];
  for (let cur = last; cur !== undefined; cur = criticalPred.get(cur)) critical.unshift(cur);
  const criticalSet = new Set(critical);

  const schedule = scheduleOf(runbook, remaining, options);
  const forecast = forecastSchedule(schedule, (id) => duration(byIdStep.get(id)!));
  const planned: PlannedStep[] = order
    .map((id) => ({
      step: byIdStep.get(id)!,
      wave: wave.get(id)!,
      dependents: dependents.get(id)!,
      remainingMs: remaining.get(id)!,
      forecastStartMs: forecast.get(id)?.start ?? 0,
      forecastEndMs: forecast.get(id)?.end ?? 0,
      selected: options.selected?.has(id) ?? true,
      onCriticalPath: criticalSet.has(id),
    }))
    .sort(
      (a, b) => a.wave - b.wave || b.remainingMs - a.remainingMs || a.forecastStartMs - b.forecastStartMs,
    );

  const waves: string[][] = [];
  for (const p of planned) (waves[p.wave] ??= []).push(p.step.id);
  const makespanMs = Math.max(0, ...planned.map((p) => p.forecastEndMs));
  const byId = new Map(planned.map((p) => [p.step.id, p]));

  const warnings: string[] = [];
  const noEstimate = steps.filter((s) => s.estimateMs === undefined && !options.history?.has(s.id));
  if (noEstimate.length > 0) {
    const names = noEstimate
      .slice(0, 8)
      .map((s) => s.id)
      .join(', ');
    warnings.push(
      `${noEstimate.length} step${noEstimate.length === 1 ? ' has' : 's have'} no estimate (counted as 0 in the forecast): ${names}${noEstimate.length > 8 ? ', …' : ''}`,
    );
  }
  const roles = summarizeRoles(runbook, planned, earliestEnd, duration);
  for (const r of roles) {
    if (r.concurrency !== undefined && r.maxParallel > r.concurrency) {
      warnings.push(
        `role ${r.role} has up to ${r.maxParallel} steps that could run in parallel but concurrency ${r.concurrency}: they will queue`,
      );
    }
  }
  const clock = (name: 'technical' | 'compliance'): ClockForecast | undefined => {
    const b = runbook.rto[name];
    if (!b) return undefined;
    const from = byId.get(b.from);
    const to = byId.get(b.to);
    if (!from || !to) return undefined;
    const forecastMs = to.forecastEndMs - from.forecastStartMs;
    const objectiveMs =
      name === 'technical' ? runbook.objectives.technicalMs : runbook.objectives.complianceMs;
    if (objectiveMs !== undefined && forecastMs > objectiveMs) {
      warnings.push(
        `${name} RTO forecast ${formatDuration(forecastMs)} exceeds the objective ${formatDuration(objectiveMs)}`,
      );
    }
    return {
      from: b.from,
      to: b.to,
      forecastMs,
      objectiveMs,
      met: objectiveMs === undefined ? undefined : forecastMs <= objectiveMs,
    };
  };

  return {
    runbook: runbook.name,
    direction: runbook.direction,
    drill: runbook.drill,
    steps: planned,
    byId,
    waves,
    phases: summarizePhases(planned, duration),
    roles,
    criticalPath: { steps: critical, durationMs: last === undefined ? 0 : earliestEnd.get(last)! },
    makespanMs,
    startOrder: [...forecast.keys()],
    schedule,
    rto: { technical: clock('technical'), compliance: clock('compliance') },
    warnings,
  };
}

/** Kahn's algorithm; the loader has already rejected cycles. */
function topologicalOrder(steps: readonly Step[], dependents: Map<string, string[]>): string[] {
  const indeg = new Map(steps.map((s) => [s.id, s.needs.length]));
  const queue = steps.filter((s) => s.needs.length === 0).map((s) => s.id);
  const out: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    out.push(id);
    for (const d of dependents.get(id)!) {
      const n = indeg.get(d)! - 1;
      indeg.set(d, n);
      if (n === 0) queue.push(d);
    }
  }
  if (out.length !== steps.length)
    throw new Error('buildPlan: the step graph has a cycle (the loader should have rejected it)');
  return out;
}

/** The scheduler's input: the one place priorities, limits and the selection are decided. */
function scheduleOf(
  runbook: Runbook,
  remaining: ReadonlyMap<string, number>,
  options: PlanOptions,
): Schedule {
  return {
    // Declaration order: equal priorities start in the order the runbook lists them.
    steps: runbook.steps.map((s) => ({
      id: s.id,
      needs: s.needs,
      owner: s.owner,
      resources: s.resources,
      priority: remaining.get(s.id) ?? 0,
    })),
    limits: {
      run: options.concurrency ?? runbook.concurrency,
      roles: Object.fromEntries(Object.entries(runbook.roles).map(([k, v]) => [k, v.concurrency])),
      resources: Object.fromEntries(Object.entries(runbook.resources).map(([k, v]) => [k, v.concurrency])),
    },
    selected: options.selected,
    instant: new Set([
      ...(runbook.drill ? runbook.steps.filter((s) => s.drill.mode === 'skip').map((s) => s.id) : []),
      // `drctl switch --unplanned`: a step that needs Main (stop traffic on it…) is skipped.
      ...(runbook.unplanned
        ? runbook.steps.filter((s) => s.unplanned?.mode === 'skip').map((s) => s.id)
        : []),
    ]),
  };
}

function summarizePhases(planned: PlannedStep[], duration: (s: Step) => number): Plan['phases'] {
  const phases = new Map<string, { name: string; steps: string[]; estimateMs: number }>();
  for (const p of planned) {
    const name = p.step.phase ?? '(no phase)';
    const ph = phases.get(name) ?? { name, steps: [], estimateMs: 0 };
    ph.steps.push(p.step.id);
    ph.estimateMs += duration(p.step);
    phases.set(name, ph);
  }
  return [...phases.values()];
}

function summarizeRoles(
  runbook: Runbook,
  planned: PlannedStep[],
  earliestEnd: Map<string, number>,
  duration: (s: Step) => number,
): Plan['roles'] {
  const byRole = new Map<string, PlannedStep[]>();
  for (const p of planned) {
    // Appended in place: copying the list per step was quadratic (a 50,000-step plan: minutes).
    const list = byRole.get(p.step.owner);
    if (list) list.push(p);
    else byRole.set(p.step.owner, [p]);
  }
  return [...byRole.entries()].map(([role, list]) => {
    // Widest overlap of the role's steps in the unconstrained (ASAP) schedule.
    const events: [number, number][] = [];
    for (const p of list) {
      const end = earliestEnd.get(p.step.id)!;
      const d = duration(p.step);
      if (d === 0) continue;
      events.push([end - d, 1], [end, -1]);
    }
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cur = 0;
    let maxParallel = list.length > 0 ? 1 : 0;
    for (const [, delta] of events) maxParallel = Math.max(maxParallel, (cur += delta));
    return {
      role,
      steps: list.length,
      estimateMs: list.reduce((a, p) => a + duration(p.step), 0),
      maxParallel,
      concurrency: runbook.roles[role]?.concurrency,
    };
  });
}
