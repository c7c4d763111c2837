import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
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
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `${server.name} exited during startup (code ${server.child.exitCode}, signal ${server.child.signalCode}); log tail:\n${server.logTail()}`,
      );
    }
    try {
      if (await probe()) return;
    } catch {
      /* not ready yet */
    }
    await sleep(100);
  }
  throw new Error(`${server.name} not ready after ${timeoutMs} ms; log tail:\n${server.logTail()}`);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
