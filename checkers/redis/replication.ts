import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** `INFO replication` as a map of its fields. */
export async function readReplicationInfo(client: Redis): Promise<Record<string, string>> {
  const text = await client.info('replication');
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export interface CatchUp {
  /** Whether the target replicates (role:slave) at all. */
  replica: boolean;
  primaryOffset?: number;
  replicaOffset?: number;
  linkStatus?: string;
  caughtUp: boolean;
  waitedMs: number;
}

/**
 * Captures the primary's replication offset and waits (up to waitMs) until the replica has
 * processed it, so replication lag is not reported as missing keys.
 */
export async function waitForReplicaOffset(
  source: Redis,
  target: Redis,
  waitMs: number,
  signal: AbortSignal,
): Promise<CatchUp> {
  const started = Date.now();
  const t = await readReplicationInfo(target);
  if (t.role !== 'slave') return { replica: false, caughtUp: true, waitedMs: 0 };
  const primaryOffset = Number((await readReplicationInfo(source)).master_repl_offset ?? NaN);
  let info = t;
  for (;;) {
    const replicaOffset = Number(info.slave_repl_offset ?? info.master_repl_offset ?? NaN);
    // A replica whose link is down (or still in its first sync) has not caught up, whatever its
    // offset says: its offset is only comparable once it streams from the primary.
    const caughtUp =
      info.master_link_status === 'up' && Number.isFinite(primaryOffset) && replicaOffset >= primaryOffset;
    const waitedMs = Date.now() - started;
    if (caughtUp || waitedMs >= waitMs || signal.aborted) {
      return {
        replica: true,
        primaryOffset,
        replicaOffset,
        linkStatus: info.master_link_status,
        caughtUp,
        waitedMs,
      };
    }
    await sleep(200);
    info = await readReplicationInfo(target);
  }
}
