import type { Redis } from 'ioredis';
import { mulberry32 } from './prng.js';

/**
 * Redis values as plain data for tests: written to a server, mutated, and compared by an
 * oracle that is independent of the checker (no digest, no server reply formatting).
 */
export type Value =
  | { type: 'string'; v: Buffer }
  | { type: 'list'; v: Buffer[] }
  | { type: 'set'; v: Buffer[] }
  | { type: 'zset'; v: [Buffer, string][] }
  | { type: 'hash'; v: [Buffer, Buffer][] };

const CHUNK = 500;

/** Writes `value` at `key` (the key must not exist). Sets, hashes and zsets in the given order. */
export async function writeValue(c: Redis, key: Buffer, value: Value): Promise<void> {
  switch (value.type) {
    case 'string':
      await c.set(key, value.v);
      return;
    case 'list':
      for (let i = 0; i < value.v.length; i += CHUNK) await c.rpush(key, ...value.v.slice(i, i + CHUNK));
      return;
    case 'set':
      for (let i = 0; i < value.v.length; i += CHUNK) await c.sadd(key, ...value.v.slice(i, i + CHUNK));
      return;
    case 'zset':
      for (let i = 0; i < value.v.length; i += CHUNK)
        await c.zadd(key, ...value.v.slice(i, i + CHUNK).flatMap(([m, s]) => [s, m]));
      return;
    case 'hash':
      for (let i = 0; i < value.v.length; i += CHUNK)
        await c.hset(key, ...value.v.slice(i, i + CHUNK).flatMap(([f, v]) => [f, v]));
      return;
  }
}

/** Whether two values hold the same data, as Redis defines it (set/hash order is not data). */
export function sameData(a: Value | undefined, b: Value | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type !== b.type) return false;
  return canonical(a) === canonical(b);
}

function canonical(x: Value): string {
  const hex = (b: Buffer) => b.toString('hex');
  switch (x.type) {
    case 'string':
      return hex(x.v);
    case 'list':
      return x.v.map(hex).join(',');
    case 'set':
      return [...new Set(x.v.map(hex))].sort().join(',');
    case 'hash': {
      const m = new Map<string, string>();
      for (const [f, v] of x.v) m.set(hex(f), hex(v)); // a later HSET of a field wins
      return [...m.entries()]
        .sort()
        .map(([f, v]) => `${f}=${v}`)
        .join(',');
    }
    case 'zset': {
      const m = new Map<string, number>();
      for (const [member, score] of x.v) m.set(hex(member), Number(score));
      // Redis answers 0 for a score written as -0 (ZSCORE, ZRANGE): no client can tell them apart
      return [...m.entries()]
        .sort()
        .map(([k, s]) => `${k}=${String(s)}`)
        .join(',');
    }
  }
}

/** The next double above `x` (1 ULP), as the shortest text that parses back to it. */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const f = new Float64Array([x]);
  const bits = new BigInt64Array(f.buffer);
  bits[0] = bits[0]! + (x > 0 ? 1n : -1n);
  return f[0]!;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same data on every run. */
export function prng(seed: number): { int: (n: number) => number; pick: <T>(xs: readonly T[]) => T } {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  return { int, pick: (xs) => xs[int(xs.length)]! };
}

/** Waits until `replica` reports a live link and has the primary's current offset. */
export async function waitForReplica(primary: Redis, replica: Redis, timeoutMs = 20_000): Promise<void> {
  const field = (text: string, name: string) => new RegExp(`${name}:(\\S+)`).exec(text)?.[1];
  const target = Number(field(await primary.info('replication'), 'master_repl_offset'));
  const until = Date.now() + timeoutMs;
  for (;;) {
    const info = await replica.info('replication');
    if (field(info, 'master_link_status') === 'up' && Number(field(info, 'slave_repl_offset')) >= target)
      return;
    if (Date.now() > until) throw new Error(`replica did not catch up within ${timeoutMs} ms: ${info}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
