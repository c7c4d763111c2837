import type { Users } from '../engine/users.js';
import { buildPlan } from '../plan/plan.js';
import { globToRegExp } from '../runbook/glob.js';
import { findPlaceholders } from '../runbook/interpolate.js';
import type { LoadedRunbook } from '../runbook/load.js';
import type { Direction, Step } from '../runbook/schema.js';
import { formatDuration } from '../util/duration.js';
import type { KeyExpectation } from './redis.js';
import { runProbes } from './run-probes.js';
import { collectUses, selectedSteps, type ResourceUse } from './scope.js';
import { roleLines, secretLines, stepProbes } from './steps.js';
import { line, type PreflightReport, type Probe, type ProbeLine, type ProbeStatus } from './types.js';

export interface PreflightOptions {
  /** The directions to probe; the first is the one that runs next, whose state is judged. */
  directions: Direction[];
  /** The runbook as loaded for a direction (lenient: a missing secret is a fail line, not a throw). */
  load: (direction: Direction) => LoadedRunbook;
  /** Steps that will run (switch --only/--from), by id, per direction; undefined: all. */
  selected?: ((runbook: LoadedRunbook) => ReadonlySet<string> | undefined) | undefined;
  /** --only: globs over step ids and resource names. */
  only?: string[] | undefined;
  /** Probes at once in total. Default 16. */
  concurrency?: number | undefined;
  /** Deadline of each probe. Default 10 s. */
  timeoutMs?: number | undefined;
  /** Warnings count as fails. */
  strict?: boolean | undefined;
  /** Step durations of an earlier run (`--history`), for the RTO forecast. */
  history?: ReadonlyMap<string, number> | undefined;
  /** The users file's users (their roles approve manual steps beside the runbook's members). */
  users?: Users | undefined;
  signal?: AbortSignal | undefined;
}

export const DEFAULT_PREFLIGHT_TIMEOUT_MS = 10_000;
export const DEFAULT_PREFLIGHT_CONCURRENCY = 16;

const opposite = (d: Direction): Direction => (d === 'switchover' ? 'switchback' : 'switchover');

/**
 * Is the plan runnable tonight? Probes, live and read-only, every resource the chosen steps use
 * and every step's program, host, secret and approving role; returns the report (no printing).
 */
export async function runPreflight(opts: PreflightOptions): Promise<PreflightReport> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PREFLIGHT_TIMEOUT_MS;
  const multi = opts.directions.length > 1;
  const loaded = new Map<Direction, LoadedRunbook>();
  const get = (d: Direction): LoadedRunbook => {
    let rb = loaded.get(d);
    if (!rb) {
      rb = opts.load(d);
      loaded.set(d, rb);
    }
    return rb;
  };
  const first = get(opts.directions[0]!);
  const probes: Probe[] = [];
  const staticLines: ProbeLine[] = [];
  const limits: Record<string, number | undefined> = {};

  for (const [i, direction] of opts.directions.entries()) {
    const rb = get(direction);
    const dir = multi ? direction : undefined;
    const state = i === 0;
    const steps = chooseSteps(rb, opts);
    const uses = collectUses(rb, steps);
    // The other direction is loaded only for what it tells: the values its redis steps set.
    const needsOther = [...uses.values()].some((u) => u.resource.kind === 'redis' && u.sets.size > 0);
    const otherUses = needsOther ? otherDirectionUses(get, direction, opts) : undefined;
    for (const use of uses.values()) {
      limits[use.name] = use.resource.concurrency;
      const missing = findPlaceholders(use.resource);
      if (missing.length > 0) {
        staticLines.push(
          line(
            { group: use.name, kind: use.resource.kind, direction: dir },
            'credentials',
            'fail',
            `not probed: it needs ${missing.join(', ')}, which is not set`,
            'set the secret (see "secrets" below), then run preflight again',
          ),
        );
        continue;
      }
      probes.push(...(await probesFor(use, dir, state, otherUses?.get(use.name), direction)));
    }
    probes.push(...stepProbes(rb, steps, dir));
    staticLines.push(
      ...secretLines(rb, steps, dir, new Set(uses.keys())),
      ...roleLines(rb, steps, dir, opts.users),
      ...durationLines(rb, steps, opts, dir),
    );
  }

  const unique = new Map<string, Probe>();
  for (const p of probes) if (!unique.has(p.key)) unique.set(p.key, p);
  const probed = await runProbes([...unique.values()], {
    concurrency: opts.concurrency ?? DEFAULT_PREFLIGHT_CONCURRENCY,
    resourceLimits: limits,
    timeoutMs,
    signal: opts.signal,
  });
  const lines = dedupeLines(groupLines([...probed, ...staticLines]));
  const counts: Record<ProbeStatus, number> = { ok: 0, warning: 0, fail: 0 };
  for (const l of lines) counts[l.status]++;
  const failing = counts.fail > 0 || (opts.strict === true && counts.warning > 0);
  return {
    runbook: first.name,
    file: first.file,
    environment: first.environment,
    directions: opts.directions,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    timeoutMs,
    strict: opts.strict === true,
    counts,
    lines,
    exitCode: failing ? 1 : 0,
  };
}

function chooseSteps(rb: LoadedRunbook, opts: PreflightOptions): Step[] {
  let steps = selectedSteps(rb, opts.selected?.(rb));
  if (opts.only && opts.only.length > 0) {
    const res = opts.only.map((g) => globToRegExp(g));
    const hit = (name: string) => res.some((re) => re.test(name));
    steps = steps.filter(
      (s) =>
        hit(s.id) ||
        s.resources.some(hit) ||
        ('resource' in actionRecord(s) && hit(String(actionRecord(s)['resource']))),
    );
  }
  return steps;
}

function actionRecord(s: Step): Record<string, unknown> {
  const a = s.action;
  switch (a.kind) {
    case 'sql':
      return a.sql;
    case 'redis':
      return a.redis;
    case 'check':
      return a.check;
    case 'http':
      return a.http;
    case 'run':
    case 'wait':
    case 'manual':
      return {};
  }
  return {};
}

function otherDirectionUses(
  get: (d: Direction) => LoadedRunbook,
  direction: Direction,
  opts: PreflightOptions,
): Map<string, ResourceUse> | undefined {
  try {
    const rb = get(opposite(direction));
    return collectUses(rb, chooseSteps(rb, { ...opts, selected: undefined }));
  } catch {
    // A runbook written for one direction only: no expectation from the other.
    return undefined;
  }
}

/**
 * What each key a redis step sets must hold before the switch: the value the other direction
 * sets (a switchover flips live → dr, its switchback dr → live). A config key
 * (`bcf.resource.target.*`) without such a pair must at least exist.
 */
function keyExpectations(
  use: ResourceUse,
  other: ResourceUse | undefined,
  direction: Direction,
  configKey: RegExp,
): KeyExpectation[] {
  const out: KeyExpectation[] = [];
  for (const [key, value] of use.sets) {
    const before = other?.sets.get(key);
    if (value !== undefined && before !== undefined && before !== value) {
      out.push({ key, sets: [value], before: [before], reason: `what the ${opposite(direction)} sets` });
    } else if (configKey.test(key)) {
      out.push({ key, sets: value === undefined ? [] : [value], before: [], reason: '' });
    }
  }
  return out;
}

/**
 * The probes of one resource. Each kind's module (and its client: mysql2, ioredis, the AWS SDK)
 * is loaded only when a resource of that kind is probed: `switch` runs this gate before every run,
 * and a runbook of plain commands should not pay for them (issue 19).
 */
async function probesFor(
  use: ResourceUse,
  direction: Direction | undefined,
  state: boolean,
  other: ResourceUse | undefined,
  runDirection: Direction,
): Promise<Probe[]> {
  const r = use.resource;
  switch (r.kind) {
    case 'mysql':
      return (await import('./mysql.js')).mysqlProbes(use, r, direction, state);
    case 'redis': {
      const { CONFIG_KEY, redisProbes } = await import('./redis.js');
      return redisProbes(use, r, keyExpectations(use, other, runDirection, CONFIG_KEY), direction, state);
    }
    case 's3':
      return use.gate ? (await import('./s3.js')).s3Probes(use, r, direction) : [];
    case 'es':
      return use.gate ? (await import('./es.js')).esProbes(use, r, direction) : [];
    // http: the steps' hosts are probed with the steps; the others have no read-only probe yet.
    case 'remote-log':
      return (await import('./remote-log.js')).remoteLogProbes(use, r, direction);
    case 'http':
    case 'kafka':
    case 'zookeeper':
    case 'mq':
    case 'service':
    case 'channel':
    case 'network':
      return [];
  }
  // A kind registered at run time (a test's plugin checker): nothing drctl knows how to probe.
  return [];
}

/** The forecast (estimates, or `--history` durations) against the RTO objectives. */
function durationLines(
  rb: LoadedRunbook,
  steps: Step[],
  opts: PreflightOptions,
  direction: Direction | undefined,
): ProbeLine[] {
  // A part of the plan has no RTO of its own: the forecast is said for the whole runbook only.
  if (steps.length < rb.steps.length) return [];
  const selected = new Set(steps.map((s) => s.id));
  const plan = buildPlan(rb, { history: opts.history, selected });
  const base = { group: 'durations', kind: 'estimate', direction };
  const source = opts.history ? 'durations of the --history run' : 'the step estimates';
  const out: ProbeLine[] = [];
  for (const [name, c] of Object.entries(plan.rto)) {
    if (!c || c.objectiveMs === undefined) continue;
    out.push(
      c.met === false
        ? line(
            base,
            `${name} RTO`,
            'warning',
            `forecast ${formatDuration(c.forecastMs)} from ${source} exceeds the objective ${formatDuration(c.objectiveMs)} (${c.from} → ${c.to})`,
            'shorten the critical path (drctl plan shows it) or agree a new objective before the night',
          )
        : line(
            base,
            `${name} RTO`,
            'ok',
            `forecast ${formatDuration(c.forecastMs)} from ${source}, objective ${formatDuration(c.objectiveMs)}`,
          ),
    );
  }
  return out;
}

/** Lines of one group together, groups in the order they first appear. */
function groupLines(lines: ProbeLine[]): ProbeLine[] {
  const groups = new Map<string, ProbeLine[]>();
  for (const l of lines) groups.set(l.group, [...(groups.get(l.group) ?? []), l]);
  return [...groups.values()].flat();
}

function dedupeLines(lines: ProbeLine[]): ProbeLine[] {
  const seen = new Set<string>();
  return lines.filter((l) => {
    const k = `${l.group}\0${l.item}\0${l.status}\0${l.message}\0${l.direction ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
