import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { ensureDir } from '../journal/runs.js';

/** Who holds an environment's switch lock. */
export interface LockHolder {
  pid: number;
  host: string;
  user: string;
  since: string;
  runId: string;
  environment: string;
}

export interface HeldLock {
  path: string;
  holder: LockHolder;
  release(): void;
}

export function lockPath(runsDir: string, environment: string): string {
  return join(runsDir, '.locks', `${environment.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
}

/** true when a process with this pid runs on this host (EPERM: exists, not ours; a zombie is dead). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * Takes the one-switch-per-environment lock: a file created exclusively (O_EXCL) holding pid,
 * host, user and since. A lock left by a dead process on this host is stale and taken over; a
 * lock held from another host cannot be judged from here and is refused.
 */
export function acquireLock(runsDir: string, environment: string, runId: string): HeldLock {
  const path = lockPath(runsDir, environment);
  ensureDir(join(runsDir, '.locks'), 'the lock directory');
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    user: userInfo().username,
    since: new Date().toISOString(),
    runId,
    environment,
  };
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(holder) + '\n');
      closeSync(fd);
      return {
        path,
        holder,
        release: () => {
          const now = readHolder(path);
          if (now?.pid === holder.pid && now.runId === runId) rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const other = readHolder(path);
    if (other === undefined) {
      // Half-written by a process that died between create and write; a live writer finishes in µs.
      rmSync(path, { force: true });
      continue;
    }
    if (other.host === holder.host && !isProcessAlive(other.pid)) {
      rmSync(path, { force: true });
      continue;
    }
    throw new ConfigError(
      `environment "${environment}" is locked by another switch: run ${other.runId}, pid ${other.pid} on ${other.host}, user ${other.user}, since ${other.since}`,
      {
        hint:
          other.host === holder.host
            ? 'wait for that run to finish, or follow it with `drctl status ' + other.runId + ' --follow`'
            : `the holder is on another host; if that process is gone, remove ${path} by hand`,
      },
    );
  }
  throw new ConfigError(`could not take the lock ${path}`, {
    hint: 'another switch is starting at the same moment; try again',
  });
}
