import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;
let file: string;
beforeAll(() => {
  dir = makeTempDir('harden-errors');
  file = writeRunbook(dir, 'errs', {
    environment: 'errs-env',
    roles: { SRE: {} },
    steps: Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, owner: 'SRE', run: ['true'] })),
  });
});
afterAll(() => removeDir(dir));

describe('clear errors instead of stack traces', () => {
  it('--runs-dir pointing at a file: exit 2 naming the path', async () => {
    const notDir = join(dir, 'a-file');
    writeFileSync(notDir, '');
    const r = await runCli(['switch', file, '--yes', '--runs-dir', notDir]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /cannot create the (lock|runs) directory .*a-file.*: a part of the path is a file/,
    );
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it(
    'drctl status … | a reader that leaves early (EPIPE): no stack, exit 0',
    { timeout: 120_000 },
    async () => {
      const runs = join(dir, 'runs');
      const ok = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
      expect(ok.exitCode, ok.stderr).toBe(0);
      const bin = join(process.cwd(), 'bin/drctl.js');
      for (const args of [
        `status latest --runs-dir ${runs}`,
        `report latest --format md --runs-dir ${runs}`,
      ]) {
        // `true` exits without reading: every write of drctl meets a closed pipe.
        const out = execFileSync(
          'bash',
          ['-c', `node ${bin} ${args} 2>${dir}/err | true; echo "rc=\${PIPESTATUS[0]}"; cat ${dir}/err`],
          { encoding: 'utf8' },
        );
        expect(out, args).toMatch(/^rc=0\n/);
        expect(out, args).not.toMatch(/EPIPE|internal error|\n\s+at /);
      }
    },
  );
});
