import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;
beforeAll(() => {
  dir = makeTempDir('harden-secrets');
});
afterAll(() => removeDir(dir));

function allText(root: string): string {
  let out = '';
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out += allText(p);
    else if (statSync(p).isFile()) out += readFileSync(p, 'utf8');
  }
  return out;
}

describe('--var secrets and shell commands', () => {
  it('--var db_password=… is masked in the console, journal, invocation.json, runbook.json and logs', async () => {
    const runs = join(dir, 'runs-pw');
    const file = writeRunbook(dir, 'pw', {
      environment: 'pw-env',
      roles: { SRE: {} },
      vars: { db_password: '' },
      steps: [
        {
          id: 'use',
          owner: 'SRE',
          run: ['sh', '-c', 'echo "using $0"; echo "err $0" >&2; exit 3', '${vars.db_password}'],
        },
      ],
    });
    const secret = 'Hunter2-Sekrit';
    const r = await runCli(['switch', file, '--yes', '--runs-dir', runs, '--var', `db_password=${secret}`]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stdout + r.stderr).toContain('***');
    const stored = allText(runs);
    expect(stored).toContain('using ***');
    expect(stored).not.toContain(secret);
    const run = listRunDirs(runs)[0]!;
    const status = await runCli(['status', run, '--runs-dir', runs]);
    expect(status.stdout + status.stderr).not.toContain(secret);
    const resume = await runCli(['resume', run, '--yes', '--runs-dir', runs]);
    expect(resume.exitCode).toBe(2);
    expect(resume.stderr).toMatch(/secret var db_password, stored masked[\s\S]*--var db_password=…/);
  });

  it('shell: true with an interpolated value holding "; touch x" does not run the injection', async () => {
    const runs = join(dir, 'runs-sh');
    const pwned = join(dir, 'pwned');
    const out = join(dir, 'echoed');
    const file = writeRunbook(dir, 'sh', {
      environment: 'sh-env',
      roles: { SRE: {} },
      vars: { target: 'x' },
      steps: [
        { id: 'var', owner: 'SRE', shell: true, run: `echo \${vars.target} >> ${out}` },
        {
          id: 'item-${svc.n}',
          foreach: [
            { n: 'a', v: 'a' },
            { n: 'b', v: `b; touch ${pwned}` },
            { n: 'c', v: `$(touch ${pwned})` },
          ],
          as: 'svc',
          owner: 'SRE',
          shell: true,
          run: `echo "svc" \${svc.v} >> ${out}`,
        },
      ],
    });
    const v = await runCli(['validate', file]);
    expect(v.exitCode, v.stderr).toBe(0);
    const r = await runCli([
      'switch',
      file,
      '--yes',
      '--runs-dir',
      runs,
      '--var',
      `target=t; touch ${pwned}`,
    ]);
    expect(existsSync(pwned)).toBe(false);
    expect(r.exitCode, r.stderr).toBe(0);
    const echoed = readFileSync(out, 'utf8');
    expect(echoed).toContain(`t; touch ${pwned}`);
    expect(echoed).toContain(`svc $(touch ${pwned})`);
  });

  it('an unclosed ${ is an error, not a literal that reaches the command', async () => {
    const file = writeRunbook(dir, 'unclosed', {
      environment: 'u-env',
      roles: { SRE: {} },
      steps: [{ id: 'a', owner: 'SRE', run: ['echo', '${env:HOME'] }],
    });
    const r = await runCli(['validate', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unclosed \$\{/);
  });
});
