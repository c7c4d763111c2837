import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunbook } from '../fixtures/engine-cli.js';

// A fifth checker kind that lives only in test/fixtures/checker-kind/ (its module plus the one
// registration line in drctl.ts): it must work through `drctl check jsonfile` and a runbook
// check step with no edit anywhere else (docs/checkers/writing-a-checker.md).
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = join(ROOT, 'test/fixtures/checker-kind/drctl.ts');

function drctl(args: string[]) {
  return execa('node', ['--import', 'tsx', ENTRY, ...args], {
    cwd: ROOT,
    env: { NODE_ENV: 'test', FORCE_COLOR: '0' },
    reject: false,
    stdin: 'ignore',
  });
}

describe('a fifth checker kind registered from a fixture folder', () => {
  let dir: string;
  let a: string;
  let b: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drctl-plugin-'));
    a = join(dir, 'a.json');
    b = join(dir, 'b.json');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drctl check jsonfile: 0 same, 1 with the key named, 2 naming a bad flag, --json result shape', async () => {
    writeFileSync(a, JSON.stringify({ balance: 10, owner: 'x' }));
    writeFileSync(b, JSON.stringify({ balance: 10, owner: 'x' }));
    const same = await drctl(['check', 'jsonfile', '--source', a, '--target', b]);
    expect(same.exitCode, same.stderr).toBe(0);
    expect(same.stdout).toContain('jsonfile consistent: 2 keys: consistent');

    writeFileSync(b, JSON.stringify({ balance: 11, owner: 'x' }));
    const diff = await drctl(['check', 'jsonfile', '--source', a, '--target', b]);
    expect(diff.exitCode).toBe(1);
    expect(diff.stdout).toContain('different balance: 10 vs 11');
    const json = await drctl(['check', 'jsonfile', '--source', a, '--target', b, '--json']);
    expect(json.exitCode).toBe(1);
    const result = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ checker: 'jsonfile', ok: false, status: 'different', findingsOmitted: 0 });

    const bad = await drctl(['check', 'jsonfile', '--source', a, '--target', b, '--delay', '-5']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/error: --delay: Too small/);
    expect(bad.stderr).not.toMatch(/ZodError|at .*\.ts:\d+/);

    const help = await drctl(['check', '--help']);
    expect(help.stdout).toContain('mysql, s3, es, redis, jsonfile');
  });

  it('Ctrl-C: exit 130 and, with --json, a partial result marked interrupted', async () => {
    writeFileSync(b, JSON.stringify({ balance: 10, owner: 'x' }));
    const child = drctl(['check', 'jsonfile', '--source', a, '--target', b, '--delay', '60000', '--json']);
    // Past tsx start-up on a loaded 2-core machine (the SIGINT handler is set), well inside the delay.
    await new Promise((r) => setTimeout(r, 15_000));
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await child;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    expect(JSON.parse(r.stdout)).toMatchObject({ checker: 'jsonfile', interrupted: true, ok: false });
  });

  it('a runbook resource of the kind and a check step: validate, then the gate passes or fails', async () => {
    const doc = (name: string) => ({
      environment: `plugin-${name}`,
      roles: { SRE: {} },
      resources: { files: { kind: 'jsonfile', source: a, target: b } },
      steps: [{ id: 'gate', owner: 'SRE', check: { kind: 'jsonfile', resource: 'files' } }],
    });
    const runs = join(dir, 'runs');
    writeFileSync(b, JSON.stringify({ balance: 10, owner: 'x' }));
    const ok = writeRunbook(dir, 'plugin-ok', doc('ok'));
    const valid = await drctl(['validate', ok]);
    expect(valid.exitCode, valid.stderr + valid.stdout).toBe(0);
    const pass = await drctl(['switch', ok, '--yes', '--runs-dir', runs]);
    expect(pass.exitCode, pass.stderr + pass.stdout).toBe(0);

    writeFileSync(b, JSON.stringify({ balance: 11, owner: 'x' }));
    const bad = writeRunbook(dir, 'plugin-bad', doc('bad'));
    const fail = await drctl(['switch', bad, '--yes', '--runs-dir', runs]);
    expect(fail.exitCode).toBe(1);
    expect(fail.stdout + fail.stderr).toMatch(/jsonfile check different/);

    // A typo in the step's options is reported at validate time, like a built-in kind.
    const typo = writeRunbook(dir, 'plugin-typo', {
      ...doc('typo'),
      steps: [{ id: 'gate', owner: 'SRE', check: { kind: 'jsonfile', resource: 'files', delay: 5 } }],
    });
    const v = await drctl(['validate', typo]);
    expect(v.exitCode).toBe(2);
    expect(v.stdout + v.stderr).toMatch(/delay/);
    expect(readFileSync(ok, 'utf8')).toContain('kind: jsonfile');
  });
});
