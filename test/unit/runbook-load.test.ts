import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEADER, loadErrors, loadOk, writeTree } from './runbook-helpers.js';

const rb = (steps: string, extra = '') => `${HEADER}${extra}steps:\n${steps}`;

describe('loadRunbook: bad runbooks give the exact place', () => {
  it('unknown field, with a did-you-mean hint', () => {
    const dir = writeTree({ 'r.yaml': rb(`  - id: a\n    owner: SRE\n    run: [echo]\n    timout: 5m\n`) });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      /r\.yaml:9:5 steps\[0\]\.timout: unknown field "timout"\n {2}hint: did you mean "timeout"\?/,
    );
  });

  it('wrong type', () => {
    const dir = writeTree({
      'r.yaml': rb(`  - id: a\n    owner: SRE\n    run: [echo]\n    needs: a-string\n`),
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/r\.yaml:9:12 steps\[0\]\.needs: .*expected array/);
  });

  it('bad duration', () => {
    const dir = writeTree({ 'r.yaml': rb(`  - id: a\n    owner: SRE\n    run: [echo]\n    timeout: ten\n`) });
    expect(loadErrors(join(dir, 'r.yaml'))).toEqual([
      expect.stringMatching(
        /r\.yaml:9:14 steps\[0\]\.timeout: expected a duration like 10m, got "ten"\n {2}hint: use a number and a unit/,
      ),
    ]);
  });

  it('cycle, printed as a path', () => {
    const dir = writeTree({
      'r.yaml': rb(
        `  - { id: a, owner: SRE, run: [echo], needs: [c] }\n  - { id: b, owner: SRE, run: [echo], needs: [a] }\n  - { id: c, owner: SRE, run: [echo], needs: [b] }\n`,
      ),
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain('dependency cycle: a → c → b → a');
  });

  it('missing include', () => {
    const dir = writeTree({
      'r.yaml': rb(`  - { id: a, owner: SRE, run: [echo] }\n`, 'include: [modules/*.yaml]\n'),
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs).toEqual([
      expect.stringMatching(/r\.yaml:5:11 include\[0\]: include "modules\/\*\.yaml" matches no file/),
    ]);
  });

  it('duplicate id across a module, naming the first place', () => {
    const dir = writeTree({
      'r.yaml': rb(`  - { id: a, owner: SRE, run: [echo] }\n`, 'include: [modules/*.yaml]\n'),
      'modules/loan.yaml':
        'kind: Module\nname: loan\npic: Ana\nsteps:\n  - id: a\n    owner: DBA\n    run: [echo]\n',
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      /modules\/loan\.yaml:5:9 steps\[0\]\.id: duplicate step id "a" \(first defined at .*r\.yaml:7\)/,
    );
  });

  it('YAML syntax error', () => {
    const dir = writeTree({ 'r.yaml': rb(`  - id: a\n    owner: [SRE\n`) });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs.length).toBeGreaterThanOrEqual(1);
    expect(errs[0]).toMatch(/r\.yaml:\d+:\d+ YAML syntax error/);
  });

  it('unknown role, suggesting the closest', () => {
    const dir = writeTree({ 'r.yaml': rb(`  - { id: a, owner: SER, run: [echo] }\n`) });
    expect(loadErrors(join(dir, 'r.yaml'))).toEqual([
      expect.stringMatching(
        /r\.yaml:6:21 steps\[0\]\.owner: owner "SER" is not a declared role\n {2}hint: did you mean "SRE"\?/,
      ),
    ]);
  });

  it('reports every problem of every file in one pass', () => {
    const dir = writeTree({
      'r.yaml': rb(
        `  - { id: a, owner: SRE, run: [echo], timeout: soon }\n  - { id: b, owner: NOPE, run: [echo], needs: [zzz] }\n`,
        'include: [modules/*.yaml]\n',
      ),
      'modules/m.yaml':
        'kind: Module\nname: m\nsteps:\n  - { id: c, owner: SRE, sql: { resource: nowhere, statements: "select 1" } }\n',
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs.map((e) => e.split(' ')[1])).toEqual([
      'steps[0].timeout:',
      'steps[1].needs[0]:',
      'steps[1].owner:',
      'steps[0].sql.resource:',
    ]);
  });

  it('needs that match nothing, unknown resource, resource of the wrong kind, rto bound missing, empty foreach', () => {
    const dir = writeTree({
      'r.yaml': `${HEADER}rto: { technical: { from: a, to: gone } }
resources:
  cfg: { kind: redis, url: "redis://127.0.0.1:6379" }
vars: { none: [] }
steps:
  - { id: a, owner: SRE, run: [echo], needs: [b-*] }
  - { id: db, owner: DBA, sql: { resource: cfg, statements: "select 1" } }
  - { id: gate, owner: DBA, check: { kind: mysql, resource: cfg } }
  - { id: r, owner: SRE, redis: { resource: nope, get: k } }
  - { id: "x-\${item}", foreach: "\${vars.none}", owner: SRE, run: [echo] }
`,
    });
    const errs = loadErrors(join(dir, 'r.yaml')).map((e) => e.split('\n')[0]!.replace(/^.*?r\.yaml:/, ''));
    expect(errs).toEqual([
      '14:33 steps[4].foreach: foreach produced no items, so this step would generate no steps',
      '10:47 steps[0].needs[0]: needs "b-*" matches no step',
      '11:44 steps[1].sql.resource: sql step "db" needs a mysql resource, but "cfg" is redis',
      '12:61 steps[2].check.resource: check step "gate" needs a mysql resource, but "cfg" is redis',
      '13:45 steps[3].redis.resource: unknown resource "nope"',
      '5:34 rto.technical.to: rto.technical.to names step "gone", which does not exist',
    ]);
  });

  it('a step with two actions, or none', () => {
    const dir = writeTree({
      'r.yaml': rb(`  - { id: a, owner: SRE, run: [echo], manual: hi }\n  - { id: b, owner: SRE }\n`),
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs[0]).toContain('more than one action (run, manual)');
    expect(errs[1]).toContain('no action: give exactly one of run, sql, redis, http, wait, manual, check');
  });
});

describe('loadRunbook: the language', () => {
  const bank = () =>
    writeTree({
      'r.yaml': `${HEADER}objectives: { rto: { technical: 90m, compliance: 4h }, rpo: 0 }
rto:
  technical: { from: stop, to: open }
  compliance: { from: stop, to: open }
resources:
  config: { kind: redis, url: "redis://127.0.0.1:6379" }
  core: { kind: mysql, primary: "mysql://drctl:\${env:DRCTL_T_PW:-s3cr3t-pw}@10.0.0.1:3306", replica: "mysql://drctl@10.0.1.1:3306" }
vars:
  services: \${file:services.yaml}
directions:
  switchover: { target: dr, from: main }
  switchback: { target: live, from: dr }
templates:
  flip: { owner: SRE, redis: { resource: config, set: { "bcf.resource.target.\${with.kind}": "\${dir.target}" } }, estimate: 1m }
include: [modules/*.yaml]
steps:
  - { id: stop, owner: SRE, run: [./gw.sh, drain, "--dc=\${dir.from}"], estimate: 4m }
  - id: switch-\${svc.name}
    foreach: \${vars.services}
    as: svc
    owner: SRE
    needs: [stop]
    run: [./switch.sh, "\${svc.name}"]
    estimate: 2m
  - { id: flip-mysql, template: flip, with: { kind: mysql }, needs: [switch-*] }
  - id: reverse-replication
    owner: DBA
    needs: [flip-mysql]
    when: { direction: switchback }
    sql: { resource: core, on: replica, statements: "STOP SLAVE" }
  - id: open
    owner: SRE
    needs: [reverse-replication, loan-*]
    run: [./gw.sh, open]
    switchback: { run: [./gw.sh, open, --main] }
`,
      'services.yaml': '- { name: payments }\n- { name: loans }\n- { name: cards }\n',
      'modules/loan.yaml':
        'kind: Module\nname: loan\npic: Ana\nphase: switch-services\nsteps:\n  - { id: loan-verify, owner: QA, needs: [stop], manual: Run loan cases }\n',
    });

  it('expands foreach, templates, includes and direction values', () => {
    const r = loadOk(join(bank(), 'r.yaml'));
    expect(r.steps.map((s) => s.id)).toEqual([
      'stop',
      'switch-payments',
      'switch-loans',
      'switch-cards',
      'flip-mysql',
      'open',
      'loan-verify',
    ]);
    expect(r.steps.find((s) => s.id === 'flip-mysql')!.action).toEqual({
      kind: 'redis',
      redis: { resource: 'config', set: { 'bcf.resource.target.mysql': 'dr' } },
    });
    expect(r.steps.find((s) => s.id === 'flip-mysql')!.needs).toEqual([
      'switch-payments',
      'switch-loans',
      'switch-cards',
    ]);
    // reverse-replication is left out of switchover; open inherits its needs.
    expect(r.excluded.map((e) => e.id)).toEqual(['reverse-replication']);
    expect(r.excluded[0]!.reason).toContain('switchback');
    expect(r.steps.find((s) => s.id === 'open')!.needs.sort()).toEqual(['flip-mysql', 'loan-verify']);
    expect(r.steps.find((s) => s.id === 'loan-verify')).toMatchObject({
      module: 'loan',
      phase: 'switch-services',
    });
    expect(r.steps.find((s) => s.id === 'stop')!.action).toMatchObject({
      argv: ['./gw.sh', 'drain', '--dc=main'],
    });
  });

  it('switchback reverses values without a second runbook', () => {
    const r = loadOk(join(bank(), 'r.yaml'), { direction: 'switchback' });
    expect(r.steps.find((s) => s.id === 'flip-mysql')!.action).toMatchObject({
      redis: { set: { 'bcf.resource.target.mysql': 'live' } },
    });
    expect(r.steps.find((s) => s.id === 'stop')!.action).toMatchObject({
      argv: ['./gw.sh', 'drain', '--dc=dr'],
    });
    expect(r.steps.find((s) => s.id === 'open')!.action).toMatchObject({
      argv: ['./gw.sh', 'open', '--main'],
    });
    expect(r.steps.find((s) => s.id === 'reverse-replication')!.action).toMatchObject({
      kind: 'sql',
      sql: { on: 'replica' },
    });
  });

  it('registers secrets from env/file so they are redacted', async () => {
    const { redact } = await import('../../src/util/redact.js');
    loadOk(join(bank(), 'r.yaml'));
    expect(redact('connect mysql://drctl:s3cr3t-pw@10.0.0.1 failed; pw s3cr3t-pw')).toBe(
      'connect mysql://drctl:***@10.0.0.1 failed; pw ***',
    );
  });

  it('a missing env var is an error for switch and a warning for validate', () => {
    const dir = writeTree({
      'r.yaml': `${HEADER}resources:\n  core: { kind: mysql, primary: "mysql://u:\${env:DRCTL_SURELY_UNSET}@h", replica: "mysql://u@h2" }\nsteps:\n  - { id: a, owner: SRE, run: [echo] }\n`,
    });
    expect(loadErrors(join(dir, 'r.yaml'))).toEqual([
      expect.stringMatching(
        /r\.yaml:6:9 resources\.core: environment variable DRCTL_SURELY_UNSET is not set\n {2}hint: export DRCTL_SURELY_UNSET=/,
      ),
    ]);
    const r = loadOk(join(dir, 'r.yaml'), { lenientSecrets: true });
    expect(r.warnings.map((w) => w.message)).toEqual(['environment variable DRCTL_SURELY_UNSET is not set']);
  });

  it('--var overrides a var, and unknown variables are reported with what is available', () => {
    const dir = writeTree({
      'r.yaml': `${HEADER}vars: { dc: main }\nsteps:\n  - { id: a, owner: SRE, run: [echo, "\${vars.dc}"] }\n  - { id: b, owner: SRE, run: [echo, "\${vars.nope}", "$\${HOME}"] }\n`,
    });
    expect(loadErrors(join(dir, 'r.yaml'))[0]).toMatch(
      /steps\[1\]\.run: \$\{vars\.nope\}: vars has no field nope/,
    );
    const fixed = writeTree({
      'r.yaml': `${HEADER}vars: { dc: main }\nsteps:\n  - { id: a, owner: SRE, run: [echo, "\${vars.dc}", "$\${HOME}"] }\n`,
    });
    const r = loadOk(join(fixed, 'r.yaml'), { vars: { dc: 'dr' } });
    expect(r.steps[0]!.action).toMatchObject({ argv: ['echo', 'dr', '${HOME}'] });
  });
});

describe('loadRunbook: check steps', () => {
  it('validates checker options at their place', () => {
    const dir = writeTree({
      'r.yaml': `${HEADER}resources:\n  core: { kind: mysql, primary: "mysql://a@h", replica: "mysql://a@r" }\nsteps:\n  - id: gate\n    owner: DBA\n    check: { kind: mysql, resource: core, rows: some, gtdi: true }\n`,
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs.map((e) => e.split('\n')[0]!.replace(/^.*?r\.yaml:/, ''))).toEqual([
      '10:49 steps[0].check.rows: Invalid option: expected one of "full"|"none"',
      '10:55 steps[0].check.gtdi: unknown field "gtdi"',
    ]);
  });
});

describe('secrets', () => {
  it('masks credential-named env vars, file texts and resource credential fields, not ordinary env values', async () => {
    const { redact } = await import('../../src/util/redact.js');
    process.env.DRCTL_T_APP_URL = 'http://app.internal:8080';
    process.env.DRCTL_T_API_TOKEN = 'tok-123456';
    const dir = writeTree({
      'r.yaml': `${HEADER}resources:\n  es: { kind: es, source: { url: "http://a:9200", password: "inline-es-pw" }, target: { url: "http://b:9200" } }\nsteps:\n  - { id: a, owner: SRE, http: { url: "\${env:DRCTL_T_APP_URL}/x", headers: { Authorization: "Bearer \${env:DRCTL_T_API_TOKEN}", X-Key: "\${file:key.txt}" } } }\n`,
      'key.txt': 'file-secret-abc\n',
    });
    loadOk(join(dir, 'r.yaml'));
    expect(redact('http://app.internal:8080/x tok-123456 file-secret-abc inline-es-pw')).toBe(
      'http://app.internal:8080/x *** *** ***',
    );
  });
});

describe('loadRunbook: modules, templates and drills', () => {
  it('reads module vars relative to the module file and reports them there', () => {
    const dir = writeTree({
      'r.yaml': `${HEADER}include: [modules/m.yaml]\nsteps: []\n`,
      'modules/m.yaml':
        'kind: Module\nname: m\nvars:\n  list: ${file:list.yaml}\n  broken: ${file:nope.txt}\nsteps:\n  - { id: "s-${item}", foreach: "${vars.list}", owner: SRE, run: [echo] }\n',
      'modules/list.yaml': '[a, b]\n',
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs).toEqual([
      expect.stringMatching(/modules\/m\.yaml:5:11 vars\.broken: cannot read \$\{file:nope\.txt\}: ENOENT/),
    ]);
  });

  it("applies a template's foreach, as, switchback and interpolated with: values", () => {
    const dir = writeTree({
      'r.yaml': `${HEADER}vars: { n: 3, dcs: [x, y] }
templates:
  each: { owner: SRE, foreach: "\${vars.dcs}", as: dc, run: [echo, "\${dc}", "\${with.n}"], switchback: { run: [echo, back, "\${dc}"] } }
steps:
  - { id: "t-\${dc}", template: each, with: { n: "n=\${vars.n}" } }
`,
    });
    const over = loadOk(join(dir, 'r.yaml'));
    expect(over.steps.map((s) => [s.id, s.action])).toEqual([
      ['t-x', expect.objectContaining({ argv: ['echo', 'x', 'n=3'] })],
      ['t-y', expect.objectContaining({ argv: ['echo', 'y', 'n=3'] })],
    ]);
    const back = loadOk(join(dir, 'r.yaml'), { direction: 'switchback' });
    expect(back.steps[1]!.action).toMatchObject({ argv: ['echo', 'back', 'y'] });
  });

  it('a file that says drill: true is always a drill, and skipped steps take no time in the plan', async () => {
    const { buildPlan } = await import('../../src/plan/plan.js');
    const dir = writeTree({
      'r.yaml': `${HEADER}drill: true\nsteps:\n  - { id: window, owner: SRE, run: [echo], estimate: 40m, drill: skip }\n  - { id: b, owner: SRE, run: [echo], estimate: 5m, needs: [window] }\n`,
    });
    const rb = loadOk(join(dir, 'r.yaml'));
    expect(rb.drill).toBe(true);
    expect(buildPlan(rb).makespanMs).toBe(5 * 60_000);
  });
});
