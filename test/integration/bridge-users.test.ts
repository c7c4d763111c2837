import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { readUsers, verifyPassword } from '../../src/engine/users.js';
import { makeTempDir, removeDir } from '../harness/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = makeTempDir('bridge-users');
const file = join(dir, 'users.yaml');
afterAll(() => removeDir(dir));

const drctl = (args: string[], input?: string) =>
  execa('node', ['--import', 'tsx', join(ROOT, 'test/fixtures/drctl-cli.ts'), ...args, '--users', file], {
    cwd: ROOT,
    reject: false,
    env: { NODE_ENV: 'test', FORCE_COLOR: '0' },
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });

describe('drctl users', () => {
  it(
    'add (password from stdin, scrypt hash, file 0600), list (no hashes), remove',
    { timeout: 90_000 },
    async () => {
      const add = await drctl(
        ['users', 'add', 'alice', '--roles', 'QA,PM', '--password-stdin'],
        'correct horse battery\n',
      );
      expect(add.exitCode, String(add.stderr)).toBe(0);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('correct horse');
      const alice = readUsers(file).get('alice')!;
      expect(alice.roles).toEqual(['QA', 'PM']);
      expect(await verifyPassword('correct horse battery', alice.password)).toBe(true);
      expect(await verifyPassword('correct horse batterY', alice.password)).toBe(false);
      const noStdin = await drctl(['users', 'add', 'bob', '--roles', 'QA']);
      expect(noStdin.exitCode).toBe(2);
      expect(String(noStdin.stderr)).toMatch(/read from stdin only/);
      const list = await drctl(['users', 'list']);
      expect(String(list.stdout)).toMatch(/alice\s+QA, PM/);
      expect(String(list.stdout)).not.toContain('scrypt');
      const rm = await drctl(['users', 'remove', 'alice']);
      expect(rm.exitCode).toBe(0);
      expect(readUsers(file).size).toBe(0);
      expect((await drctl(['users', 'remove', 'alice'])).exitCode).toBe(2);
    },
  );
});
