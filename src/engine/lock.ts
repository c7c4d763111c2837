import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { accessSync, constants } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/** Who holds an environment's switch lock. */
export interface LockHolder {
  pid: number;
  host: string;
  user: string;
  since: string;
  runId: string;
  environment: string;
  /** The holder's runs dir, so that another operator can follow the run. */
  runsDir?: string | undefined;
}

export interface HeldLock {
  path: string;
  holder: LockHolder;
  /** The dead holder whose lock was taken over, described for the operator and the journal. */
  tookOver?: string | undefined;
  release(): void;
}

/**
 * Where host locks live: $DRCTL_LOCK_DIR, else /run/lock/drctl (tmpfs, emptied at boot, which
 * is right: a reboot ends every holder), else <tmpdir>/drctl-locks. Every operator on the host
 * must resolve the same directory, so the default depends on nothing personal (not $HOME, not
 * $XDG_RUNTIME_DIR, not the working directory).
 */
export function lockDir(): string {
  const fromEnv = process.env.DRCTL_LOCK_DIR;
  if (fromEnv) return fromEnv;
  for (const base of ['/run/lock', '/var/lock']) {
    try {
      accessSync(base, constants.W_OK | constants.X_OK);
      return join(base, 'drctl');
    } catch {
      // not on this system, or not writable: next
    }
  }
  return join(tmpdir(), 'drctl-locks');
}

/** The host lock file of an environment. */
export function lockPath(environment: string, dir: string = lockDir()): string {
  return join(dir, `${environment.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
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

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

function readHolder(path: string): LockHolder | undefined {
  const text = readFileOrUndefined(path);
  return text === undefined ? undefined : parseHolder(text);
}

/**
 * The lock directory, created world-writable (mode 0777, no sticky bit) when it does not exist,
 * so that operator B can take over the stale lock of operator A's dead drctl. An existing
 * directory is used as it is: an administrator may create it with a group (e.g. 2770 drctl).
 */
function ensureLockDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      throw new ConfigError(`the lock directory ${dir} is not a directory`, {
        hint: 'set DRCTL_LOCK_DIR to a directory every operator of this host can write',
      });
    return;
  }
  try {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new ConfigError(`cannot create the lock directory ${dir}: ${(err as Error).message}`, {
      hint: 'set DRCTL_LOCK_DIR to a directory every operator of this host can write',
    });
  }
}

export function describeHolder(h: LockHolder): string {
  return `run ${h.runId}, user ${h.user} on ${h.host}, pid ${h.pid}, since ${h.since}`;
}

/**
 * Takes the one-switch-per-environment lock of this host: a complete file linked into place
 * (link(2) is atomic and fails if the name exists, so nobody ever reads a half-written lock).
 * A lock whose holder is a dead process of this host is stale and taken over, under a short
 * takeover guard so that two takers cannot both win. A lock from another host (a shared lock
 * directory) cannot be judged from here and is refused.
 */
export function acquireLock(environment: string, runId: string, runsDir?: string): HeldLock {
  const dir = lockDir();
  ensureLockDir(dir);
  const path = lockPath(environment, dir);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    user: userInfo().username,
    since: new Date().toISOString(),
    runId,
    environment,
    ...(runsDir === undefined ? {} : { runsDir }),
  };
  const content = JSON.stringify(holder) + '\n';
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileMode(tmp, content, 0o644);
  let tookOver: string | undefined;
  try {
    for (let tries = 0; tries < 5; tries++) {
      try {
        linkSync(tmp, path);
        return held(path, holder, tookOver);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw lockIoError(path, err);
      }
      const judged = readFileOrUndefined(path);
      if (judged === undefined) continue; // released meanwhile: link again
      const other = parseHolder(judged);
      if (other !== undefined && !(other.host === holder.host && !isProcessAlive(other.pid))) {
        throw refusal(environment, path, other, holder.host);
      }
      // Stale (a dead pid of this host) or unreadable: replace it, if it is still what we judged.
      const replaced = withTakeoverGuard(path, () => {
        const now = readFileOrUndefined(path);
        if (now !== undefined && now !== judged) return false;
        renameSync(tmp, path);
        return true;
      });
      if (replaced) {
        tookOver =
          other === undefined
            ? `an unreadable lock file`
            : `${describeHolder(other)} (pid ${other.pid} no longer runs)`;
        return held(path, holder, tookOver);
      }
    }
    throw new ConfigError(`could not take the lock ${path}`, {
      hint: 'another switch is starting at the same moment; try again',
    });
  } finally {
    rmSync(tmp, { force: true });
  }
}

function held(path: string, holder: LockHolder, tookOver: string | undefined): HeldLock {
  return {
    path,
    holder,
    tookOver,
    release: () => {
      const now = readHolder(path);
      if (now?.pid === holder.pid && now.runId === holder.runId && now.host === holder.host)
        rmSync(path, { force: true });
    },
  };
}

function refusal(environment: string, path: string, other: LockHolder, here: string): ConfigError {
  const follow = `drctl status ${other.runId}${other.runsDir ? ` --runs-dir ${other.runsDir}` : ''} --follow`;
  return new ConfigError(
    `environment "${environment}" is locked by another switch: ${describeHolder(other)} (lock ${path})`,
    {
      hint:
        other.host === here
          ? `one switch per environment at a time: wait for that run to end, or follow it with \`${follow}\``
          : `the holder is on another host; if that drctl is gone, remove ${path} by hand`,
    },
  );
}

/**
 * Runs `fn` while holding `<path>.takeover` (created exclusively). A guard left by a process that
 * died in these few microseconds is removed once its pid is dead.
 */
function withTakeoverGuard(path: string, fn: () => boolean): boolean {
  const guard = `${path}.takeover`;
  for (let tries = 0; tries < 50; tries++) {
    let fd: number;
    try {
      fd = openSync(guard, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw lockIoError(guard, err);
      const pid = Number(readFileOrUndefined(guard));
      if (Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid)) rmSync(guard, { force: true });
      else sleepSync(10);
      continue;
    }
    try {
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return fn();
    } finally {
      rmSync(guard, { force: true });
    }
  }
  return false;
}

function writeFileMode(path: string, content: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    throw lockIoError(path, err);
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  // The umask may have narrowed the mode: other operators must read who holds the lock.
  chmodSync(path, mode);
}

function readFileOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function lockIoError(path: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return new ConfigError(`cannot write the lock ${path} (${code}): ${(err as Error).message}`, {
    hint: 'set DRCTL_LOCK_DIR to a directory every operator of this host can write',
  });
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
