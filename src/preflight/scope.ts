import type { Action, Resource, Runbook, Step } from '../runbook/schema.js';

/** How the steps that will run use one resource: what preflight must prove about it. */
export interface ResourceUse {
  name: string;
  resource: Resource;
  /** A `check:` step gates on it: the check user's privileges and the named objects matter. */
  gate: boolean;
  /** mysql: the sides sql steps (or gates: both) connect to. */
  sides: Set<'primary' | 'replica'>;
  /** mysql schemas, es indices a gate names literally (globs are left to the gate). */
  objects: Set<string>;
  /** redis: keys a step sets, with the value it sets (undefined when set more than once). */
  sets: Map<string, string | undefined>;
  steps: string[];
  /**
   * An unplanned switch (`--unplanned`): Main may be gone, so a replica whose link to it is down
   * is expected, not a fail (the replica-only gate judges what was applied).
   */
  mainMayBeGone: boolean;
}

const GLOB = /[*?[\]]/;

/** The actions a step may run tonight: its action (or its drill variant) and its rollback. */
export function actionsOf(step: Step, drill: boolean): { action: Action; role: 'action' | 'rollback' }[] {
  const out: { action: Action; role: 'action' | 'rollback' }[] = [];
  if (!drill || step.drill.mode === 'same') out.push({ action: step.action, role: 'action' });
  else if (step.drill.mode === 'action') out.push({ action: step.drill.action, role: 'action' });
  if (step.rollback) out.push({ action: step.rollback.action, role: 'rollback' });
  return out;
}

/**
 * The steps that will run: all of them, or the --only/--from selection; in an unplanned switch,
 * not the steps marked `unplanned: skip` (they would touch Main, which may be gone).
 */
export function selectedSteps(runbook: Runbook, selected?: ReadonlySet<string>): Step[] {
  return runbook.steps.filter(
    (s) => (!selected || selected.has(s.id)) && !(runbook.unplanned && s.unplanned?.mode === 'skip'),
  );
}

/** Every resource the selected steps touch, and how. */
export function collectUses(runbook: Runbook, steps: Step[]): Map<string, ResourceUse> {
  const uses = new Map<string, ResourceUse>();
  const use = (name: string, step: string): ResourceUse | undefined => {
    const resource = runbook.resources[name];
    if (!resource) return undefined;
    let u = uses.get(name);
    if (!u) {
      u = {
        name,
        resource,
        gate: false,
        sides: new Set(),
        objects: new Set(),
        sets: new Map(),
        steps: [],
        mainMayBeGone: runbook.unplanned === true,
      };
      uses.set(name, u);
    }
    if (!u.steps.includes(step)) u.steps.push(step);
    return u;
  };
  const visit = (a: Action, step: string, role: 'action' | 'rollback'): void => {
    switch (a.kind) {
      case 'sql': {
        use(a.sql.resource, step)?.sides.add(a.sql.on ?? 'primary');
        return;
      }
      case 'redis': {
        const u = use(a.redis.resource, step);
        if (!u || role !== 'action') return;
        for (const [k, v] of Object.entries(a.redis.set ?? {})) {
          u.sets.set(k, u.sets.has(k) ? undefined : String(v));
        }
        return;
      }
      case 'wait':
        return visit(a.until, step, role);
      case 'check': {
        const u = use(a.check.resource, step);
        if (!u) return;
        u.gate = true;
        u.sides.add('primary').add('replica');
        for (const name of namedObjects(a.check.kind, a.check.options)) u.objects.add(name);
        return;
      }
      case 'http':
        if (a.http.resource) use(a.http.resource, step);
        return;
      case 'run':
      case 'manual':
        return;
    }
  };
  for (const step of steps) {
    const gate = step.unplannedGate;
    if (gate && step.action.kind === 'check') {
      // Main is gone: the gate reads only the DR replica, then reconciles the remote logs.
      const u = use(step.action.check.resource, step.id);
      if (u) {
        u.gate = true;
        u.sides.add('replica');
      }
      for (const name of gate.remoteLogs) use(name, step.id);
    } else {
      for (const { action, role } of actionsOf(step, runbook.drill)) visit(action, step.id, role);
    }
    for (const r of step.resources) use(r, step.id);
  }
  return uses;
}

/** The schemas (mysql) or indices (es) a gate names without wildcards. */
function namedObjects(kind: string, options: Record<string, unknown>): string[] {
  const list = (v: unknown): string[] =>
    typeof v === 'string' ? v.split(',').map((s) => s.trim()) : Array.isArray(v) ? v.map(String) : [];
  if (kind === 'mysql') {
    const dbs = list(options['databases']);
    const fromTables = list(options['tables'])
      .filter((t) => t.includes('.'))
      .map((t) => t.slice(0, t.indexOf('.')));
    return [...dbs, ...fromTables].filter((n) => n !== '' && !GLOB.test(n));
  }
  if (kind === 'es')
    return list(options['index']).filter((n) => n !== '' && !GLOB.test(n) && !n.startsWith('-'));
  return [];
}
