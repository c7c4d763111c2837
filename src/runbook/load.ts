import { createHash } from 'node:crypto';
import { dirname, relative, resolve } from 'node:path';
import { RunbookError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { registerSecret } from '../util/redact.js';
import { addZodIssues, Diagnostics, type Origin } from './diagnostics.js';
import { expandStep, report, type ExpandedStep, type SourceStep } from './expand.js';
import { expandFileGlob } from './glob.js';
import { findPlaceholders, interpolate, type InterpolationProblem } from './interpolate.js';
import { MAX_STEPS } from './limits.js';
import { notifyKeys, resolveNotify } from './notify.js';
import { buildSteps, checkRules, findCycle } from './rules.js';
import {
  ModuleFileSchema,
  RESOURCE_KEYS,
  ResourceSchema,
  RunbookFileSchema,
  type Direction,
  type ModuleFile,
  type Action,
  type Resource,
  type Runbook,
  type Step,
  type RunbookFile,
} from './schema.js';
import { checkVarOverrides } from './var-usage.js';
import { readYamlFile, type YamlFile } from './yaml-file.js';

export interface LoadOptions {
  direction?: Direction;
  drill?: boolean;
  /** `--var k=v` values; they override the runbook's vars. */
  vars?: Record<string, string>;
  environment?: string;
  /**
   * validate/plan: a missing `${env:…}` or `${file:…}` is a warning and a placeholder is used,
   * since nothing will connect. switch: false, so it refuses to start without its secrets.
   */
  lenientSecrets?: boolean;
}

export interface LoadedRunbook extends Runbook {
  warnings: import('../errors.js').Diagnostic[];
  /**
   * Missing secrets a lenient load replaced by placeholders (`env:NAME`, `file:PATH`), sorted;
   * empty when every value is real. Only a preview may go on with any (the executor refuses).
   */
  placeholders: string[];
}

const TOP_KEYS = Object.keys(RunbookFileSchema.shape);
const MODULE_KEYS = Object.keys(ModuleFileSchema.shape);

/**
 * Loads a runbook: YAML with includes, templates and foreach expanded, vars resolved, the
 * direction applied, then cross-field rules. Every problem of every file is collected and
 * thrown together as a RunbookError (exit 2).
 */
export function loadRunbook(file: string, options: LoadOptions = {}): LoadedRunbook {
  const lenient = options.lenientSecrets ?? false;
  const diags = new Diagnostics();
  const mainPath = resolve(file);
  const main = readYamlFile(mainPath, displayPath(mainPath), diags);
  if (!main) throw new RunbookError(diags.items);

  const mainParsed = RunbookFileSchema.safeParse(main.value);
  if (!mainParsed.success) {
    addZodIssues(diags, { file: main, path: [] }, mainParsed.error, (p) => knownKeys(p, TOP_KEYS));
  }
  const mainRaw = (
    mainParsed.success ? mainParsed.data : isRecord(main.value) ? main.value : {}
  ) as Partial<RunbookFile>;

  // Includes are read even when the main file has errors, so one pass reports everything.
  const modules = loadModules(main, Array.isArray(mainRaw.include) ? mainRaw.include : [], diags);
  if (!mainParsed.success) throw new RunbookError(diags.items);
  const rb = mainParsed.data;
  const direction = options.direction ?? rb.direction ?? 'switchover';
  const drill = options.drill ?? rb.drill ?? false;

  // Merge what modules declare into the runbook's tables; a name declared twice is an error.
  const roles = { ...(rb.roles ?? {}) };
  const resourceOrigins = new Map<string, Origin>();
  const rawResources: Record<string, Resource> = {};
  const varsRaw: Record<string, unknown> = { ...(rb.vars ?? {}) };
  const varFiles = new Map<string, YamlFile>(Object.keys(varsRaw).map((k) => [k, main]));
  const templates: Record<string, Record<string, unknown>> = { ...(rb.templates ?? {}) };
  for (const [name, r] of Object.entries(rb.resources ?? {})) {
    rawResources[name] = r;
    resourceOrigins.set(name, { file: main, path: ['resources', name] });
  }
  const sources: SourceStep[] = (rb.steps ?? []).map((raw, i) => ({
    origin: { file: main, path: ['steps', i] },
    raw,
  }));
  for (const { file: mf, data } of modules) {
    mergeTable(diags, mf, 'roles', data.roles, roles);
    mergeTable(diags, mf, 'vars', data.vars, varsRaw);
    for (const k of Object.keys(data.vars ?? {})) if (!varFiles.has(k)) varFiles.set(k, mf);
    mergeTable(diags, mf, 'templates', data.templates, templates);
    for (const [name, r] of Object.entries(data.resources ?? {})) {
      if (name in rawResources) {
        diags.at({ file: mf, path: ['resources', name] }, [], `resource "${name}" is already declared`, {
          atKey: true,
        });
        continue;
      }
      rawResources[name] = r;
      resourceOrigins.set(name, { file: mf, path: ['resources', name] });
    }
    (data.steps ?? []).forEach((raw, i) =>
      sources.push({
        origin: { file: mf, path: ['steps', i] },
        raw,
        module: { name: data.name, phase: data.phase },
      }),
    );
  }

  // Vars: the runbook's and its modules', then --var overrides; each may use env/file (relative
  // to the file that declares it) and the vars before it.
  const baseDir = dirname(mainPath);
  const vars: Record<string, unknown> = {};
  const scope: Record<string, unknown> = { vars, direction, drill };
  const allVars = { ...varsRaw, ...(options.vars ?? {}) };
  const { order, cycle } = orderVars(allVars);
  if (cycle) {
    const first = cycle[0]!;
    diags.at(
      { file: varFiles.get(first) ?? main, path: ['vars'] },
      [first],
      `vars form a cycle: ${cycle.join(' → ')}`,
      {
        hint: 'a var cannot (indirectly) use itself; give one of them a value of its own',
      },
    );
  }
  for (const name of order) {
    const value = allVars[name];
    const problems: InterpolationProblem[] = [];
    const declaredIn = name in (options.vars ?? {}) ? main : (varFiles.get(name) ?? main);
    if (cycle?.includes(name)) {
      // Said once above; a placeholder keeps the steps that use it from adding more errors.
      vars[name] = `<cycle:${name}>`;
      continue;
    }
    vars[name] = interpolate(value, { baseDir: dirname(declaredIn.path), scope, lenient }, problems);
    report(diags, { file: declaredIn, path: ['vars'] }, [name], problems);
  }
  checkVarOverrides(
    options.vars ?? {},
    Object.keys(varsRaw),
    [sources.map((x) => x.raw), templates, rawResources, rb.directions, varsRaw],
    main.display,
    diags,
  );
  const dirProblems: InterpolationProblem[] = [];
  scope.dir = interpolate(rb.directions?.[direction] ?? {}, { baseDir, scope, lenient }, dirProblems);
  report(diags, { file: main, path: ['directions'] }, [direction], dirProblems);

  const resources: Record<string, Resource> = {};
  for (const [name, r] of Object.entries(rawResources)) {
    const origin = resourceOrigins.get(name)!;
    const problems: InterpolationProblem[] = [];
    const value = interpolate(r, { baseDir: dirname(origin.file.path), scope, lenient }, problems);
    report(diags, origin, [], problems);
    const parsed = ResourceSchema.safeParse(value);
    if (parsed.success) {
      resources[name] = parsed.data;
      registerCredentials(parsed.data);
    } else addZodIssues(diags, origin, parsed.error, () => RESOURCE_KEYS);
  }

  const expanded: ExpandedStep[] = [];
  for (const s of sources) {
    expanded.push(...expandStep(s, { templates, scope, direction, lenient }, diags));
    if (expanded.length > MAX_STEPS) {
      // Stop expanding: a foreach over a huge list would otherwise exhaust memory first.
      diags.at(s.origin, [], `the runbook has more than ${MAX_STEPS} steps (the limit)`, {
        hint: 'split it into several runbooks, or check foreach: lists for a runaway size',
      });
      throw new RunbookError(diags.items);
    }
  }
  if (expanded.length === 0 && diags.errorCount === 0) {
    diags.at({ file: main, path: ['steps'] }, [], 'runbook has no steps', {
      hint: 'add steps: to the runbook or to a module it includes',
    });
  }
  const environment = options.environment ?? rb.environment ?? 'default';
  const lock = resolveLock(rb.lock, environment, { file: main, path: ['lock'] }, scope, lenient, diags);
  const notify = resolveNotify(rb.notify, { file: main, path: ['notify'] }, scope, lenient, diags);
  const { steps, graph, excluded, origins } = buildSteps(
    expanded,
    rb,
    { direction, drill, environment, vars },
    diags,
  );
  // Run steps run in the runbook's directory (a relative cwd: is relative to it), so
  // `run: [./scripts/drain.sh]` works wherever drctl is started.
  for (const step of steps) anchorRunSteps(step, baseDir);
  checkRules(
    { file: main, steps, graph, excluded, roles, resources, resourceOrigins, rto: rb.rto, origins },
    diags,
  );
  if (diags.errorCount > 0) throw new RunbookError(diags.items);

  const hash = createHash('sha256');
  for (const f of [main, ...modules.map((m) => m.file)]) hash.update(f.sha256);
  const loaded: Omit<LoadedRunbook, 'placeholders'> = {
    name: rb.name,
    file: main.display,
    sha256: hash.digest('hex'),
    description: rb.description,
    environment,
    direction,
    drill,
    ...(rb.dataRiskRole === undefined ? {} : { dataRiskRole: rb.dataRiskRole }),
    objectives: {
      technicalMs: ms(rb.objectives?.rto?.technical),
      complianceMs: ms(rb.objectives?.rto?.compliance),
      rpo: rb.objectives?.rpo === undefined ? undefined : rb.objectives.rpo === 0 ? 0 : ms(rb.objectives.rpo),
    },
    rto: rb.rto ?? {},
    roles: Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, v ?? {}])),
    resources,
    concurrency: rb.concurrency,
    timeoutMs: ms(rb.timeout),
    ...(lock === undefined ? {} : { lock }),
    ...(notify === undefined ? {} : { notify }),
    steps,
    excluded,
    modules: modules.map((m) => ({ name: m.data.name, file: m.file.display, pic: m.data.pic })),
    warnings: diags.warnings,
  };
  return { ...loaded, placeholders: findPlaceholders({ resources, steps }) };
}

/**
 * The order to resolve vars in: a var after the vars it uses (`${vars.x}`), else as declared;
 * and one cycle among them, if any, as [a, b, …, a].
 */
function orderVars(vars: Record<string, unknown>): { order: string[]; cycle: string[] | undefined } {
  const names = Object.keys(vars);
  const graph = names.map((id) => ({ id, needs: [...varRefs(vars[id])].filter((r) => r in vars) }));
  const cycle = findCycle(graph);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const needs = new Map(graph.map((g) => [g.id, g.needs]));
  // Iterative post-order DFS; a var on the stack again is part of a cycle and is skipped.
  for (const start of names) {
    if (state.has(start)) continue;
    const stack: { id: string; i: number }[] = [{ id: start, i: 0 }];
    state.set(start, 'visiting');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = needs.get(top.id)!;
      if (top.i < deps.length) {
        const next = deps[top.i++]!;
        if (!state.has(next)) {
          state.set(next, 'visiting');
          stack.push({ id: next, i: 0 });
        }
        continue;
      }
      state.set(top.id, 'done');
      order.push(top.id);
      stack.pop();
    }
  }
  return { order, cycle };
}

/** Names of the vars a value uses as `${vars.name…}`, in any string inside it. */
function varRefs(value: unknown, out = new Set<string>()): Set<string> {
  const todo = [value];
  while (todo.length > 0) {
    const v = todo.pop();
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\$\{\s*(?:raw:\s*)?vars\.([^.[\]}\s]+)/g)) out.add(m[1]!);
    } else if (Array.isArray(v)) todo.push(...(v as unknown[]));
    else if (v !== null && typeof v === 'object') todo.push(...Object.values(v as Record<string, unknown>));
  }
  return out;
}

function anchorRunSteps(step: Step, dir: string): void {
  const anchor = (a: Action): Action => {
    if (a.kind === 'run') return { ...a, cwd: resolve(dir, a.cwd ?? '.') };
    if (a.kind === 'wait' && a.until.kind === 'run')
      return { ...a, until: { ...a.until, cwd: resolve(dir, a.until.cwd ?? '.') } };
    return a;
  };
  step.action = anchor(step.action);
  if (step.rollback) step.rollback = { ...step.rollback, action: anchor(step.rollback.action) };
  if (step.drill.mode === 'action') step.drill = { ...step.drill, action: anchor(step.drill.action) };
  if (step.unplanned?.mode === 'action')
    step.unplanned = { ...step.unplanned, action: anchor(step.unplanned.action) };
}

const LOCK_TTL_DEFAULT_MS = 30_000;
const LOCK_TTL_MIN_MS = 1000;

/**
 * `lock: { redis, key?, ttl? }` with vars and secrets resolved: the URL must be redis:// or
 * rediss:// with a host, its password becomes a secret, the TTL is at least a second.
 */
function resolveLock(
  raw: RunbookFile['lock'],
  environment: string,
  origin: Origin,
  scope: Record<string, unknown>,
  lenient: boolean,
  diags: Diagnostics,
): Runbook['lock'] {
  if (raw === undefined) return undefined;
  const problems: InterpolationProblem[] = [];
  const value = interpolate(
    raw,
    { baseDir: dirname(origin.file.path), scope, lenient },
    problems,
  ) as NonNullable<RunbookFile['lock']>;
  report(diags, origin, [], problems);
  const hint = 'write it as redis://[:${env:LOCK_PASSWORD}@]host:6379[/db]';
  let url: URL | undefined;
  // A secret missing in validate/plan leaves a placeholder: nothing to judge in the URL then.
  if (problems.length === 0) {
    try {
      url = new URL(value.redis);
    } catch {
      diags.at(origin, ['redis'], 'not a URL', { hint });
    }
  }
  if (url !== undefined) {
    if (url.password) registerSecret(decodeURIComponent(url.password));
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
      diags.at(origin, ['redis'], `expected a redis:// or rediss:// URL, got ${url.protocol}//`, { hint });
    else if (url.hostname === '') diags.at(origin, ['redis'], 'the URL names no host', { hint });
    else if (!/^\/?(\d{1,5})?\/?$/.test(url.pathname))
      diags.at(origin, ['redis'], `the path of a Redis URL is a db number, got "${url.pathname}"`, { hint });
  }
  const ttlMs =
    value.ttl === undefined ? LOCK_TTL_DEFAULT_MS : (parseDuration(value.ttl) ?? LOCK_TTL_DEFAULT_MS);
  if (ttlMs < LOCK_TTL_MIN_MS)
    diags.at(origin, ['ttl'], `a lock TTL of ${value.ttl} is too short: at least 1s`, {
      hint: 'a holder renews every TTL/3; 10s to 60s suits most networks',
    });
  return { url: value.redis, key: value.key ?? `drctl:lock:{${environment}}`, ttlMs };
}

/** Credential fields of a resource are secrets wherever their value came from. */
function registerCredentials(resource: Resource): void {
  const sides: unknown[] = [
    resource,
    'source' in resource ? resource.source : undefined,
    'target' in resource ? resource.target : undefined,
  ];
  for (const side of sides) {
    if (!isRecord(side)) continue;
    for (const key of ['password', 'secretAccessKey', 'apiKey']) {
      if (typeof side[key] === 'string') registerSecret(side[key]);
    }
    // A password written into a DSN or URL (mysql primary/replica, redis url…) is one too: it is
    // registered here, where it enters, not when a step or checker first parses the DSN.
    for (const v of Object.values(side)) if (typeof v === 'string') registerUrlPassword(v);
  }
}

function registerUrlPassword(text: string): void {
  if (!text.includes('://')) return;
  try {
    const password = new URL(text).password;
    if (password) registerSecret(decodeURIComponent(password));
  } catch {
    /* not a URL: the resource schema reports it */
  }
}

function loadModules(
  main: YamlFile,
  patterns: unknown[],
  diags: Diagnostics,
): { file: YamlFile; data: ModuleFile }[] {
  const out: { file: YamlFile; data: ModuleFile }[] = [];
  const seen = new Set<string>([main.path]);
  patterns.forEach((pattern, i) => {
    if (typeof pattern !== 'string') return;
    const files = expandFileGlob(dirname(main.path), pattern);
    if (files.length === 0) {
      diags.at({ file: main, path: ['include', i] }, [], `include "${pattern}" matches no file`, {
        hint: `paths are relative to ${displayPath(dirname(main.path))}/`,
      });
    }
    for (const path of files) {
      if (seen.has(path)) continue;
      seen.add(path);
      const mf = readYamlFile(path, displayPath(path), diags);
      if (!mf) continue;
      const parsed = ModuleFileSchema.safeParse(mf.value);
      if (!parsed.success) {
        addZodIssues(diags, { file: mf, path: [] }, parsed.error, (p) => knownKeys(p, MODULE_KEYS));
        continue;
      }
      out.push({ file: mf, data: parsed.data });
    }
  });
  return out;
}

function mergeTable<T>(
  diags: Diagnostics,
  file: YamlFile,
  table: string,
  from: Record<string, T> | undefined,
  into: Record<string, T>,
): void {
  for (const [name, value] of Object.entries(from ?? {})) {
    if (name in into) {
      diags.at(
        { file, path: [table, name] },
        [],
        `${table.replace(/s$/, '')} "${name}" is already declared`,
        {
          atKey: true,
          hint: 'names are shared by the runbook and all its modules; rename one',
        },
      );
      continue;
    }
    into[name] = value;
  }
}

function knownKeys(path: (string | number)[], top: string[]): string[] | undefined {
  if (path[0] === 'notify') return notifyKeys(path);
  return path.length === 0 ? top : path[0] === 'resources' ? RESOURCE_KEYS : undefined;
}

function ms(d: string | undefined): number | undefined {
  return d === undefined ? undefined : parseDuration(d);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || rel === '' ? path : rel;
}
