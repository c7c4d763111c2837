import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
import { Diagnostics } from '../../src/runbook/diagnostics.js';
import { buildSteps, checkRules } from '../../src/runbook/rules.js';
import { MAX_NESTING_DEPTH, MAX_STEPS, MAX_STRING_LENGTH } from '../../src/runbook/limits.js';
import { RunbookFileSchema, StepSpecSchema } from '../../src/runbook/schema.js';
import { readYamlFile } from '../../src/runbook/yaml-file.js';
import { HEADER, loadErrors, loadOk, writeTree } from './runbook-helpers.js';

const rb = (steps: string, extra = '') => `${HEADER}${extra}steps:\n${steps}`;

describe('loader messages say what is wrong (issue 14 item 14)', () => {
  it('a step that needs itself is named as such, not "did you mean" its own id', () => {
    const dir = writeTree({ 'r.yaml': rb(`  - { id: a, owner: SRE, run: [echo], needs: [a] }\n`) });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/r\.yaml:6:47 steps\[0\]\.needs\[0\]: step "a" needs itself/);
    expect(errs[0]).not.toMatch(/did you mean/);
  });

  it('a cycle among vars is named as a path, once, without follow-on errors', () => {
    const dir = writeTree({
      'r.yaml': rb(
        `  - { id: a, owner: SRE, run: [echo, "\${vars.a}"] }\n`,
        'vars:\n  a: "${vars.b}"\n  b: "x-${vars.a}"\n',
      ),
    });
    const errs = loadErrors(join(dir, 'r.yaml'));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/r\.yaml:6:6 vars\.a: vars form a cycle: a → b → a/);
    expect(errs[0]).not.toMatch(/has no field/);
  });

  it('a var may use a var declared after it (resolved in dependency order)', () => {
    const dir = writeTree({
      'r.yaml': rb(
        `  - { id: a, owner: SRE, run: [echo, "\${vars.url}"] }\n`,
        'vars:\n  url: "https://${vars.host}/x"\n  host: db1\n',
      ),
    });
    const loaded = loadOk(join(dir, 'r.yaml'));
    expect(loaded.steps[0]!.action).toMatchObject({ kind: 'run', argv: ['echo', 'https://db1/x'] });
  });

  it('`steps: []` is refused: "runbook has no steps"', () => {
    const dir = writeTree({ 'r.yaml': `${HEADER}steps: []\n`, 's.yaml': HEADER });
    expect(loadErrors(join(dir, 'r.yaml'))).toEqual([
      expect.stringMatching(/r\.yaml:5:8 steps: runbook has no steps/),
    ]);
    expect(loadErrors(join(dir, 's.yaml'))).toEqual([expect.stringMatching(/runbook has no steps/)]);
  });

  it('an unclosed ${env:FOO is refused with its place', () => {
    const dir = writeTree({ 'r.yaml': rb(`  - { id: a, owner: SRE, run: [echo, "\${env:FOO"] }\n`) });
    expect(loadErrors(join(dir, 'r.yaml'))).toEqual([
      expect.stringMatching(/r\.yaml:6:\d+ steps\[0\]\.run.*: unclosed \$\{ in "\$\{env:FOO"/),
    ]);
  });
});

describe('loader limits (issue 14 items 9 and 13)', () => {
  it(`block nesting 2,000 deep: refused naming the limit (${MAX_NESTING_DEPTH}) and the file, no RangeError`, () => {
    const lines = ['vars:', '  v:'];
    for (let i = 0; i < 2000; i++) lines.push(`${'  '.repeat(i + 2)}a:`);
    lines[lines.length - 1] += ' 1';
    const deepFlow = `vars:\n  v: ${'['.repeat(2000)}1${']'.repeat(2000)}\n`;
    const justOver = `vars:\n  v: ${'['.repeat(MAX_NESTING_DEPTH)}1${']'.repeat(MAX_NESTING_DEPTH)}\n`;
    const step = `  - { id: a, owner: SRE, run: [echo] }\n`;
    const dir = writeTree({
      'block.yaml': rb(step, lines.join('\n') + '\n'),
      'flow.yaml': rb(step, deepFlow),
      'over.yaml': rb(step, justOver),
      'ok.yaml': rb(
        step,
        `vars:\n  v: ${'['.repeat(MAX_NESTING_DEPTH - 3)}1${']'.repeat(MAX_NESTING_DEPTH - 3)}\n`,
      ),
    });
    for (const f of ['block.yaml', 'flow.yaml', 'over.yaml']) {
      const errs = loadErrors(join(dir, f));
      expect(errs, f).toEqual([
        expect.stringMatching(
          new RegExp(
            `${f.replace('.', '\\.')}:\\d+:\\d+ nested more than ${MAX_NESTING_DEPTH} levels deep \\(the limit\\)`,
          ),
        ),
      ]);
    }
    expect(loadErrors(join(dir, 'ok.yaml'))).toEqual([]);
  });

  it(`a string over ${MAX_STRING_LENGTH} characters is refused with its place`, () => {
    const dir = writeTree({
      'r.yaml': rb(`  - id: a\n    owner: SRE\n    run: [echo, "${'x'.repeat(MAX_STRING_LENGTH + 1)}"]\n`),
    });
    expect(loadErrors(join(dir, 'r.yaml'))).toEqual([
      expect.stringMatching(/r\.yaml:8:17 a string of 1048577 characters, over the limit of 1048576/),
    ]);
  });

  it(
    `more than ${MAX_STEPS} steps (a foreach over a long list) is refused, naming the limit`,
    { timeout: 60_000 },
    () => {
      const items = Array.from({ length: MAX_STEPS + 1 }, (_, i) => i).join(',');
      const dir = writeTree({
        'r.yaml': rb(`  - { id: "s\${item}", owner: SRE, run: [echo], foreach: [${items}] }\n`),
      });
      expect(loadErrors(join(dir, 'r.yaml'))).toEqual([
        expect.stringMatching(/r\.yaml:6:5 steps\[0\]: the runbook has more than 50000 steps \(the limit\)/),
      ]);
    },
  );

  it(
    'resolving needs and planning are linear: a 50,000-step chain builds, passes the rules and plans, each well under 30 s',
    { timeout: 120_000 },
    () => {
      // Without YAML (its parser is linear and not ours): the steps as the loader expands them.
      // Before the fix every need was matched against every id: ~60 s of CPU for this chain on
      // an idle machine; now well under a second, so the bound holds on a loaded CI too.
      const dir = writeTree({ 'r.yaml': rb(`  - { id: a, owner: SRE, run: [echo] }\n`) });
      const file = readYamlFile(join(dir, 'r.yaml'), 'r.yaml', new Diagnostics())!;
      const header = RunbookFileSchema.parse(file.value);
      const expanded = Array.from({ length: MAX_STEPS }, (_, i) => ({
        origin: { file, path: ['steps', 0] },
        spec: StepSpecSchema.parse({
          id: `s${i}`,
          owner: 'SRE',
          run: ['echo', String(i)],
          ...(i > 0 ? { needs: [`s${i - 1}`] } : {}),
        }),
      }));
      const t0 = performance.now();
      const diags = new Diagnostics();
      const built = buildSteps(
        expanded,
        header,
        { direction: 'switchover', drill: false, environment: 'e', vars: {} },
        diags,
      );
      checkRules(
        { file, ...built, roles: { SRE: {} }, resources: {}, resourceOrigins: new Map(), rto: undefined },
        diags,
      );
      const ms = performance.now() - t0;
      expect(diags.items).toEqual([]);
      expect(built.steps).toHaveLength(MAX_STEPS);
      expect(built.steps[MAX_STEPS - 1]!.needs).toEqual([`s${MAX_STEPS - 2}`]);
      expect(ms).toBeLessThan(30_000);

      // The plan of it too: the role summary copied the role's list once per step (~100 s of CPU).
      const t1 = performance.now();
      const plan = buildPlan({
        name: 'chain',
        file: 'r.yaml',
        sha256: '',
        environment: 'e',
        direction: 'switchover',
        drill: false,
        objectives: {},
        rto: {},
        roles: { SRE: {} },
        resources: {},
        steps: built.steps,
        excluded: [],
        modules: [],
      });
      expect(plan.roles).toEqual([expect.objectContaining({ role: 'SRE', steps: MAX_STEPS })]);
      expect(performance.now() - t1).toBeLessThan(30_000);
    },
  );
});
