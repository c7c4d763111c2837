import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;
let mnt: string;

beforeAll(() => {
  dir = makeTempDir('harden-disk');
  mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  try {
    // A 64 KiB tmpfs: the smallest "disk" that still holds a run directory.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  } catch (err) {
    throw new Error(
      `this test mounts a tiny tmpfs and needs root (CAP_SYS_ADMIN): ${(err as Error).message}`,
      { cause: err },
    );
  }
});
afterAll(() => {
  execFileSync('umount', [mnt]);
  removeDir(dir);
});

describe('a full disk under the runs directory', () => {
  it(
    'stops with a clear error, records what happened, and resume continues once there is space',
    { timeout: 120_000 },
    async () => {
      const runs = join(mnt, 'runs');
      const log = join(dir, 'ran.log');
      const fill = join(mnt, 'fill');
      const file = writeRunbook(dir, 'full', {
        environment: 'full-env',
        roles: { SRE: {} },
        steps: [
          { id: 'fill', owner: 'SRE', run: ['sh', '-c', `head -c 400000 /dev/zero > ${fill}; true`] },
          { id: 'next', owner: 'SRE', needs: ['fill'], run: ['sh', '-c', `echo next >> ${log}`] },
        ],
      });
      const r = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
      expect(r.exitCode).toBe(1);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/ENOSPC/);
      expect(out).not.toMatch(/internal error|\n\s+at /);
      expect(existsSync(log)).toBe(false);
      rmSync(fill);
      const v = await runCli(['verify', 'latest', '--runs-dir', runs]);
      expect(v.exitCode, v.stdout).toBe(0);
      const s = await runCli(['status', 'latest', '--runs-dir', runs]);
      expect(s.exitCode, s.stderr).toBe(0);
      expect(s.stdout).not.toMatch(/next\s+(unknown|running)/);
      const resumed = await runCli(['resume', 'latest', '--yes', '--runs-dir', runs]);
      expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
      expect(readFileSync(log, 'utf8')).toBe('next\n');
    },
  );
});
