import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Shared pieces of the test harness: free loopback ports, temp dirs, and servers started as
 * child processes that are waited for (watching for early exit) and stopped by their own PID.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A port from freePort() is only free when it is returned: a server that binds it seconds later
 * can find it taken by another test's server (the tests run in parallel), and a readiness probe
 * would then talk to that one. Server starts therefore prove the listener is theirs
 * (`listensOn`) and, when the port was taken, start again on a new one (`onFreePort`).
 */
const PORT_TAKEN =
  /address already in use|EADDRINUSE|BindException|failed to bind|port \d+ is held by another process/i;

export async function onFreePort<T>(
  what: string,
  start: (port: number) => Promise<T>,
  firstPort?: number,
  attempts = 4,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = attempt === 1 && firstPort !== undefined ? firstPort : await freePort();
    try {
      return await start(port);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (attempt >= attempts || !PORT_TAKEN.test(message)) throw err;
      process.stderr.write(`${what}: port ${port} was taken before the server bound it; trying another\n`);
    }
  }
}

/** Inodes of the sockets listening on `port` (any local address), from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address:port, f[3] state (0A = LISTEN), f[9] inode
      if (f.length > 9 && f[3] === '0A' && f[1]!.endsWith(`:${hex}`)) inodes.add(f[9]!);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean | 'unknown' {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    // Another user's process (not root): its sockets cannot be seen.
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'unknown' : false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

/**
 * Whether the socket listening on `port` belongs to process `pid` or a member of its process
 * group (a launcher script whose JVM does the listening). Reads /proc; the harness runs on Linux.
 */
export function listensOn(pid: number, port: number): boolean | 'unknown' {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return false;
  let seen = holdsSocket(pid, inodes);
  if (seen === true) return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pgrp is the 3rd field after the parenthesised command name
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== pid) continue;
      const held = holdsSocket(Number(entry), inodes);
      if (held === true) return true;
      if (held === 'unknown') seen = 'unknown';
    } catch {
      /* gone meanwhile */
    }
  }
  return seen;
}

/**
 * Throws a PORT_TAKEN error when `port` is listened on, and not by `pid` (or its group) as far
 * as /proc shows (a group member whose sockets cannot be seen gives it the benefit of the doubt).
 */
export function assertOwnPort(what: string, pid: number, port: number): void {
  if (listeningInodes(port).size > 0 && listensOn(pid, port) === false)
    throw new Error(`${what}: port ${port} is held by another process, not by pid ${pid}`);
}

export function makeTempDir(prefix: string): string {
  const base = process.env.DRCTL_LAB_DIR ?? tmpdir();
  return mkdtempSync(join(base, `drctl-${prefix}-`));
}

/** Fails loudly with the install command when a server binary is missing. Nothing is skipped. */
export function requireBinary(path: string, install: string): void {
  if (!existsSync(path)) {
    throw new Error(`${path} is not installed; install it with: ${install}`);
  }
}

export interface ServerProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  logTail(lines?: number): string;
}

export function tailFile(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts a long-running server with stdout/stderr to a log file. */
export function startServer(
  name: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string; uid?: number; gid?: number },
): ServerProcess {
  const out = openSync(options.logFile, 'a');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', out, out],
    detached: true,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    child,
    logFile: options.logFile,
    logTail: (n = 30) => tailFile(options.logFile, n),
    async stop(signal = 'SIGTERM', graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // The child is unref'd so it never holds a test process open; while we wait for it to
      // exit it must be ref'd, or Node sees nothing to wait for and exits mid-await.
      child.ref();
      child.kill(signal);
      const timedOut = await Promise.race([
        exited.then(() => false),
        sleep(graceMs, undefined, { ref: false }).then(() => true),
      ]);
      if (timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * Polls `probe` until it resolves true; throws with the server's log tail when the process
 * exits first or the deadline passes.
 */
export async function waitUntilReady(
  server: ServerProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  port?: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `${server.name} exited during startup (code ${server.child.exitCode}, signal ${server.child.signalCode}); log tail:\n${server.logTail()}`,
      );
    }
    // Another process listening on our port: ours can never bind it, and the probe would reach
    // that one. Fail now (onFreePort starts again on a new port) instead of at the deadline.
    if (port !== undefined) assertOwnPort(server.name, server.child.pid!, port);
    let ready = false;
    try {
      ready = await probe();
    } catch {
      /* not ready yet */
    }
    if (ready && (port === undefined || listensOn(server.child.pid!, port) !== false)) return;
    await sleep(100);
  }
  throw new Error(`${server.name} not ready after ${timeoutMs} ms; log tail:\n${server.logTail()}`);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
