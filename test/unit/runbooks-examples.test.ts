import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunbookError, formatDiagnostic } from '../../src/errors.js';
import { buildPlan } from '../../src/plan/plan.js';
import type { Plan } from '../../src/plan/types.js';
import { loadRunbook, type LoadedRunbook, type LoadOptions } from '../../src/runbook/load.js';
import type { Action, Direction, Step } from '../../src/runbook/schema.js';
import { parseDuration } from '../../src/util/duration.js';

/**
 * Every runbook under runbooks/ must load and plan in both directions, as a switch and as a
 * drill, so the examples cannot rot. The full-size bank example is also held to the size and
 * the shape of the real thing (../shared/CONTEXT.md): the estate, the roles, the gates before
 * promotion, the config flips, QA and business verification before traffic opens, and a
 * forecast near the bank's real figures.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNBOOKS = join(ROOT, 'runbooks');
const ID_BANK = join(RUNBOOKS, 'id-bank');

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return yamlFilesUnder(full);
    return /\.ya?ml$/.test(e.name) ? [full] : [];
  });
}

function kindOf(file: string): unknown {
  const value = parseYaml(readFileSync(file, 'utf8')) as unknown;
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>).kind
    : undefined;
}

const yamlFiles = yamlFilesUnder(RUNBOOKS);
const runbookFiles = yamlFiles.filter((f) => kindOf(f) === 'Runbook');
const moduleFiles = yamlFiles.filter((f) => kindOf(f) === 'Module');
const variants: { direction: Direction; drill: boolean }[] = [
  { direction: 'switchover', drill: false },
  { direction: 'switchback', drill: false },
  { direction: 'switchover', drill: true },
  { direction: 'switchback', drill: true },
];

/** Loads, turning a RunbookError into a readable failure (every diagnostic with its place). */
function load(file: string, options: LoadOptions): LoadedRunbook {
  try {
    return loadRunbook(file, { lenientSecrets: true, ...options });
  } catch (err) {
    if (err instanceof RunbookError) {
      throw new Error(
        `${relative(ROOT, file)} ${JSON.stringify(options)}:\n${err.diagnostics.map(formatDiagnostic).join('\n')}`,
        { cause: err },
      );
    }
    throw err;
  }
}

const minutes = (ms: number | undefined) => (ms ?? NaN) / 60_000;

describe('every runbook under runbooks/', () => {
  it('finds the example runbooks', () => {
    expect(runbookFiles.map((f) => relative(RUNBOOKS, f))).toEqual(
      expect.arrayContaining(['id-bank/switchover.yaml', 'id-bank/switchback.yaml', 'id-bank/drill.yaml']),
    );
  });

  describe.each(runbookFiles.map((f) => [relative(ROOT, f), f] as const))('%s', (_name, file) => {
    it.each(variants)('loads and plans: $direction, drill $drill', ({ direction, drill }) => {
      const rb = load(file, { direction, drill });
      const plan = buildPlan(rb);
      expect(rb.direction).toBe(direction);
      expect(plan.steps).toHaveLength(rb.steps.length);
      expect(rb.steps.length).toBeGreaterThan(0);
      for (const clock of ['technical', 'compliance'] as const) {
        const c = plan.rto[clock];
        if (rb.rto[clock]) expect(c, `${clock} clock`).toBeDefined();
        if (c?.objectiveMs !== undefined) expect(c.met, `${clock} RTO forecast within objective`).toBe(true);
      }
    });
  });

  it('every module file is included by some runbook (so it is validated too)', () => {
    const included = new Set<string>();
    for (const file of runbookFiles) {
      for (const m of load(file, {}).modules) included.add(resolve(m.file));
    }
    expect(moduleFiles.filter((f) => !included.has(f)).map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('every runbook and module file points editors at the committed JSON Schema', () => {
    for (const file of [...runbookFiles, ...moduleFiles]) {
      const m = /^# yaml-language-server: \$schema=(\S+)/.exec(readFileSync(file, 'utf8'));
      expect(m, relative(ROOT, file)).not.toBeNull();
      expect(resolve(dirname(file), m![1]!), relative(ROOT, file)).toBe(
        join(RUNBOOKS, 'runbook.schema.json'),
      );
    }
  });
});

// ---------- the full-size bank example ----------

interface Loaded {
  rb: LoadedRunbook;
  plan: Plan;
  byId: Map<string, Step>;
}

function loadBank(file: string, options: LoadOptions = {}): Loaded {
  const rb = load(join(ID_BANK, file), options);
  return { rb, plan: buildPlan(rb), byId: new Map(rb.steps.map((s) => [s.id, s])) };
}

/** Every step that `id` waits for, directly or not. */
function ancestorsOf(byId: Map<string, Step>, id: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(byId.get(id)?.needs ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(byId.get(n)?.needs ?? []));
  }
  return seen;
}

const idsMatching = (rb: LoadedRunbook, re: RegExp) => rb.steps.filter((s) => re.test(s.id));
const argv = (a: Action) => (a.kind === 'run' ? (a.argv ?? []) : []);
const flag = (a: Action, name: string) => {
  const v = argv(a);
  const i = v.indexOf(name);
  return i < 0 ? undefined : v[i + 1];
};
const checkOf = (s: Step) => (s.action.kind === 'check' ? s.action.check : undefined);

describe('runbooks/id-bank: the full-size bank example', () => {
  let over: Loaded;
  let back: Loaded;

  beforeAll(() => {
    over = loadBank('switchover.yaml');
    back = loadBank('switchback.yaml');
  });

  it('has the size of the real estate: 170+ services in 10+ modules, 180+ databases, 20+ channels, 10+ middleware kinds', () => {
    const services = idsMatching(over.rb, /^switch-svc-/);
    expect(services.length).toBeGreaterThanOrEqual(170);
    expect(new Set(services.map((s) => s.module)).size).toBeGreaterThanOrEqual(10);
    expect(services.every((s) => s.owner === 'SRE' && s.action.kind === 'run')).toBe(true);

    const dbGates = over.rb.steps.filter((s) => {
      const c = checkOf(s);
      return c?.kind === 'mysql' && Array.isArray(c.options.databases);
    });
    const databases = new Set(
      dbGates.flatMap((s) =>
        (checkOf(s)!.options.databases as string[]).map((d) => `${checkOf(s)!.resource}/${d}`),
      ),
    );
    expect(databases.size).toBeGreaterThanOrEqual(180);

    const channels = idsMatching(over.rb, /^reopen-channel-/).map((s) => s.id.replace('reopen-channel-', ''));
    expect(channels.length).toBeGreaterThanOrEqual(20);
    for (const ch of channels) {
      for (const prefix of ['notify-channel-', 'stop-channel-', 'verify-channel-'])
        expect(over.byId.has(prefix + ch), prefix + ch).toBe(true);
      expect(over.byId.get(`stop-channel-${ch}`)!.owner).toBe('VENDOR');
    }

    const middleware = idsMatching(over.rb, /^switch-mw-/);
    expect(middleware.every((s) => s.owner === 'MW-SRE')).toBe(true);
    expect(new Set(middleware.map((s) => flag(s.action, '--kind'))).size).toBeGreaterThanOrEqual(10);
  });

  it('gives each module its own file with a PIC, and every role owns or approves work', () => {
    const business = over.rb.modules.filter(
      (m) => !['timeline', 'sre', 'middleware', 'third-party', 'qa'].includes(m.name),
    );
    expect(business.length).toBeGreaterThanOrEqual(10);
    for (const m of over.rb.modules) {
      expect(m.pic, m.name).toBeTruthy();
      if (m.name !== 'timeline') expect(m.file).toMatch(/runbooks\/id-bank\/modules\/[a-z-]+\.yaml$/);
    }
    const used = new Set(
      over.rb.steps.flatMap((s) => [s.owner, ...(s.action.kind === 'manual' ? s.action.approvers : [])]),
    );
    const roles = Object.keys(over.rb.roles);
    expect(roles.filter((r) => !used.has(r))).toEqual([]);
    for (const r of ['MARKET-PIC', 'HORIZONTAL-PIC', 'SRE', 'DBA', 'MW-SRE', 'QA', 'PM', 'LOCAL', 'VENDOR'])
      expect(roles).toContain(r);
    expect(roles.filter((r) => r.startsWith('PIC-')).length).toBe(business.length);
  });

  it('promotes no database before its data gates pass (GTID and every database of the cluster)', () => {
    const mysql = Object.entries(over.rb.resources).filter(([, r]) => r.kind === 'mysql');
    expect(mysql.length).toBeGreaterThanOrEqual(10);
    for (const [name] of mysql) {
      const promote = over.byId.get(`promote-${name}`);
      expect(promote, `promote-${name}`).toBeDefined();
      const before = ancestorsOf(over.byId, promote!.id);
      const gates = over.rb.steps.filter(
        (s) => checkOf(s)?.kind === 'mysql' && checkOf(s)!.resource === name,
      );
      expect(
        gates.some((g) => checkOf(g)!.options.gtid === true),
        `GTID gate of ${name}`,
      ).toBe(true);
      expect(gates.filter((g) => !before.has(g.id)).map((g) => g.id)).toEqual([]);
      expect(before.has('traffic-stopped')).toBe(true);
    }
  });

  it('gates redis, Ceph (s3) and Elasticsearch data before their middleware switches', () => {
    for (const [kind, mw] of [
      ['redis', 'switch-mw-redis'],
      ['s3', 'switch-mw-ceph'],
      ['es', 'switch-mw-elasticsearch'],
    ] as const) {
      const gates = over.rb.steps.filter((s) => checkOf(s)?.kind === kind);
      expect(gates.length, kind).toBeGreaterThan(0);
      const before = ancestorsOf(over.byId, mw);
      expect(gates.filter((g) => !before.has(g.id)).map((g) => g.id)).toEqual([]);
    }
  });

  it('flips bcf.resource.target.mysql|redis|ceph|es live -> dr, and back on the switchback', () => {
    for (const [loaded, value, previous] of [
      [over, 'dr', 'live'],
      [back, 'live', 'dr'],
    ] as const) {
      for (const kind of ['mysql', 'redis', 'ceph', 'es']) {
        const s = loaded.byId.get(`flip-config-${kind}`)!;
        expect(s.action.kind).toBe('redis');
        const key = `bcf.resource.target.${kind}`;
        expect(s.action.kind === 'redis' && s.action.redis.set).toEqual({ [key]: value });
        expect(s.rollback?.action.kind === 'redis' && s.rollback.action.redis.set).toEqual({
          [key]: previous,
        });
      }
      const flipMysql = ancestorsOf(loaded.byId, 'flip-config-mysql');
      expect(idsMatching(loaded.rb, /^writable-/).filter((s) => !flipMysql.has(s.id))).toEqual([]);
    }
  });

  it('verifies with QA (200+ cases) and the local business before traffic opens', () => {
    const cases = readdirSync(join(ID_BANK, 'data'))
      .map((f) => parseYaml(readFileSync(join(ID_BANK, 'data', f), 'utf8')) as { qa?: { cases: number } })
      .reduce((n, d) => n + (d && !Array.isArray(d) && d.qa ? d.qa.cases : 0), 0);
    expect(cases).toBeGreaterThanOrEqual(200);
    const beforeOpen = ancestorsOf(over.byId, 'open-traffic');
    const qa = idsMatching(over.rb, /^qa-verify-/);
    expect(qa.length).toBeGreaterThanOrEqual(10);
    for (const id of [...qa.map((s) => s.id), 'qa-signoff', 'business-verified', 'config-flipped'])
      expect(beforeOpen.has(id), id).toBe(true);
    expect(idsMatching(over.rb, /^switch-svc-/).filter((s) => !beforeOpen.has(s.id))).toEqual([]);
    expect(over.byId.get('business-verified')!.owner).toBe('LOCAL');
    expect(ancestorsOf(over.byId, 'business-verified').has('qa-signoff')).toBe(true);
  });

  it('forecasts near the bank’s real figures (technical 1h26m of 1h30m, compliance 2h43m of 4h), RPO 0', () => {
    for (const { rb, plan } of [over, back]) {
      expect(rb.objectives).toEqual({ technicalMs: 90 * 60_000, complianceMs: 4 * 3_600_000, rpo: 0 });
      expect(rb.rto).toEqual({
        technical: { from: 'stop-traffic', to: 'open-traffic' },
        compliance: { from: 'declare', to: 'business-verified' },
      });
      const technical = minutes(plan.rto.technical?.forecastMs);
      expect(technical).toBeGreaterThanOrEqual(75);
      expect(technical).toBeLessThan(90);
      const compliance = minutes(plan.rto.compliance?.forecastMs);
      expect(compliance).toBeGreaterThanOrEqual(120);
      expect(compliance).toBeLessThan(240);
      expect(plan.warnings.filter((w) => /estimate|exceeds/.test(w))).toEqual([]);
      const phases = plan.phases.map((p) => p.name);
      for (const p of [
        'prepare',
        'stop-traffic',
        'data-gates',
        'switch-middleware',
        'switch-databases',
        'switch-services',
        'verify',
        'open-traffic',
      ])
        expect(phases).toContain(p);
      expect(phases).not.toContain('(no phase)');
    }
  });

  it('switchback.yaml is the same modules with every direction-aware value reversed', () => {
    expect(back.rb.direction).toBe('switchback');
    expect(back.rb.modules.map((m) => m.name)).toEqual(over.rb.modules.map((m) => m.name));
    expect(loadBank('switchover.yaml', { direction: 'switchback' }).rb.steps.map((s) => s.id)).toEqual(
      back.rb.steps.map((s) => s.id),
    );
    const primaryOf = (l: Loaded) => {
      const r = l.rb.resources['core-01']!;
      return r.kind === 'mysql' ? r.primary : undefined;
    };
    expect(primaryOf(over)).toMatch(/@core-01\.main\./);
    expect(primaryOf(back)).toMatch(/@core-01\.dr\./);
    expect(flag(over.byId.get('promote-core-01')!.action, '--dc')).toBe('dr');
    expect(flag(back.byId.get('promote-core-01')!.action, '--dc')).toBe('main');
    // Steps only the way back needs, and a step whose wording differs.
    expect(back.byId.has('reverse-replication-ready')).toBe(true);
    expect(back.byId.has('loans-repayments-posted')).toBe(true);
    expect(over.byId.has('reverse-replication-ready')).toBe(false);
    const announce = (l: Loaded) => l.byId.get('announce-maintenance')!.action;
    expect(announce(back)).not.toEqual(announce(over));
  });

  it('drill.yaml rehearses without touching customers: traffic-changing steps are skipped or dry runs', () => {
    const drill = loadBank('drill.yaml', { drill: true });
    expect(drill.rb.environment).toBe('rehearsal');
    expect(drill.byId.has('notify-regulator')).toBe(false);
    expect(drill.byId.has('rehearsal-briefing')).toBe(true);
    const changing = idsMatching(
      drill.rb,
      /^(stop-traffic|open-traffic|promote-|switch-svc-|switch-mw-|flip-config-|stop-channel-|reopen-channel-|announce-|pause-batch-jobs|resume-batch-jobs)/,
    );
    expect(changing.length).toBeGreaterThan(250);
    for (const s of changing) {
      expect(s.drill.mode, s.id).not.toBe('same');
      if (s.drill.mode === 'action' && s.drill.action.kind === 'run')
        expect(s.drill.action.argv, s.id).toContain('--dry-run');
      if (s.drill.mode === 'action' && s.drill.action.kind === 'redis')
        expect(s.drill.action.redis.set, s.id).toBeUndefined();
    }
    // The file says drill: true, so a run started without --drill is still a drill.
    expect(loadBank('drill.yaml').rb.drill).toBe(true);
    // The data gates are read-only, so the rehearsal runs them for real.
    expect(drill.rb.steps.filter((s) => s.action.kind === 'check' && s.drill.mode !== 'same')).toEqual([]);
  });

  it('keeps secrets out of the files: strict loading needs exactly the three secret env vars', () => {
    const secrets = {
      IDBANK_DB_PASSWORD: 'pw-db-test',
      IDBANK_REDIS_PASSWORD: 'pw-redis-test',
      IDBANK_ES_API_KEY: 'key-es-test',
    };
    const missing = (() => {
      try {
        loadRunbook(join(ID_BANK, 'switchover.yaml'), { lenientSecrets: false });
        return [];
      } catch (err) {
        if (!(err instanceof RunbookError)) throw err;
        return err.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
      }
    })();
    expect(missing.sort()).toEqual(
      Object.keys(secrets)
        .map((k) => `environment variable ${k} is not set`)
        .sort(),
    );
    const saved = { ...process.env };
    Object.assign(process.env, secrets);
    try {
      const rb = loadRunbook(join(ID_BANK, 'switchover.yaml'), { lenientSecrets: false });
      const core = rb.resources['core-01']!;
      expect(core.kind === 'mysql' && core.primary).toContain(':pw-db-test@');
    } finally {
      for (const k of Object.keys(secrets)) if (saved[k] === undefined) delete process.env[k];
    }
    for (const file of yamlFilesUnder(ID_BANK))
      expect(readFileSync(file, 'utf8'), relative(ROOT, file)).not.toMatch(
        /password:\s*[^$\s]|:\/\/[^$/\s]+:[^$@\s]+@/i,
      );
  });

  it('the scripts the steps call exist, are executable, and their dry runs exit 0', () => {
    const drill = loadBank('drill.yaml', { drill: true });
    const commands = new Map<string, string[]>();
    for (const s of [...over.rb.steps, ...drill.rb.steps]) {
      for (const a of [
        s.action,
        s.rollback?.action,
        s.drill.mode === 'action' ? s.drill.action : undefined,
      ]) {
        const run = a?.kind === 'wait' ? a.until : a;
        if (run?.kind !== 'run' || !run.argv) continue;
        // Run steps run in the runbook's directory, so ./scripts works wherever drctl starts.
        expect(run.argv[0], s.id).toMatch(/^\.\/scripts\/[a-z-]+\.sh$/);
        expect(run.cwd, s.id).toBe(join(ROOT, 'runbooks/id-bank'));
        // One invocation per script and sub-command keeps this fast.
        commands.set(`${run.argv[0]} ${run.argv[1]!.startsWith('-') ? '' : run.argv[1]}`, run.argv);
      }
    }
    expect(commands.size).toBeGreaterThanOrEqual(10);
    for (const [, args] of commands) {
      const bankDir = join(ROOT, 'runbooks/id-bank');
      accessSync(join(bankDir, args[0]!), constants.X_OK);
      const out = execFileSync(join(bankDir, args[0]!), [...args.slice(1), '--dry-run'], {
        cwd: bankDir,
        encoding: 'utf8',
      });
      expect(out, args.join(' ')).toMatch(/would|lag=0/);
    }
  });

  it('every step has an estimate, so the forecast is complete', () => {
    expect(over.rb.steps.filter((s) => s.estimateMs === undefined).map((s) => s.id)).toEqual([]);
    expect(parseDuration('1h26m')).toBe(86 * 60_000);
  });
});
