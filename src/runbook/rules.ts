import { checkerOptionSchemas } from '../../checkers/options.js';
import type { Diagnostics, Origin } from './diagnostics.js';
import { addZodIssues, closest } from './diagnostics.js';
import type { ExpandedStep } from './expand.js';
import { isGlob, matchIds } from './glob.js';
import { checkActionFields } from './action-rules.js';
import { ActionError, resourcesOf, toAction, toRetryPolicy } from './normalize.js';
import type { Action, Direction, Resource, RunbookFile, Step, StepSpec } from './schema.js';
import { parseDuration } from '../util/duration.js';
import { locate, type YamlFile } from './yaml-file.js';

interface BuildContext {
  direction: Direction;
  drill: boolean;
  environment: string;
  vars: Record<string, unknown>;
}

export interface BuiltSteps {
  steps: Step[];
  /** Every step that takes part in this run, including those with errors (for owner and cycle rules). */
  graph: { id: string; owner: string; needs: string[]; origin: Origin }[];
  excluded: { id: string; reason: string }[];
  origins: Map<string, Origin>;
}

/** Turns expanded step specs into Steps: `when` applied, actions tagged, needs resolved to ids. */
export function buildSteps(
  expanded: ExpandedStep[],
  rb: RunbookFile,
  ctx: BuildContext,
  diags: Diagnostics,
): BuiltSteps {
  const origins = new Map<string, Origin>();
  const specs: { spec: StepSpec; origin: Origin; step: Step | undefined }[] = [];
  const excluded: { id: string; reason: string }[] = [];
  const excludedNeeds = new Map<string, string[]>();

  for (const { spec, origin, broken } of expanded) {
    const first = origins.get(spec.id);
    if (first) {
      const pos = locate(first.file, first.path);
      diags.at(
        origin,
        ['id'],
        `duplicate step id "${spec.id}" (first defined at ${first.file.display}:${pos.line})`,
        {
          hint: 'step ids must be unique across the runbook and its modules; a foreach step needs ${item} in its id',
        },
      );
      continue;
    }
    origins.set(spec.id, origin);
    const reason = whenFails(spec.when, ctx);
    if (reason) {
      excluded.push({ id: spec.id, reason });
      excludedNeeds.set(spec.id, spec.needs ?? []);
      specs.push({ spec, origin, step: undefined });
      continue;
    }
    specs.push({ spec, origin, step: broken ? undefined : toStep(spec, origin, rb, diags) });
  }

  const allIds = [...origins.keys()];
  // An exact id is a map lookup and a glob is matched once per distinct pattern: matching every
  // need against every id made a 50,000-step chain take minutes (issue 14 item 9).
  const globMatches = new Map<string, string[]>();
  const match = (pattern: string): string[] => {
    if (!isGlob(pattern)) return origins.has(pattern) ? [pattern] : [];
    let found = globMatches.get(pattern);
    if (!found) globMatches.set(pattern, (found = matchIds(pattern, allIds)));
    return found;
  };
  const resolveNeeds = (id: string, needs: string[], origin: Origin, seen: Set<string>): string[] => {
    const out = new Set<string>();
    needs.forEach((pattern, i) => {
      if (pattern === id) {
        diags.at(origin, ['needs', i], `step "${id}" needs itself`, {
          hint: 'a step cannot wait for itself; remove this need',
        });
        return;
      }
      const matches = match(pattern).filter((m) => m !== id);
      if (matches.length === 0) {
        const guess = isGlob(pattern) ? undefined : closest(pattern, allIds);
        diags.at(origin, ['needs', i], `needs "${pattern}" matches no step`, {
          hint: guess
            ? `did you mean "${guess}"?`
            : 'check the id or glob; ids are matched exactly, * matches any run of characters',
        });
      }
      for (const m of matches) {
        if (!excludedNeeds.has(m)) out.add(m);
        else if (!seen.has(m)) {
          // A step left out by `when` passes its own needs on, so ordering still holds.
          seen.add(m);
          for (const t of resolveNeeds(m, excludedNeeds.get(m)!, origins.get(m)!, seen)) out.add(t);
        }
      }
    });
    return [...out];
  };
  const graph: BuiltSteps['graph'] = [];
  for (const s of specs) {
    const needs = resolveNeeds(s.spec.id, s.spec.needs ?? [], s.origin, new Set([s.spec.id]));
    if (s.step) s.step.needs = needs;
    if (!excludedNeeds.has(s.spec.id))
      graph.push({ id: s.spec.id, owner: s.spec.owner, needs, origin: s.origin });
  }
  return { steps: specs.flatMap((s) => (s.step ? [s.step] : [])), graph, excluded, origins };
}

function toStep(spec: StepSpec, origin: Origin, rb: RunbookFile, diags: Diagnostics): Step | undefined {
  const action = actionAt(() => toAction(spec, spec.owner), origin, [], diags);
  const rollback = spec.rollback
    ? actionAt(() => toAction(spec.rollback!, spec.owner), origin, ['rollback'], diags)
    : undefined;
  let drill: Step['drill'] = { mode: 'same' };
  if (spec.drill === 'skip') drill = { mode: 'skip' };
  else if (spec.drill && typeof spec.drill === 'object') {
    const d = spec.drill;
    const da = actionAt(() => toAction(d, spec.owner), origin, ['drill'], diags);
    if (da)
      drill = { mode: 'action', action: da, timeoutMs: d.timeout ? parseDuration(d.timeout) : undefined };
  }
  let unplanned: Step['unplanned'];
  if (spec.unplanned === 'skip') unplanned = { mode: 'skip' };
  else if (spec.unplanned === 'run') unplanned = { mode: 'run' };
  else if (spec.unplanned) {
    const u = spec.unplanned.replace;
    const ua = actionAt(() => toAction(u, spec.owner), origin, ['unplanned', 'replace'], diags);
    if (ua)
      unplanned = { mode: 'action', action: ua, timeoutMs: u.timeout ? parseDuration(u.timeout) : undefined };
  }
  if (!action) return undefined;
  const timeout = spec.timeout ?? rb.defaults?.timeout;
  const resources = [...new Set([...resourcesOf(action), ...(spec.resource ? [spec.resource] : [])])];
  return {
    id: spec.id,
    title: spec.title ?? spec.id,
    description: spec.description,
    owner: spec.owner,
    phase: spec.phase,
    module: spec.module,
    needs: [],
    action,
    timeoutMs: timeout ? parseDuration(timeout) : undefined,
    retry: toRetryPolicy(spec.retries ?? rb.defaults?.retries),
    estimateMs: spec.estimate ? parseDuration(spec.estimate) : undefined,
    onFailure: spec.onFailure ?? rb.defaults?.onFailure ?? 'abort',
    rollback: rollback
      ? {
          action: rollback,
          // A rollback runs after something went wrong: it is bounded like any step.
          timeoutMs: rollbackTimeout(spec, rb),
        }
      : undefined,
    drill,
    ...(unplanned ? { unplanned } : {}),
    resources,
    source: { file: origin.file.display, line: locate(origin.file, origin.path).line },
  };
}

function rollbackTimeout(spec: StepSpec, rb: RunbookFile): number | undefined {
  const t = spec.rollback?.timeout ?? rb.defaults?.timeout;
  return t ? parseDuration(t) : undefined;
}

function actionAt(
  make: () => Action,
  origin: Origin,
  prefix: (string | number)[],
  diags: Diagnostics,
): Action | undefined {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof ActionError)) throw err;
    diags.at(origin, [...prefix, ...err.path], err.message, { hint: err.hint });
    return undefined;
  }
}

function whenFails(when: StepSpec['when'], ctx: BuildContext): string | undefined {
  if (!when) return undefined;
  const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
  if (when.direction !== undefined && !list(when.direction).includes(ctx.direction)) {
    return `when.direction is ${list(when.direction).join('|')}, this run is ${ctx.direction}`;
  }
  if (when.environment !== undefined && !list(when.environment).includes(ctx.environment)) {
    return `when.environment is ${list(when.environment).join('|')}, this run is ${ctx.environment}`;
  }
  if (when.drill !== undefined && when.drill !== ctx.drill) return `when.drill is ${when.drill}`;
  for (const [k, v] of Object.entries(when.vars ?? {})) {
    if (String(ctx.vars[k]) !== String(v))
      return `when.vars.${k} is ${String(v)}, the var is ${String(ctx.vars[k])}`;
  }
  return undefined;
}

interface RuleInput {
  file: YamlFile;
  steps: Step[];
  graph: BuiltSteps['graph'];
  excluded: { id: string }[];
  roles: Record<string, unknown>;
  resources: Record<string, Resource>;
  resourceOrigins: Map<string, Origin>;
  rto: RunbookFile['rto'];
  origins?: Map<string, Origin>;
}

const ACTION_RESOURCE_KIND: Partial<Record<Action['kind'], Resource['kind']>> = {
  sql: 'mysql',
  redis: 'redis',
  http: 'http',
};

/** Cross-field rules: owners, resources and their kinds, rto bounds, cycles. */
export function checkRules(input: RuleInput & { origins?: Map<string, Origin> }, diags: Diagnostics): void {
  const roleNames = Object.keys(input.roles);
  const at = (step: Step): Origin => input.origins?.get(step.id) ?? { file: input.file, path: [] };
  for (const step of input.graph) {
    if (!(step.owner in input.roles)) {
      const guess = closest(step.owner, roleNames);
      diags.at(step.origin, ['owner'], `owner "${step.owner}" is not a declared role`, {
        hint: guess
          ? `did you mean "${guess}"? roles: ${roleNames.join(', ')}`
          : `declare it under roles:, or use one of: ${roleNames.join(', ')}`,
      });
    }
  }
  for (const step of input.steps) {
    if (step.action.kind === 'manual') {
      for (const r of step.action.approvers.filter((a) => !(a in input.roles))) {
        diags.at(at(step), ['manual', 'approvers'], `approver "${r}" is not a declared role`);
      }
    }
    checkActionResource(step, step.action, at(step), [], input.resources, diags);
    if (step.action.kind === 'check') checkCheckerOptions(step.action.check, at(step), diags);
    checkActionFields(step, at(step), input.resources, diags);
    if (step.rollback)
      checkActionResource(step, step.rollback.action, at(step), ['rollback'], input.resources, diags);
    if (step.drill.mode === 'action')
      checkActionResource(step, step.drill.action, at(step), ['drill'], input.resources, diags);
  }
  const ids = new Set(input.origins ? input.origins.keys() : input.steps.map((s) => s.id));
  const excludedIds = new Set(input.excluded.map((s) => s.id));
  for (const clock of ['technical', 'compliance'] as const) {
    const b = input.rto?.[clock];
    if (!b) continue;
    for (const end of ['from', 'to'] as const) {
      if (!ids.has(b[end]) || excludedIds.has(b[end])) {
        diags.at(
          { file: input.file, path: ['rto', clock, end] },
          [],
          excludedIds.has(b[end])
            ? `rto.${clock}.${end} names step "${b[end]}", which is left out of this run by its when: condition`
            : `rto.${clock}.${end} names step "${b[end]}", which does not exist`,
          {
            hint: 'the clock bounds must name steps that run in this direction',
          },
        );
      }
    }
    if (b.from !== b.to && upstreamOf(b.from, input.graph).has(b.to)) {
      diags.at(
        { file: input.file, path: ['rto', clock, 'to'] },
        [],
        `rto.${clock}.to names step "${b.to}", which runs before rto.${clock}.from "${b.from}" (${b.from} needs it): the clock would end before it starts`,
        { hint: `swap from and to, or pick a to step that comes after ${b.from}` },
      );
    }
  }
  const cycle = findCycle(input.graph);
  if (cycle) {
    const first = input.graph.find((s) => s.id === cycle[0])!;
    diags.at(first.origin, ['needs'], `dependency cycle: ${cycle.join(' → ')}`, {
      hint: 'a step cannot (indirectly) need itself; remove one of these needs',
    });
  }
}

/** Every step `id` needs, directly or through other steps. */
function upstreamOf(id: string, graph: { id: string; needs: string[] }[]): Set<string> {
  const needs = new Map(graph.map((g) => [g.id, g.needs]));
  const seen = new Set<string>();
  const todo = [...(needs.get(id) ?? [])];
  while (todo.length > 0) {
    const n = todo.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    todo.push(...(needs.get(n) ?? []));
  }
  return seen;
}

function checkCheckerOptions(
  check: Extract<Action, { kind: 'check' }>['check'],
  origin: Origin,
  diags: Diagnostics,
): void {
  const schema = checkerOptionSchemas[check.kind];
  if (!schema) {
    diags.at(
      origin,
      ['check', 'kind'],
      `drctl has no ${check.kind} checker yet: this step will fail when it runs`,
      {
        severity: 'warning',
        hint: 'use a run step with your own comparison tool until the checker exists',
      },
    );
    return;
  }
  const parsed = schema.safeParse(check.options);
  if (!parsed.success)
    addZodIssues(diags, { file: origin.file, path: [...origin.path, 'check'] }, parsed.error);
}

function checkActionResource(
  step: Step,
  action: Action,
  origin: Origin,
  prefix: string[],
  resources: Record<string, Resource>,
  diags: Diagnostics,
): void {
  const name = action.kind === 'wait' ? resourcesOf(action.until)[0] : resourcesOf(action)[0];
  const effective = action.kind === 'wait' ? action.until : action;
  if (name === undefined) return;
  const key = effective.kind;
  const res = resources[name];
  const path = [...prefix, ...(action.kind === 'wait' ? ['wait', 'until'] : []), key, 'resource'];
  if (!res) {
    const guess = closest(name, Object.keys(resources));
    diags.at(origin, path, `unknown resource "${name}"`, {
      hint: guess ? `did you mean "${guess}"?` : 'declare it under resources:',
    });
    return;
  }
  const want = effective.kind === 'check' ? effective.check.kind : ACTION_RESOURCE_KIND[effective.kind];
  if (want && res.kind !== want) {
    diags.at(
      origin,
      path,
      `${effective.kind} step "${step.id}" needs a ${want} resource, but "${name}" is ${res.kind}`,
      {
        hint: `point it at a resource with kind: ${want}`,
      },
    );
  }
  if (effective.kind === 'redis' && res.kind === 'redis' && !res.url) {
    diags.at(origin, path, `redis resource "${name}" has no url`, {
      hint: 'add url: redis://host:6379 to the resource',
    });
  }
}

/** Returns one cycle as [a, b, …, a], or undefined. Iterative DFS: runbooks can be deep. */
export function findCycle(steps: readonly { id: string; needs: string[] }[]): string[] | undefined {
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  const state = new Map<string, 1 | 2>();
  for (const start of steps) {
    if (state.has(start.id)) continue;
    const stack: { id: string; i: number }[] = [{ id: start.id, i: 0 }];
    state.set(start.id, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const deps = needs.get(top.id) ?? [];
      if (top.i >= deps.length) {
        state.set(top.id, 2);
        stack.pop();
        continue;
      }
      const next = deps[top.i++]!;
      const st = state.get(next);
      if (st === 1) {
        const from = stack.findIndex((f) => f.id === next);
        return [...stack.slice(from).map((f) => f.id), next];
      }
      if (st === undefined && needs.has(next)) {
        state.set(next, 1);
        stack.push({ id: next, i: 0 });
      }
    }
  }
  return undefined;
}
