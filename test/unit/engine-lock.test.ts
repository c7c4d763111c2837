import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, lockDir, lockPath } from '../../src/engine/lock.js';
import { DrctlError } from '../../src/errors.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let base: string;
let saved: string | undefined;
beforeEach(() => {
  base = makeTempDir('lock-unit');
  saved = process.env.DRCTL_LOCK_DIR;
  process.env.DRCTL_LOCK_DIR = join(base, 'locks');
});
afterEach(() => {
  process.env.DRCTL_LOCK_DIR = saved;
  removeDir(base);
});

const holder = (over: Record<string, unknown>) =>
  JSON.stringify({
    pid: process.pid,
    host: hostname(),
    user: 'alice',
    since: '2026-11-22T01:00:00.000Z',
    runId: 'other-run',
    environment: 'prod',
    ...over,
  });

function refusal(fn: () => unknown): DrctlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DrctlError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('host lock', () => {
  it('lives in DRCTL_LOCK_DIR, else in one host-wide directory that depends on nobody', () => {
    expect(lockDir()).toBe(join(base, 'locks'));
    delete process.env.DRCTL_LOCK_DIR;
    const home = process.env.HOME;
    process.env.HOME = '/nonexistent-home';
    try {
      expect(lockDir()).toMatch(/^(\/run\/lock\/drctl|\/var\/lock\/drctl|.*\/drctl-locks)$/);
    } finally {
      process.env.HOME = home;
    }
  });

  it('creates the directory for every operator, a lock file every operator can read, and releases only its own', () => {
    const lock = acquireLock('prod/eu 1', 'run-1', '/srv/runs');
    expect(lock.path).toBe(join(base, 'locks', 'prod_eu_1.lock'));
    expect(statSync(join(base, 'locks')).mode & 0o777).toBe(0o777);
    expect(statSync(lock.path).mode & 0o777).toBe(0o644);
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
      runId: 'run-1',
      runsDir: '/srv/runs',
    });
    // Replaced behind our back (e.g. taken over by hand): release leaves the other one alone.
    writeFileSync(lock.path, holder({ runId: 'someone-else' }));
    lock.release();
    expect(existsSync(lock.path)).toBe(true);
    expect(readdirSync(join(base, 'locks'))).toEqual(['prod_eu_1.lock']);
  });

  it('refuses while a live holder of this host has it, naming who, where, since and how to follow', () => {
    const first = acquireLock('prod', 'run-1', '/srv/a');
    const err = refusal(() => acquireLock('prod', 'run-2', '/srv/b'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`environment "prod" is locked by another switch: run run-1, user`);
    expect(err.message).toContain(`on ${hostname()}, pid ${process.pid}, since 20`);
    expect(err.hint).toContain('drctl status run-1 --runs-dir /srv/a --follow');
    first.release();
    expect(existsSync(lockPath('prod'))).toBe(false);
    acquireLock('prod', 'run-2').release();
  });

  it('takes over the lock of a dead pid (with a note) and an unreadable one; never judges another host', () => {
    const path = lockPath('prod');
    acquireLock('warmup', 'x').release();
    writeFileSync(path, holder({ pid: 2 ** 22 - 1 }));
    const taken = acquireLock('prod', 'run-3');
    expect(taken.tookOver).toMatch(/run other-run, user alice on .*, pid 4194303, since .*no longer runs/);
    taken.release();

    writeFileSync(path, '{"pid": 12');
    const fromTorn = acquireLock('prod', 'run-4');
    expect(fromTorn.tookOver).toBe('an unreadable lock file');
    fromTorn.release();

    writeFileSync(path, holder({ pid: 2 ** 22 - 1, host: 'other-bastion' }));
    const err = refusal(() => acquireLock('prod', 'run-5'));
    expect(err.message).toContain('on other-bastion');
    expect(err.hint).toContain(`remove ${path} by hand`);
    expect(readdirSync(join(base, 'locks')).sort()).toEqual(['prod.lock']);
  });
});
