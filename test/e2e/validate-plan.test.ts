import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTree } from '../unit/runbook-helpers.js';
import { drctl, ROOT } from './cli-helpers.js';

const GOOD = `apiVersion: drctl/v1
kind: Runbook
name: small
objectives: { rto: { technical: 30m } }
rto: { technical: { from: stop, to: open } }
roles: { SRE: { concurrency: 1 }, DBA: {} }
steps:
  - { id: stop, owner: SRE, run: [echo, stop], estimate: 5m }
  - { id: a, owner: SRE, run: [echo, a], needs: [stop], estimate: 10m }
  - { id: b, owner: SRE, run: [echo, b], needs: [stop], estimate: 10m }
  - { id: open, owner: DBA, run: [echo, open], needs: [a, b], estimate: 1m }
`;

describe('drctl validate / plan / schema (built CLI)', () => {
  it('validate prints ok and exits 0', async () => {
    const dir = writeTree({ 'r.yaml': GOOD });
    const r = await drctl(['validate', join(dir, 'r.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^ok .*r\.yaml \(0 modules, 2 roles, 0 resources; switchover: 4 steps; switchback: 4 steps\)/,
    );
  });

  it('validate prints every error with its place and exits 2, without a stack', async () => {
    const dir = writeTree({
      'r.yaml': GOOD.replace('estimate: 5m', 'estimate: five').replace('owner: DBA', 'owner: DAB'),
    });
    const r = await drctl(['validate', join(dir, 'r.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/r\.yaml:8:58 steps\[0\]\.estimate: expected a duration like 10m, got "five"/);
    expect(r.stderr).toMatch(
      /r\.yaml:11:24 steps\[3\]\.owner: owner "DAB" is not a declared role\n {2}hint: did you mean "DBA"\?/,
    );
    expect(r.stderr).toContain('2 errors; nothing was run');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('plan --json shows waves, the critical path and the RTO forecast with role concurrency', async () => {
    const dir = writeTree({ 'r.yaml': GOOD });
    const r = await drctl(['plan', join(dir, 'r.yaml'), '--json']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      waves: string[][];
      criticalPath: { steps: string[] };
      rto: { technical: unknown };
      warnings: string[];
    };
    expect(plan.waves).toEqual([['stop'], ['a', 'b'], ['open']]);
    expect(plan.criticalPath.steps).toEqual(['stop', 'a', 'open']);
    // SRE runs one step at a time: 5 + 10 + 10 + 1 = 26 minutes.
    expect(plan.rto.technical).toEqual({
      from: 'stop',
      to: 'open',
      forecastMs: 26 * 60_000,
      objectiveMs: 30 * 60_000,
      met: true,
    });
    expect(plan.warnings).toContain(
      'role SRE has up to 2 steps that could run in parallel but concurrency 1: they will queue',
    );
  });

  it('plan prints a readable plan', async () => {
    const dir = writeTree({ 'r.yaml': GOOD });
    const r = await drctl(['plan', join(dir, 'r.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Technical RTO forecast 26m00s (stop → open), objective 30m00s ✓ within');
    expect(r.stdout).toContain('Critical path (16m00s, marked *): stop → a → open');
  });

  it('usage errors exit 2: missing file, bad --direction, malformed --var', async () => {
    const dir = writeTree({ 'r.yaml': GOOD });
    const missing = await drctl(['plan', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml not found');
    const dirn = await drctl(['plan', join(dir, 'r.yaml'), '--direction', 'sideways']);
    expect(dirn.code).toBe(2);
    expect(dirn.stderr).toContain('--direction must be switchover or switchback, got "sideways"');
    const v = await drctl(['plan', join(dir, 'r.yaml'), '--var', 'novalue']);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('--var "novalue": expected name=value');
  });

  it('schema prints the JSON Schema that is committed as runbooks/runbook.schema.json', async () => {
    const r = await drctl(['schema']);
    expect(r.code).toBe(0);
    const committed = readFileSync(join(ROOT, 'runbooks/runbook.schema.json'), 'utf8');
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(committed));
  });
});
