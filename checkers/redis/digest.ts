import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A key's type and a digest of its value that does not depend on internal encoding. */
export interface KeyDigest {
  type: string;
  /** sha-256 of the canonical value; undefined when the key is absent or the type is unsupported. */
  digest: string | undefined;
  /** True when the key has an expiry (PTTL >= 0). */
  expires: boolean;
}

export const SUPPORTED_TYPES = new Set(['string', 'hash', 'list', 'set', 'zset']);

/**
 * Reads the type, value and TTL of `keys` in two pipelined round trips and digests each value
 * canonically: hashes and sets are sorted (their order is not data), lists and sorted sets keep
 * theirs. Every element is length-prefixed, so no two different values share an encoding.
 */
export async function digestKeys(client: Redis, keys: Buffer[]): Promise<KeyDigest[]> {
  const typePipe = client.pipeline();
  for (const k of keys) typePipe.type(k).pttl(k);
  const typeReplies = await execPipeline(typePipe);
  const types: string[] = [];
  const expires: boolean[] = [];
  for (let i = 0; i < keys.length; i++) {
    types.push(String(typeReplies[2 * i]));
    expires.push(Number(typeReplies[2 * i + 1]) >= 0);
  }
  const valuePipe = client.pipeline();
  const asked: number[] = [];
  keys.forEach((k, i) => {
    switch (types[i] ?? 'none') {
      case 'string':
        valuePipe.getBuffer(k);
        break;
      case 'hash':
        valuePipe.hgetallBuffer(k);
        break;
      case 'list':
        valuePipe.lrangeBuffer(k, 0, -1);
        break;
      case 'set':
        valuePipe.smembersBuffer(k);
        break;
      case 'zset':
        valuePipe.zrangeBuffer(k, '0', '-1', 'WITHSCORES');
        break;
      default:
        return;
    }
    asked.push(i);
  });
  const values = asked.length ? await execPipeline(valuePipe) : [];
  const out: KeyDigest[] = types.map((type, i) => ({ type, digest: undefined, expires: expires[i]! }));
  asked.forEach((keyIndex, j) => {
    out[keyIndex]!.digest = digestValue(types[keyIndex]!, values[j]);
  });
  return out;
}

async function execPipeline(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipe.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** The canonical digest of a value as ioredis returns it (Buffers). */
export function digestValue(type: string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const h = createHash('sha256').update(type).update('\0');
  const add = (b: Buffer) => h.update(`${b.length}:`).update(b);
  if (type === 'string') {
    add(value as Buffer);
  } else if (type === 'hash') {
    const entries = Object.entries(value as Record<string, Buffer>).map(
      ([f, v]) => [Buffer.from(f), v] as const,
    );
    entries.sort((a, b) => Buffer.compare(a[0], b[0]));
    for (const [f, v] of entries) {
      add(f);
      add(v);
    }
  } else if (type === 'set') {
    for (const m of [...(value as Buffer[])].sort((x, y) => Buffer.compare(x, y))) add(m);
  } else {
    // list and zset (member, score pairs in score order): order is part of the value.
    for (const m of value as Buffer[]) add(m);
  }
  return h.digest('hex');
}
