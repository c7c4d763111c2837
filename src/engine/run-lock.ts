import { hostname, userInfo } from 'node:os';
import type { JournalEventBody } from '../journal/events.js';
import type { Runbook } from '../runbook/schema.js';
import { acquireLock, type HeldLock } from './lock.js';
import type { RedisLock } from './redis-lock.js';

/** What the executor needs of the lock: events to journal, and a check before each step. */
export interface LockGuard {
  /** `lock-acquired` events, journaled right after run-started/run-resumed. */
  readonly acquired: JournalEventBody[];
  /** undefined while every lock is still ours; else why not (then no step may start). */
  check(): Promise<string | undefined>;
}

/** The locks of one switch or resume: the host lock, and the runbook's shared lock if it names one. */
export interface RunLock extends LockGuard {
  readonly host: HeldLock;
  readonly shared: RedisLock | undefined;
  /** Notes for the operator (a stale lock taken over). */
  readonly notes: string[];
  release(): Promise<void>;
}

/**
 * Takes the host lock, then the shared lock (if any); throws (exit 2) naming the holder when
 * either is held, and releases the host lock again when the shared one cannot be taken.
 */
export async function acquireRunLock(runbook: Runbook, runId: string, runsDir: string): Promise<RunLock> {
  const host = acquireLock(runbook.environment, runId, runsDir);
  let shared: RedisLock | undefined;
  try {
    if (runbook.lock) {
      // ioredis is loaded only by a runbook that names a shared lock.
      const { RedisLock } = await import('./redis-lock.js');
      shared = await RedisLock.acquire(runbook.lock, {
        ...host.holder,
        host: hostname(),
        user: userInfo().username,
      });
    }
  } catch (err) {
    host.release();
    throw err;
  }
  const acquired: JournalEventBody[] = [
    {
      type: 'lock-acquired',
      scope: 'host',
      where: `${host.path} on ${host.holder.host}`,
      ...(host.tookOver === undefined ? {} : { tookOver: host.tookOver }),
    },
  ];
  if (shared) {
    acquired.push({
      type: 'lock-acquired',
      scope: 'redis',
      where: shared.where,
      key: shared.config.key,
      token: shared.token,
      ttlMs: shared.config.ttlMs,
    });
  }
  const notes = host.tookOver === undefined ? [] : [`took over the lock of ${host.tookOver}`];
  return {
    host,
    shared,
    acquired,
    notes,
    check: async () => (shared ? shared.check() : undefined),
    release: async () => {
      try {
        await shared?.release();
      } finally {
        host.release();
      }
    },
  };
}
