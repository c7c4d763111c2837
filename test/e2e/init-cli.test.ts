import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../harness/process.js';
import { drctl } from './cli-helpers.js';

/** `drctl init <dir>` (built CLI): the starter tree validates, plans and never overwrites. */
const tmp = makeTempDir('drctl-init');
afterAll(() => removeDir(tmp));

describe('drctl init', () => {
  it('writes a runbook tree that validates in both directions and plans', async () => {
    const dir = join(tmp, 'my-bank');
    const init = await drctl(['init', dir]);
    expect(init.code).toBe(0);
    for (const f of ['switchover.yaml', 'switchback.yaml', 'modules/core-banking.yaml', 'inventory.yaml']) {
      expect(init.stdout).toContain(`wrote ${join(dir, f)}`);
    }
    expect(statSync(join(dir, 'scripts', 'switch-service.sh')).mode & 0o111).not.toBe(0);
    const v = await drctl(['validate', join(dir, 'switchover.yaml'), join(dir, 'switchback.yaml')]);
    expect(v.stderr).not.toMatch(/^error/m);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('switchover: 12 steps; switchback: 12 steps');
    const plan = await drctl(['plan', join(dir, 'switchback.yaml'), '--json']);
    expect(plan.code).toBe(0);
    const doc = JSON.parse(plan.stdout) as { direction: string; steps: { id: string }[] };
    expect(doc.direction).toBe('switchback');
    expect(doc.steps.map((s) => s.id)).toContain('switch-core-api');
  });

  it('refuses a directory that is not empty, and a file (exit 2), writing nothing', async () => {
    const dir = join(tmp, 'taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'switchover.yaml'), 'mine\n');
    const r = await drctl(['init', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not empty');
    const file = await drctl(['init', join(dir, 'switchover.yaml')]);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('is not a directory');
  });
});
