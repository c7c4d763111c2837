import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;
let fifo: string;
beforeAll(() => {
  dir = makeTempDir('harden-reads');
  fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  writeFileSync(join(dir, 'big.txt'), 'x'.repeat(2 * 1024 * 1024));
  writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x70, 0xe4, 0x73, 0x73, 0x0a]));
});
afterAll(() => removeDir(dir));

/** Runs validate with a hard bound: a hang or a runaway read fails the test instead of the machine. */
async function validate(path: string): Promise<{ exitCode: number; stderr: string; ms: number }> {
  const t0 = Date.now();
  const r = await runCli(['validate', path]);
  return { exitCode: r.exitCode, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('bounded reads: regular files only, with a size cap', () => {
  const runbookCases: [string, () => string, RegExp][] = [
    ['/dev/zero', () => '/dev/zero', /is a device, not a regular file/],
    ['a FIFO', () => fifo, /is a FIFO \(named pipe\), not a regular file/],
    ['a directory', () => dir, /is a directory/],
    ['a file over the limit', () => writeBig(), /over the limit of 8\.0 MiB/],
    ['a file that is not UTF-8', () => join(dir, 'latin1.txt'), /is not UTF-8 text/],
  ];
  for (const [name, path, message] of runbookCases) {
    it(`drctl validate on ${name}: exit 2 at once, with a clear error`, { timeout: 60_000 }, async () => {
      const r = await validate(path());
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.ms).toBeLessThan(30_000);
    });
  }

  const fileCases: [string, () => string, RegExp][] = [
    ['/dev/zero', () => '/dev/zero', /cannot read \$\{file:\/dev\/zero\}: \/dev\/zero is a device/],
    ['a FIFO', () => fifo, /is a FIFO/],
    ['a 2 MiB file', () => join(dir, 'big.txt'), /over the limit of 1\.0 MiB/],
    ['a file that is not UTF-8', () => join(dir, 'latin1.txt'), /is not UTF-8 text/],
  ];
  for (const [name, path, message] of fileCases) {
    it(`\${file:…} on ${name}: exit 2 at once, with a clear error`, { timeout: 60_000 }, async () => {
      const file = writeRunbook(dir, `file-${name.replace(/\W+/g, '-')}`, {
        environment: 'reads',
        roles: { SRE: {} },
        steps: [{ id: 'a', owner: 'SRE', run: ['echo', `\${file:${path()}}`] }],
      });
      const r = await validate(file);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    });
  }
});

function writeBig(): string {
  const p = join(dir, 'big.yaml');
  writeFileSync(p, `# ${'x'.repeat(9 * 1024 * 1024)}\n`);
  return p;
}
