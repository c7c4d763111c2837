import { StepSpecSchema, type Direction, type StepSpec } from './schema.js';
import { addZodIssues, type Diagnostics, type Origin } from './diagnostics.js';
import { interpolate, type InterpolationContext, type InterpolationProblem } from './interpolate.js';

/** A step as found in a file, before templates and foreach. */
export interface SourceStep {
  origin: Origin;
  raw: Record<string, unknown>;
  module?: { name: string; phase?: string | undefined } | undefined;
}

/** One concrete step after templates, foreach and the direction's overrides. */
export interface ExpandedStep {
  origin: Origin;
  spec: StepSpec;
  module?: string | undefined;
  /** Its errors are reported; it is kept (id, needs) so that they don't cascade into others. */
  broken?: boolean;
}

export interface ExpandContext {
  templates: Record<string, Record<string, unknown>>;
  scope: Record<string, unknown>;
  direction: Direction;
  lenient: boolean;
}

const STEP_SOURCE_ONLY = new Set(['template', 'with', 'foreach', 'as', 'switchback']);
export const STEP_KEYS = [...Object.keys(StepSpecSchema.shape), ...STEP_SOURCE_ONLY];

export function expandStep(src: SourceStep, ctx: ExpandContext, diags: Diagnostics): ExpandedStep[] {
  const { raw, origin } = src;
  let merged: Record<string, unknown> = raw;
  if (typeof raw.template === 'string') {
    const tpl = ctx.templates[raw.template];
    if (!tpl) {
      const names = Object.keys(ctx.templates);
      diags.at(origin, ['template'], `unknown template "${raw.template}"`, {
        hint: names.length
          ? `templates defined: ${names.join(', ')}`
          : 'define it under templates: in the runbook',
      });
      return [];
    }
    merged = mergeTemplate(tpl, raw);
  }
  const baseDir = dirOf(origin.file.path);
  // `with:` values may use vars and the direction; templates may carry foreach/as/switchback.
  const withProblems: InterpolationProblem[] = [];
  const withValues = interpolate(
    merged.with ?? {},
    { baseDir, scope: ctx.scope, lenient: ctx.lenient },
    withProblems,
  );
  report(diags, origin, ['with'], withProblems);
  const scope: Record<string, unknown> = { ...ctx.scope, with: withValues };
  const body = Object.fromEntries(Object.entries(merged).filter(([k]) => !STEP_SOURCE_ONLY.has(k)));

  let items: unknown[] = [undefined];
  const as = typeof merged.as === 'string' ? merged.as : 'item';
  if (merged.foreach !== undefined) {
    const problems: InterpolationProblem[] = [];
    const list = interpolate(merged.foreach, { baseDir, scope, lenient: ctx.lenient }, problems);
    report(diags, origin, ['foreach'], problems);
    if (problems.some((p) => p.severity === 'error')) return [];
    if (!Array.isArray(list)) {
      diags.at(origin, ['foreach'], `foreach must be a list, got ${describe(list)}`, {
        hint: 'give a YAML list or ${vars.name} where vars.name is a list',
      });
      return [];
    }
    if (list.length === 0) {
      diags.at(origin, ['foreach'], 'foreach produced no items, so this step would generate no steps', {
        hint: 'check the list it names; remove the step if it is not needed',
      });
      return [];
    }
    items = list;
  }

  const out: ExpandedStep[] = [];
  for (const item of items) {
    const itemScope = merged.foreach === undefined ? scope : { ...scope, [as]: item };
    const ictx: InterpolationContext = { baseDir, scope: itemScope, lenient: ctx.lenient };
    let spec = interpolateFields(body, ictx, diags, origin, []);
    if (ctx.direction === 'switchback' && merged.switchback && typeof merged.switchback === 'object') {
      spec = {
        ...spec,
        ...interpolateFields(merged.switchback as Record<string, unknown>, ictx, diags, origin, [
          'switchback',
        ]),
      };
    }
    if (src.module) {
      spec.module ??= src.module.name;
      if (src.module.phase !== undefined) spec.phase ??= src.module.phase;
    }
    const parsed = StepSpecSchema.safeParse(spec);
    if (!parsed.success) {
      addZodIssues(diags, origin, parsed.error, () => STEP_KEYS);
      const needs = Array.isArray(spec.needs)
        ? spec.needs.filter((n): n is string => typeof n === 'string')
        : [];
      if (typeof spec.id === 'string') {
        out.push({ origin, spec: { id: spec.id, owner: String(spec.owner), needs }, broken: true });
      }
      continue;
    }
    out.push({ origin, spec: parsed.data, module: src.module?.name });
  }
  return out;
}

function interpolateFields(
  body: Record<string, unknown>,
  ctx: InterpolationContext,
  diags: Diagnostics,
  origin: Origin,
  prefix: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const problems: InterpolationProblem[] = [];
    out[key] = interpolate(
      value,
      ctx,
      problems,
      key === 'run' && body.shell === true && typeof value === 'string',
    );
    report(diags, origin, [...prefix, key], problems);
  }
  return out;
}

export function report(
  diags: Diagnostics,
  origin: Origin,
  path: (string | number)[],
  problems: InterpolationProblem[],
): void {
  for (const p of problems) diags.at(origin, path, p.message, { hint: p.hint, severity: p.severity });
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/**
 * A step's fields over its template's, merged deeply: mappings merge key by key (the step's value
 * wins), lists and scalars are replaced. So `redis: { resource, expect }` on the step keeps the
 * template's `redis.set`, and `with:` values add to the template's defaults.
 */
export function mergeTemplate(
  template: Record<string, unknown>,
  step: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...template };
  for (const [k, v] of Object.entries(step)) {
    const base = out[k];
    out[k] = isPlainObject(base) && isPlainObject(v) ? mergeTemplate(base, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
