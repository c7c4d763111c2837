import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/** Issue 14 items 13, 14, 15 through the CLI: clear exit-2 errors, no stack traces. */
let dir: string;
let ro: string;
let garbage: Server;
let garbagePort: number;
let closedPort: number;

const NO_STACK = /internal error|\n\s+at |RangeError|Please report|Unknown RESP/;

beforeAll(async () => {
  dir = makeTempDir('harden-loader');
  ro = join(dir, 'ro');
  mkdirSync(ro);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
  } catch (err) {
    throw new Error(
      `this test mounts a read-only tmpfs and needs root (CAP_SYS_ADMIN): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  // Something that is not Redis: answers every request with bytes that are not RESP.
  garbage = createServer((c) => {
    c.on('error', () => undefined);
    c.on('data', () => c.write('\x00\x01not redis\r\n'));
  });
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
  garbagePort = (garbage.address() as AddressInfo).port;
  // A port nothing listens on: bound, then closed.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
});
afterAll(async () => {
  await new Promise((r) => garbage.close(r));
  execFileSync('umount', [ro]);
  removeDir(dir);
});

describe('runbooks refused with a clear error (exit 2)', () => {
  it(
    'block nesting 2,000 deep: names the limit and the file, no RangeError',
    { timeout: 60_000 },
    async () => {
      const lines = [
        'apiVersion: drctl/v1',
        'kind: Runbook',
        'name: deep',
        'roles: { SRE: {} }',
        'vars:',
        '  v:',
      ];
      for (let i = 0; i < 2000; i++) lines.push(`${'  '.repeat(i + 2)}a:`);
      lines[lines.length - 1] += ' 1';
      lines.push('steps:', '  - { id: a, owner: SRE, run: [echo] }');
      const file = join(dir, 'deep.yaml');
      writeFileSync(file, lines.join('\n') + '\n');
      for (const cmd of ['validate', 'plan']) {
        const r = await runCli([cmd, file]);
        expect(r.exitCode, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/deep\.yaml:\d+:\d+ nested more than 64 levels deep \(the limit\)/);
        expect(r.stderr).not.toMatch(NO_STACK);
      }
    },
  );

  it(
    '`steps: []` is refused by validate and switch: "runbook has no steps"',
    { timeout: 60_000 },
    async () => {
      const file = writeRunbook(dir, 'empty', { environment: 'empty-env', roles: { SRE: {} }, steps: [] });
      for (const args of [
        ['validate', file],
        ['switch', file, '--yes', '--runs-dir', join(dir, 'runs')],
      ]) {
        const r = await runCli(args);
        expect(r.exitCode, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/empty\.yaml:\d+:\d+ steps: runbook has no steps/);
      }
    },
  );
});

describe('a runs directory on a read-only file system', () => {
  it('switch: exit 2 "the file system is read-only", naming the path', { timeout: 60_000 }, async () => {
    const file = writeRunbook(dir, 'ro-run', {
      environment: 'ro-env',
      roles: { SRE: {} },
      steps: [{ id: 'a', owner: 'SRE', run: ['true'] }],
    });
    for (const runs of [ro, join(ro, 'sub', 'runs')]) {
      const r = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
      expect(r.exitCode, r.stderr).toBe(2);
      // The lock lives in the host's lock directory now; the run directory is the first write.
      expect(r.stderr).toMatch(/cannot create the runs directory \S+: the file system is read-only/);
      expect(r.stderr).toContain(runs);
      expect(r.stderr).not.toMatch(/ENOENT/);
      expect(r.stderr).not.toMatch(NO_STACK);
    }
  });
});

describe('redis errors name the cause (issue 14 item 15)', () => {
  it(
    'a redis step against a refused port and against a server that is not Redis',
    { timeout: 60_000 },
    async () => {
      const file = writeRunbook(dir, 'redis-bad', {
        environment: 'redis-bad-env',
        roles: { SRE: {} },
        resources: {
          refused: { kind: 'redis', url: `redis://127.0.0.1:${closedPort}` },
          other: { kind: 'redis', url: `redis://127.0.0.1:${garbagePort}` },
        },
        steps: [
          {
            id: 'a',
            owner: 'SRE',
            timeout: '20s',
            onFailure: 'continue',
            redis: { resource: 'refused', get: 'k' },
          },
          {
            id: 'b',
            owner: 'SRE',
            timeout: '20s',
            onFailure: 'continue',
            redis: { resource: 'other', get: 'k' },
          },
        ],
      });
      // The steps themselves must meet the bad servers: the preflight would refuse first.
      const r = await runCli([
        'switch',
        file,
        '--yes',
        '--runs-dir',
        join(dir, 'runs'),
        '--skip-preflight',
        '--reason',
        'test: the redis step meets the bad servers',
      ]);
      expect(r.exitCode, r.stderr).toBe(1);
      const out = r.stdout + r.stderr;
      expect(out).toContain(`a failed in`);
      expect(out).toMatch(
        new RegExp(
          `redis on refused failed: cannot connect to 127\\.0\\.0\\.1:${closedPort}: connection refused`,
        ),
      );
      expect(out).toMatch(
        new RegExp(`redis on other failed: 127\\.0\\.0\\.1:${garbagePort} does not speak the Redis protocol`),
      );
      expect(out).not.toMatch(/Connection is closed/);
      expect(out).not.toMatch(NO_STACK);
    },
  );

  it('check redis against a refused port: exit 2 "connection refused"', { timeout: 60_000 }, async () => {
    const r = await runCli([
      'check',
      'redis',
      '--source',
      `redis://127.0.0.1:${closedPort}`,
      '--target',
      `redis://127.0.0.1:${garbagePort}`,
    ]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `127.0.0.1:${closedPort}: cannot connect (connection refused: nothing listens there)`,
    );
    expect(r.stderr).not.toMatch(/closed the connection without answering/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });
});

describe('attempts across a resume (issue 14 item 15)', () => {
  it(
    'a step that failed, then succeeded on resume, shows 2 attempts in status and report',
    { timeout: 120_000 },
    async () => {
      const runs = join(dir, 'runs-attempts');
      const marker = join(dir, 'attempted-once');
      const file = writeRunbook(dir, 'attempts', {
        environment: 'attempts-env',
        roles: { SRE: {} },
        steps: [
          { id: 'a', owner: 'SRE', run: ['sh', '-c', `[ -e ${marker} ] || { touch ${marker}; exit 3; }`] },
        ],
      });
      const first = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
      expect(first.exitCode, first.stderr).toBe(1);
      const resumed = await runCli(['resume', 'latest', '--yes', '--runs-dir', runs]);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      const status = await runCli(['status', 'latest', '--json', '--runs-dir', runs]);
      expect(JSON.parse(status.stdout)).toMatchObject({
        steps: [expect.objectContaining({ id: 'a', attempts: 2 })],
      });
      const csv = await runCli(['report', 'latest', '--format', 'csv', '--runs-dir', runs]);
      const [head, row] = csv.stdout.trim().split('\n');
      expect(row!.split(',')[head!.split(',').indexOf('attempts')]).toBe('2');
    },
  );
});
