import { parseRedisUrl, RedisSide } from '../../checkers/redis/connection.js';
import { readInfo } from '../../checkers/redis/replication.js';
import type { Direction } from '../runbook/schema.js';
import type { ResourceUse } from './scope.js';
import { line, type Probe, type ProbeContext, type ProbeLine } from './types.js';

/** A replica this many bytes behind its primary is a warning. */
export const REDIS_LAG_WARNING_BYTES = 1024 * 1024;

/** The config keys the app reads to pick a datacenter: they must exist before the switch. */
const CONFIG_KEY = /^bcf\.resource\.target\./;

/** What a key must hold before the switch: one of these values (the other direction's). */
export interface KeyExpectation {
  key: string;
  /** The value the direction(s) being probed set. */
  sets: string[];
  /** Acceptable values before the switch; empty: only that it exists. */
  before: string[];
  /** How to say where `before` comes from: "what the switchback sets". */
  reason: string;
}

interface RedisResource {
  url?: string | undefined;
  source?: string | undefined;
  target?: string | undefined;
}

export function redisProbes(
  use: ResourceUse,
  r: RedisResource,
  keys: KeyExpectation[],
  direction: Direction | undefined,
  state: boolean,
): Probe[] {
  const probes: Probe[] = [];
  const base = { group: use.name, kind: 'redis', direction };
  const stepsUrl = r.url ?? r.source;
  if (stepsUrl !== undefined && (use.sets.size > 0 || !use.gate)) {
    const ep = safeEndpoint(stepsUrl, 'url');
    probes.push({
      key: `redis:${use.name}:url:${stepsUrl}:${state}:${keys.map((k) => `${k.key}=${k.before.join('|')}`).join(',')}`,
      group: use.name,
      kind: 'redis',
      item: `url ${ep}`,
      resource: use.name,
      direction,
      timeoutFix: `check that redis at ${ep} is up and reachable from this host, or raise --timeout`,
      run: async (ctx) => {
        const side = await RedisSide.connect(parseRedisUrl(stepsUrl, 'url'), ctx.timeoutMs, ctx.signal);
        try {
          const out = [line(base, 'url connect', 'ok', `${side.endpoint.name} answers PING`)];
          if (state) out.push(...(await probeKeys(side, keys, base)));
          return out;
        } finally {
          side.disconnect();
        }
      },
    });
  }
  if (r.source !== undefined && r.target !== undefined && (use.gate || state)) {
    const { source, target } = r as { source: string; target: string };
    probes.push({
      key: `redis:${use.name}:replication:${source}:${target}:${state}`,
      group: use.name,
      kind: 'redis',
      item: `replica ${safeEndpoint(target, 'target')}`,
      resource: use.name,
      direction,
      timeoutFix: `check that both redis servers of ${use.name} are up and reachable, or raise --timeout`,
      run: (ctx) => probeReplication(source, target, base, { state, mainMayBeGone: use.mainMayBeGone }, ctx),
    });
  }
  return probes;
}

function safeEndpoint(url: string, label: string): string {
  try {
    return parseRedisUrl(url, label).name;
  } catch {
    return '(bad URL)';
  }
}

async function probeKeys(
  side: RedisSide,
  keys: KeyExpectation[],
  base: { group: string; kind: string; direction: Direction | undefined },
): Promise<ProbeLine[]> {
  if (keys.length === 0) return [];
  const values = await side.run((c) => c.mget(...keys.map((k) => k.key)));
  return keys.map((k, i) => {
    const v = values[i];
    const item = `key ${k.key}`;
    if (v === null || v === undefined) {
      return line(
        base,
        item,
        'fail',
        `${k.key} does not exist: the app has no value to read until the flip`,
        k.before.length > 0
          ? `SET ${k.key} ${k.before[0]} (${k.reason}) so the app reads the current side`
          : `create ${k.key} with the value the app reads today`,
      );
    }
    if (k.before.length === 0 || k.before.includes(v)) {
      return line(base, item, 'ok', `holds ${JSON.stringify(v)}`);
    }
    const already = k.sets.includes(v);
    return line(
      base,
      item,
      'fail',
      `${k.key} holds ${JSON.stringify(v)}${already ? ', the value this switch sets (already flipped?)' : ''}; expected ${k.before.map((b) => JSON.stringify(b)).join(' or ')} before the switch (${k.reason})`,
      `find who changed ${k.key}; SET ${k.key} ${k.before[0]} if the app really runs on that side`,
    );
  });
}

async function probeReplication(
  sourceUrl: string,
  targetUrl: string,
  base: { group: string; kind: string; direction: Direction | undefined },
  { state, mainMayBeGone }: { state: boolean; mainMayBeGone: boolean },
  ctx: ProbeContext,
): Promise<ProbeLine[]> {
  const [s, t] = await Promise.allSettled([
    RedisSide.connect(parseRedisUrl(sourceUrl, 'source'), ctx.timeoutMs, ctx.signal),
    RedisSide.connect(parseRedisUrl(targetUrl, 'target'), ctx.timeoutMs, ctx.signal),
  ]);
  const out: ProbeLine[] = [];
  try {
    for (const [label, r] of [
      ['source', s],
      ['target', t],
    ] as const) {
      if (r.status === 'rejected') {
        const e = r.reason as { message?: string; hint?: string };
        out.push(
          line(base, `${label} connect`, 'fail', e.message ?? String(r.reason), e.hint ?? 'check the URL'),
        );
      } else out.push(line(base, `${label} connect`, 'ok', `${r.value.endpoint.name} answers PING`));
    }
    if (s.status !== 'fulfilled' || t.status !== 'fulfilled' || !state) return out;
    const [src, dst] = await Promise.all([
      readInfo(s.value, 'replication'),
      readInfo(t.value, 'replication'),
    ]);
    const who = t.value.endpoint.name;
    if (dst['role'] !== 'slave') {
      out.push(
        line(
          base,
          'replica link',
          'fail',
          `the DR copy ${who} is not a replica (role:${dst['role'] ?? '?'})`,
          `REPLICAOF ${s.value.endpoint.name
            .replace(/^.*@/, '')
            .replace(':', ' ')
            .replace(/\/\d+$/, '')} on ${who}`,
        ),
      );
      return out;
    }
    if (dst['master_link_status'] !== 'up') {
      const down = dst['master_link_down_since_seconds'];
      // Unplanned: Main may be gone, and its link with it; the gates judge the data.
      out.push(
        line(
          base,
          'replica link',
          mainMayBeGone ? 'warning' : 'fail',
          `the DR replica ${who} has its link to ${dst['master_host']}:${dst['master_port']} ${dst['master_link_status'] ?? 'down'}${down && down !== '-1' ? ` for ${down}s` : ''}`,
          `check the network and auth from ${who} to its primary (INFO replication, the redis log); REPLICAOF again if it was reset`,
        ),
      );
      return out;
    }
    const lag = Number(src['master_repl_offset'] ?? 0) - Number(dst['slave_repl_offset'] ?? 0);
    out.push(
      lag > REDIS_LAG_WARNING_BYTES
        ? line(
            base,
            'replica link',
            'warning',
            `link up, ${lag} bytes behind the primary`,
            'find why the replica lags (network, a big key); the gate will wait for it',
          )
        : line(base, 'replica link', 'ok', `link up, offset lag ${Math.max(0, lag)} bytes`),
    );
    return out;
  } finally {
    if (s.status === 'fulfilled') s.value.disconnect();
    if (t.status === 'fulfilled') t.value.disconnect();
  }
}

export { CONFIG_KEY };
