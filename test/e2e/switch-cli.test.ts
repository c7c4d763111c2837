import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/** The built CLI (`npm run build` first): bin/drctl.js switch / status / resume. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/drctl.js');

let dir: string;
beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/src/cli/main.js')))
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests');
  dir = makeTempDir('switch-e2e');
});
afterAll(() => removeDir(dir));

const drctl = (args: string[]) =>
  execa('node', [BIN, ...args], { reject: false, cwd: dir, env: { FORCE_COLOR: '0' }, stdin: 'ignore' });

describe('bin/drctl.js switch', () => {
  it(
    'runs a runbook with a failing step, reports it, and resumes after the fix',
    { timeout: 120_000 },
    async () => {
      const out = join(dir, 'out.txt');
      const flag = join(dir, 'fixed');
      const file = writeRunbook(dir, 'e2e', {
        environment: 'e2e',
        roles: { SRE: {} },
        steps: [
          { id: 'one', owner: 'SRE', run: ['sh', '-c', `echo one >> ${out}`] },
          {
            id: 'two',
            owner: 'SRE',
            needs: ['one'],
            run: [
              'sh',
              '-c',
              `test -e ${flag} && echo two >> ${out} || { echo "not fixed yet" >&2; exit 3; }`,
            ],
          },
          { id: 'three', owner: 'SRE', needs: ['two'], run: ['sh', '-c', `echo three >> ${out}`] },
        ],
      });
      const first = await drctl(['switch', file, '--yes']);
      expect(first.exitCode).toBe(1);
      expect(first.stdout).toMatch(/two failed in .*: sh exited with code 3 \(failed\)/);
      expect(first.stdout).toMatch(/\| not fixed yet/);
      expect(first.stdout).toMatch(/continue: drctl resume /);
      expect(existsSync(join(dir, '.drctl/runs'))).toBe(true);

      const status = await drctl(['status', 'latest']);
      expect(status.stdout).toMatch(/two\s+failed/);
      expect(status.stdout).toMatch(/three\s+pending/);

      (await import('node:fs')).writeFileSync(flag, '');
      const resumed = await drctl(['resume', 'latest', '--yes']);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/run again \(failed or cancelled\): two/);
      expect(readFileSync(out, 'utf8')).toBe('one\ntwo\nthree\n');
    },
  );
});
