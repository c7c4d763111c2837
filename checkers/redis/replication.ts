import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisSide } from './connection.js';

/** An INFO section as a map of its fields. */
export async function readInfo(side: RedisSide, section: string): Promise<Record<string, string>> {
  const text = await side.run((c) => c.info(section));
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** The logical dbs that hold keys (`INFO keyspace`: db3:keys=2,…). */
export async function nonEmptyDbs(side: RedisSide): Promise<number[]> {
  const info = await readInfo(side, 'keyspace');
  return Object.entries(info)
    .filter(([name, v]) => /^db\d+$/.test(name) && !/^keys=0,/.test(v))
    .map(([name]) => Number(name.slice(2)));
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
 * Captures the primary's replication offset now and waits (up to waitMs) until the replica has
 * processed it, so replication lag is not reported as missing keys. Ends at once on abort.
 */
export async function waitForReplicaOffset(
  source: RedisSide,
  target: RedisSide,
  waitMs: number,
  signal: AbortSignal,
): Promise<CatchUp> {
  const started = Date.now();
  const t = await readInfo(target, 'replication');
  if (t.role !== 'slave') return { replica: false, caughtUp: true, waitedMs: 0 };
  const primaryOffset = Number((await readInfo(source, 'replication')).master_repl_offset ?? NaN);
  let info = t;
  for (;;) {
    const replicaOffset = Number(info.slave_repl_offset ?? info.master_repl_offset ?? NaN);
    // A replica whose link is down (or still in its first sync) has not caught up, whatever its
    // offset says: its offset is only comparable once it streams from the primary.
    const caughtUp =
      info.master_link_status === 'up' && Number.isFinite(primaryOffset) && replicaOffset >= primaryOffset;
    const waitedMs = Date.now() - started;
    if (caughtUp || waitedMs >= waitMs) {
      return {
        replica: true,
        primaryOffset,
        replicaOffset,
        linkStatus: info.master_link_status,
        caughtUp,
        waitedMs,
      };
    }
    await sleep(Math.min(100, waitMs - waitedMs), undefined, { signal }).catch(() => undefined);
    info = await readInfo(target, 'replication'); // rejects at once when aborted
  }
}
