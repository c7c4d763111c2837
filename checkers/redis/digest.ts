import { createHash, type Hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisSide } from './connection.js';
import { hllRegisters } from './hll.js';

/** A key as read from one side: its type, a digest of its value and its expiry. */
export interface KeyState {
  /** Redis TYPE: string, hash, list, set, zset, stream, a module type, or none (absent). */
  type: string;
  /** What the value is, for messages: the type, or `hyperloglog` for an HLL string. */
  what: string;
  /** sha-256 of the canonical value; undefined when absent or the type is not compared. */
  digest: string | undefined;
  /** Absolute expiry in ms since the epoch (as seen from here), or -1 when the key persists. */
  expireAt: number;
  /** The key changed while it was being read (deleted, or another type): read it again. */
  unstable: boolean;
}

/** Types whose values are compared; any other type (modules) is reported as unverified. */
export const SUPPORTED_TYPES = new Set(['string', 'hash', 'list', 'set', 'zset', 'stream']);

const STREAM_PAGE = 1000;

/**
 * Reads the type, expiry and value of `keys` (Buffers: names are binary-safe) in two pipelined
 * round trips, plus a few for each stream, and digests each value canonically. Values stay
 * Buffers end to end: hash fields, set and zset members, list items and stream fields are
 * never decoded as text.
 */
export async function readKeys(side: RedisSide, keys: Buffer[]): Promise<KeyState[]> {
  if (keys.length === 0) return [];
  const head = await side.run(async (c) => {
    const p = c.pipeline();
    for (const k of keys) p.type(k).pttl(k);
    return settle(await p.exec());
  });
  const now = Date.now();
  const out: KeyState[] = keys.map((_, i) => {
    const type = head[2 * i]!.err ? 'none' : String(head[2 * i]!.value);
    const pttl = head[2 * i + 1]!.err ? -1 : Number(head[2 * i + 1]!.value);
    return { type, what: type, digest: undefined, expireAt: pttl >= 0 ? now + pttl : -1, unstable: false };
  });

  const asked: number[] = [];
  const values = await side.run(async (c) => {
    const p = c.pipeline();
    keys.forEach((k, i) => {
      if (addValueRead(p, out[i]!.type, k)) asked.push(i);
    });
    return asked.length ? settle(await p.exec()) : [];
  });
  asked.forEach((keyIndex, j) => {
    const state = out[keyIndex]!;
    const reply = values[j]!;
    if (reply.err) {
      // WRONGTYPE: the key was replaced by another type between TYPE and the read
      state.unstable = true;
      return;
    }
    const v = reply.value;
    if (v === null || (Array.isArray(v) && v.length === 0)) {
      // gone between TYPE and the read (Redis never keeps an empty collection)
      state.unstable = true;
      return;
    }
    if (state.type === 'string') {
      const registers = hllRegisters(v as Buffer);
      if (registers) {
        state.what = 'hyperloglog';
        state.digest = digestValue('hyperloglog', Buffer.from(registers));
        return;
      }
    }
    state.digest = digestValue(state.type, v);
  });

  for (let i = 0; i < keys.length; i++) {
    if (out[i]!.type !== 'stream') continue;
    const digest = await digestStream(side, keys[i]!);
    if (digest === undefined) out[i]!.unstable = true;
    else out[i]!.digest = digest;
  }
  return out;
}

function addValueRead(p: ReturnType<Redis['pipeline']>, type: string, k: Buffer): boolean {
  switch (type) {
    case 'string':
      p.getBuffer(k);
      return true;
    case 'hash':
      // HGETALL spelled upper-case so ioredis does not turn the reply into an object keyed by
      // strings, which would merge fields that are not valid UTF-8 (issue 11 item 8)
      p.callBuffer('HGETALL', k);
      return true;
    case 'list':
      p.lrangeBuffer(k, 0, -1);
      return true;
    case 'set':
      p.smembersBuffer(k);
      return true;
    case 'zset':
      p.zrangeBuffer(k, '0', '-1', 'WITHSCORES');
      return true;
    default:
      return false;
  }
}

interface Settled {
  err: Error | null;
  value: unknown;
}

/** Pipeline replies; a reply error stays per key, a lost connection rejects the whole read. */
function settle(results: [Error | null, unknown][] | null): Settled[] {
  if (!results) throw new Error('Connection is closed.');
  return results.map(([err, value]) => {
    if (err && !/^(WRONGTYPE|ERR no such key)/.test(err.message)) throw err;
    return { err, value };
  });
}

/** The canonical digest of a value as read with Buffers. Hash replies are flat [field, value, …]. */
export function digestValue(type: string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const h = createHash('sha256').update(type).update('\0');
  const add = (b: Buffer) => h.update(`${b.length}:`).update(b);
  if (type === 'string' || type === 'hyperloglog') {
    add(value as Buffer);
  } else if (type === 'hash') {
    const flat = value as Buffer[];
    if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new Error('HGETALL: expected a flat array');
    const pairs: [Buffer, Buffer][] = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
    for (const [f, v] of pairs) {
      add(f);
      add(v);
    }
  } else if (type === 'set') {
    for (const m of [...(value as Buffer[])].sort((x, y) => Buffer.compare(x, y))) add(m);
  } else {
    // list and zset (member, score pairs in score order): order is part of the value. Scores are
    // Redis's own exact text (%.17g), so -0 and 0, or two doubles 1 ULP apart, stay apart.
    for (const m of value as Buffer[]) add(m);
  }
  return h.digest('hex');
}

/**
 * A stream's digest: every entry (id, fields in their order), the stream's id counters, and each
 * consumer group with its last-delivered id, consumers (name, pending count) and pending entries
 * (id, consumer, delivery count). Idle and seen times, entries-read and lag are not compared.
 * Undefined when the key stopped being a stream while it was read.
 */
async function digestStream(side: RedisSide, key: Buffer): Promise<string | undefined> {
  const h = createHash('sha256').update('stream\0');
  const info = await side.run((c) => c.callBuffer('XINFO', 'STREAM', key)).catch(notAStream);
  if (info === undefined) return undefined;
  const fields = pairs(info as unknown[]);
  for (const name of ['length', 'last-generated-id', 'max-deleted-entry-id', 'entries-added']) {
    if (name in fields) encode(h, [name, fields[name]]);
  }
  // entries, a page at a time
  let start: Buffer | string = '-';
  for (;;) {
    const page = (await side.run((c) => c.callBuffer('XRANGE', key, start, '+', 'COUNT', STREAM_PAGE))) as [
      Buffer,
      Buffer[],
    ][];
    for (const entry of page) encode(h, entry);
    if (page.length < STREAM_PAGE) break;
    start = Buffer.concat([Buffer.from('('), page[page.length - 1]![0]]);
  }
  const groups = (await side.run((c) => c.callBuffer('XINFO', 'GROUPS', key))) as unknown[][];
  const groupInfos = groups
    .map(pairs)
    .sort((a, b) => Buffer.compare(a['name'] as Buffer, b['name'] as Buffer));
  for (const g of groupInfos) {
    const name = g['name'] as Buffer;
    // entries-read (and the lag derived from it) is not replicated by Redis 7.0: a replica shows
    // nil where its primary counts, so it is a statistic here, not data
    encode(h, ['group', name, g['last-delivered-id'], g['pending']]);
    const consumers = ((await side.run((c) => c.callBuffer('XINFO', 'CONSUMERS', key, name))) as unknown[][])
      .map(pairs)
      .sort((a, b) => Buffer.compare(a['name'] as Buffer, b['name'] as Buffer));
    for (const consumer of consumers) encode(h, ['consumer', consumer['name'], consumer['pending']]);
    let from: Buffer | string = '-';
    for (;;) {
      const pending = (await side.run((c) =>
        c.callBuffer('XPENDING', key, name, from, '+', STREAM_PAGE),
      )) as [Buffer, Buffer, number, number][];
      for (const [id, consumer, , deliveries] of pending) encode(h, ['pending', id, consumer, deliveries]);
      if (pending.length < STREAM_PAGE) break;
      from = Buffer.concat([Buffer.from('('), pending[pending.length - 1]![0]]);
    }
  }
  return h.digest('hex');
}

function notAStream(err: unknown): undefined {
  if (err instanceof Error && /WRONGTYPE|no such key/i.test(err.message)) return undefined;
  throw err;
}

/** A flat [name, value, name, value] reply as an object keyed by the (ASCII) names. */
function pairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/** Length-prefixed, tagged encoding of a reply tree, so no two different trees collide. */
function encode(h: Hash, v: unknown): void {
  if (v === null || v === undefined) h.update('n;');
  else if (Buffer.isBuffer(v)) h.update(`b${v.length}:`).update(v);
  else if (typeof v === 'string') encode(h, Buffer.from(v));
  else if (typeof v === 'number' || typeof v === 'bigint') h.update(`i${String(v)};`);
  else if (Array.isArray(v)) {
    h.update(`a${v.length}:`);
    for (const x of v) encode(h, x);
  } else h.update(`?${JSON.stringify(v)};`);
}
