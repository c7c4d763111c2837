import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedisCheck } from '../../checkers/redis/checker.js';
import { denseHll, hllRegisters } from '../../checkers/redis/hll.js';
import { displayKey } from '../../checkers/redis/key-name.js';
import { redisOptionsSchema } from '../../checkers/redis/options.js';
import type { CheckResult } from '../../checkers/types.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { nextUp, sameData, waitForReplica, writeValue, type Value } from '../harness/redis-values.js';

/**
 * The verdict corpus (issue 11): every value type × every kind of difference, generated, on a
 * real primary and its replica. Phase A writes every base value on the primary and lets real
 * replication copy it: everything must be consistent. Phase B detaches the replica (REPLICAOF
 * NO ONE) and applies one mutation per key there: each key must get exactly its expected verdict.
 * Expected verdicts of value mutations come from an oracle over plain data (harness
 * redis-values.ts), not from the checker.
 */

type Expect = 'same' | 'different' | 'missing' | 'extra';

interface Base {
  name: string;
  /** Writes the value on the primary. */
  write: (c: Redis, key: Buffer) => Promise<unknown>;
  /** The value as plain data when it is one of the five plain types. */
  value?: Value;
  /** Custom mutations (streams, HLL, bitmaps, geo). */
  mutations?: Mutation[];
}

interface Mutation {
  name: string;
  /** Applied on the detached replica. */
  apply: (c: Redis, key: Buffer) => Promise<unknown>;
  expect: Expect;
  /** With ttl: exact the verdict differs (expiry times). */
  expectExact?: Expect;
  /** Only the internal encoding changes: OBJECT ENCODING must differ between the sides. */
  encodingOnly?: boolean;
  /** Also written on the primary (expiry on both sides). */
  onPrimary?: (c: Redis, key: Buffer) => Promise<unknown>;
  /** The key exists on the target only. */
  extraOnly?: boolean;
}

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const toggleCase = (x: Buffer): Buffer | undefined => {
  const i = x.findIndex((c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));
  if (i < 0) return undefined;
  const y = Buffer.from(x);
  y[i] = y[i]! ^ 0x20;
  return y;
};
const flipLast = (x: Buffer): Buffer => {
  if (x.length === 0) return b('x');
  const y = Buffer.from(x);
  y[y.length - 1] = y[y.length - 1]! ^ 0x01;
  return y;
};
const withSpace = (x: Buffer) => Buffer.concat([x, b(' ')]);

/** Value mutations as data: the new value, or undefined when the mutation does not apply. */
interface DataMutation {
  name: string;
  to: (v: Value) => Value | undefined;
}

function dataMutations(type: Value['type']): DataMutation[] {
  switch (type) {
    case 'string':
      return [
        { name: 'changed', to: (x) => ({ type: 'string', v: flipLast(x.v as Buffer) }) },
        { name: 'whitespace', to: (x) => ({ type: 'string', v: withSpace(x.v as Buffer) }) },
        {
          name: 'leading-whitespace',
          to: (x) => ({ type: 'string', v: Buffer.concat([b(' '), x.v as Buffer]) }),
        },
        {
          name: 'case',
          to: (x) => {
            const y = toggleCase(x.v as Buffer);
            return y && { type: 'string', v: y };
          },
        },
        {
          name: 'truncated',
          to: (x) =>
            (x.v as Buffer).length ? { type: 'string', v: (x.v as Buffer).subarray(1) } : undefined,
        },
        { name: 'rewritten-same', to: (x) => x },
      ];
    case 'list':
    case 'set': {
      const t = type;
      const items = (x: Value) => x.v as Buffer[];
      const at0 = (x: Value, f: (m: Buffer) => Buffer | undefined): Value | undefined => {
        const y = f(items(x)[0]!);
        return y && { type: t, v: [y, ...items(x).slice(1)] };
      };
      return [
        { name: 'one-changed', to: (x) => at0(x, flipLast) },
        { name: 'one-whitespace', to: (x) => at0(x, withSpace) },
        { name: 'one-case', to: (x) => at0(x, toggleCase) },
        { name: 'one-removed', to: (x) => ({ type: t, v: items(x).slice(1) }) },
        { name: 'one-added', to: (x) => ({ type: t, v: [...items(x), b('added-member')] }) },
        { name: 'rewritten-same', to: (x) => x },
        { name: 'reordered', to: (x) => ({ type: t, v: [...items(x)].reverse() }) },
      ];
    }
    case 'zset': {
      const items = (x: Value) => x.v as [Buffer, string][];
      const mapFirst = (
        x: Value,
        f: (e: [Buffer, string]) => [Buffer, string] | undefined,
      ): Value | undefined => {
        const y = f(items(x)[0]!);
        return y && { type: 'zset', v: [y, ...items(x).slice(1)] };
      };
      return [
        {
          name: 'score-1ulp',
          to: (x) =>
            mapFirst(x, ([m, s]) =>
              Number.isFinite(Number(s)) ? [m, String(nextUp(Number(s)))] : undefined,
            ),
        },
        { name: 'score-changed', to: (x) => mapFirst(x, ([m]) => [m, '12345.5']) },
        { name: 'member-changed', to: (x) => mapFirst(x, ([m, s]) => [flipLast(m), s]) },
        { name: 'member-whitespace', to: (x) => mapFirst(x, ([m, s]) => [withSpace(m), s]) },
        {
          name: 'member-case',
          to: (x) =>
            mapFirst(x, ([m, s]) => {
              const y = toggleCase(m);
              return y && [y, s];
            }),
        },
        { name: 'one-removed', to: (x) => ({ type: 'zset', v: items(x).slice(1) }) },
        { name: 'one-added', to: (x) => ({ type: 'zset', v: [...items(x), [b('added-member'), '7']] }) },
        { name: 'rewritten-other-order', to: (x) => ({ type: 'zset', v: [...items(x)].reverse() }) },
        {
          name: 'zero-sign',
          to: (x) => {
            const i = items(x).findIndex(([, s]) => s === '-0' || s === '0');
            if (i < 0) return undefined;
            const v = [...items(x)];
            v[i] = [v[i]![0], v[i]![1] === '-0' ? '0' : '-0'];
            return { type: 'zset', v };
          },
        },
        {
          name: 'same-score-other-text',
          to: (x) => mapFirst(x, ([m, s]) => (s === '1' ? [m, '1.0'] : undefined)),
        },
      ];
    }
    case 'hash': {
      const items = (x: Value) => x.v as [Buffer, Buffer][];
      const mapFirst = (
        x: Value,
        f: (e: [Buffer, Buffer]) => [Buffer, Buffer] | undefined,
      ): Value | undefined => {
        const y = f(items(x)[0]!);
        return y && { type: 'hash', v: [y, ...items(x).slice(1)] };
      };
      return [
        { name: 'value-changed', to: (x) => mapFirst(x, ([f, v]) => [f, flipLast(v)]) },
        { name: 'value-whitespace', to: (x) => mapFirst(x, ([f, v]) => [f, withSpace(v)]) },
        {
          name: 'value-case',
          to: (x) =>
            mapFirst(x, ([f, v]) => {
              const y = toggleCase(v);
              return y && [f, y];
            }),
        },
        { name: 'field-renamed', to: (x) => mapFirst(x, ([f, v]) => [flipLast(f), v]) },
        {
          name: 'field-case',
          to: (x) =>
            mapFirst(x, ([f, v]) => {
              const y = toggleCase(f);
              return y && [y, v];
            }),
        },
        { name: 'one-removed', to: (x) => ({ type: 'hash', v: items(x).slice(1) }) },
        { name: 'one-added', to: (x) => ({ type: 'hash', v: [...items(x), [b('added-field'), b('1')]] }) },
        { name: 'rewritten-other-order', to: (x) => ({ type: 'hash', v: [...items(x)].reverse() }) },
      ];
    }
  }
}

/** Turns a value into another encoding without changing it (a big element added, then removed). */
async function reencode(c: Redis, key: Buffer, type: Value['type']): Promise<void> {
  const big = b('e'.repeat(100));
  if (type === 'string') await c.append(key, '');
  else if (type === 'hash') {
    await c.hset(key, big, big);
    await c.hdel(key, big);
  } else if (type === 'set') {
    await c.sadd(key, big);
    await c.srem(key, big);
  } else if (type === 'zset') {
    await c.zadd(key, 1, big);
    await c.zrem(key, big);
  }
}

const plainBases: [string, Value][] = [
  ['string-text', { type: 'string', v: b('Hello Bank') }],
  ['string-binary', { type: 'string', v: b(range(256)) }],
  ['string-empty', { type: 'string', v: b('') }],
  ['string-large', { type: 'string', v: Buffer.alloc(600 * 1024, 'Ab') }],
  ['string-int', { type: 'string', v: b('12345') }],
  ['string-negative-int', { type: 'string', v: b('-42') }],
  ['string-float-text', { type: 'string', v: b('3.14') }],
  ['string-json', { type: 'string', v: b('{"amount":14850.00,"ccy":"IDR"}') }],
  ['list-small', { type: 'list', v: ['Alpha', 'beta', 'gamma'].map(b) }],
  ['list-binary', { type: 'list', v: [b([0, 0x81]), b([0xff]), b('')] }],
  ['list-large', { type: 'list', v: range(2000).map((i) => b(`Item-${i}`)) }],
  ['set-strings', { type: 'set', v: ['Alpha', 'beta', 'gamma'].map(b) }],
  ['set-intset', { type: 'set', v: ['1', '2', '3', '100'].map(b) }],
  ['set-binary', { type: 'set', v: [b([0xc3]), b([0xc4]), b([0, 0, 0, 0x81]), b([0, 0, 0, 0x82])] }],
  ['set-large', { type: 'set', v: range(2000).map((i) => b(`Member-${i}`)) }],
  [
    'zset-small',
    {
      type: 'zset',
      v: [
        [b('Alice'), '1'],
        [b('bob'), '2.5'],
        [b('carol'), '3'],
      ],
    },
  ],
  [
    'zset-special-scores',
    {
      type: 'zset',
      v: [
        [b('Tenth'), '0.1'],
        [b('negzero'), '-0'],
        [b('inf'), 'inf'],
        [b('ninf'), '-inf'],
        [b('big'), '1e308'],
        [b('tiny'), '5e-324'],
        [b('negbig'), '-1.7976931348623157e308'],
      ],
    },
  ],
  [
    'zset-binary',
    {
      type: 'zset',
      v: [
        [b([0, 0, 0, 0x81]), '1'],
        [b([0, 0, 0, 0x82]), '1'],
        [b([0xff]), '2'],
      ],
    },
  ],
  ['zset-large', { type: 'zset', v: range(2000).map((i) => [b(`Member-${i}`), String(i / 7)]) }],
  [
    'hash-small',
    {
      type: 'hash',
      v: [
        [b('Balance'), b('Rp 14850')],
        [b('ccy'), b('IDR')],
      ],
    },
  ],
  [
    'hash-binary-fields',
    {
      type: 'hash',
      v: [
        [b([0, 0, 0, 0x81]), b('10')],
        [b([0, 0, 0, 0x82]), b('20')],
        [b([0xff, 0xfe]), b([0x80])],
      ],
    },
  ],
  ['hash-large', { type: 'hash', v: range(2000).map((i) => [b(`Field-${i}`), b(`v${i}`)]) }],
  [
    'hash-int-values',
    {
      type: 'hash',
      v: [
        [b('Count'), b('1')],
        [b('limit'), b('-5')],
      ],
    },
  ],
];

function plainBase(name: string, value: Value): Base {
  const muts: Mutation[] = [];
  for (const m of dataMutations(value.type)) {
    const to = m.to(value);
    if (!to) continue;
    muts.push({
      name: m.name,
      apply: async (c, key) => {
        await c.del(key);
        await writeValue(c, key, to);
      },
      expect: sameData(value, to) ? 'same' : 'different',
    });
  }
  // encoding-only: the same data in another internal encoding must be EQUAL
  const encodable =
    (value.type === 'string' && /^(12345|-42)$/.test(value.v.toString())) ||
    (value.type === 'set' && name === 'set-intset') ||
    (value.type === 'hash' && name !== 'hash-large') ||
    (value.type === 'zset' && name !== 'zset-large');
  if (encodable)
    muts.push({
      name: 'encoding-only',
      apply: (c, key) => reencode(c, key, value.type),
      expect: 'same',
      encodingOnly: true,
    });
  return { name, value, write: (c, key) => writeValue(c, key, value), mutations: muts };
}

const hllElements = (prefix: string, n: number) => range(n).map((i) => `${prefix}${i}`);

const customBases: Base[] = [
  {
    name: 'stream',
    write: async (c, key) => {
      for (const i of range(5)) await c.xadd(key, `1-${i + 1}`, 'amount', `${i}00`, 'Ccy', 'IDR');
      await c.xgroup('CREATE', key, 'g1', '0');
      await c.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', 3, 'STREAMS', key, '>');
      await c.xack(key, 'g1', '1-1');
    },
    mutations: [
      {
        name: 'entry-added',
        apply: (c, k) => c.xadd(k, '1-9', 'amount', '900', 'Ccy', 'IDR'),
        expect: 'different',
      },
      { name: 'entry-deleted', apply: (c, k) => c.xdel(k, '1-5'), expect: 'different' },
      { name: 'group-added', apply: (c, k) => c.xgroup('CREATE', k, 'g2', '$'), expect: 'different' },
      { name: 'group-setid', apply: (c, k) => c.xgroup('SETID', k, 'g1', '0'), expect: 'different' },
      { name: 'pending-acked', apply: (c, k) => c.xack(k, 'g1', '1-2'), expect: 'different' },
      {
        name: 'consumer-added',
        apply: (c, k) => c.xgroup('CREATECONSUMER', k, 'g1', 'c9'),
        expect: 'different',
      },
      {
        name: 'field-value-case',
        apply: async (c, k) => {
          await c.del(k);
          for (const i of range(5)) await c.xadd(k, `1-${i + 1}`, 'amount', `${i}00`, 'ccy', 'IDR');
          await c.xgroup('CREATE', k, 'g1', '0');
          await c.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', 3, 'STREAMS', k, '>');
          await c.xack(k, 'g1', '1-1');
        },
        expect: 'different',
      },
      { name: 'trim-noop', apply: (c, k) => c.xtrim(k, 'MAXLEN', 1000), expect: 'same' },
    ],
  },
  ...(['sparse', 'dense'] as const).map((enc): Base => ({
    name: `hll-${enc}`,
    write: (c, key) => c.pfadd(key, ...hllElements('u', enc === 'sparse' ? 5 : 3000)),
    mutations: [
      {
        name: 'element-added',
        apply: (c, k) => c.pfadd(k, 'a-new-visitor-1', 'a-new-visitor-2'),
        expect: 'different',
      },
      { name: 'element-readded', apply: (c, k) => c.pfadd(k, 'u1'), expect: 'same' },
      { name: 'pfcount-cache', apply: (c, k) => c.pfcount(k), expect: 'same' },
      {
        name: 'cache-bytes-only',
        apply: (c, k) => c.setrange(k, 8, b([1, 2, 3, 4, 5, 6, 7, 0])),
        expect: 'same',
      },
      {
        name: 'encoding-only',
        apply: async (c, k) => {
          const regs = hllRegisters((await c.getBuffer(k))!)!;
          const dense = denseHll(regs);
          if (enc === 'sparse') await c.set(k, dense);
          else await c.set(k, dense); // dense rewritten with an invalidated cache
        },
        expect: 'same',
      },
      {
        name: 'register-bumped',
        apply: async (c, k) => {
          const raw = (await c.getBuffer(k))!;
          const regs = hllRegisters(raw)!;
          const i = regs.findIndex((r) => r === 0);
          regs[i] = 1;
          await c.set(k, denseHll(regs));
        },
        expect: 'different',
      },
    ],
  })),
  {
    name: 'bitmap',
    write: async (c, key) => {
      await c.setbit(key, 7, 1);
      await c.setbit(key, 100, 1);
    },
    mutations: [
      { name: 'bit-flipped', apply: (c, k) => c.setbit(k, 7, 0), expect: 'different' },
      { name: 'bit-set-same', apply: (c, k) => c.setbit(k, 100, 1), expect: 'same' },
      { name: 'zero-extended', apply: (c, k) => c.setbit(k, 1000, 0), expect: 'different' },
    ],
  },
  {
    name: 'geo',
    write: (c, key) => c.geoadd(key, 106.8456, -6.2088, 'Jakarta', 112.7521, -7.2575, 'surabaya'),
    mutations: [
      { name: 'moved', apply: (c, k) => c.geoadd(k, 106.8466, -6.2088, 'Jakarta'), expect: 'different' },
      { name: 'readded-same', apply: (c, k) => c.geoadd(k, 106.8456, -6.2088, 'Jakarta'), expect: 'same' },
      {
        name: 'member-case',
        apply: async (c, k) => (await c.zrem(k, 'Jakarta'), c.geoadd(k, 106.8456, -6.2088, 'jakarta')),
        expect: 'different',
      },
      { name: 'removed', apply: (c, k) => c.zrem(k, 'surabaya'), expect: 'different' },
    ],
  },
];

/** Mutations every value type gets. */
const genericMutations = (base: Base): Mutation[] => [
  { name: 'twin', apply: () => Promise.resolve(), expect: 'same' },
  { name: 'missing', apply: (c, k) => c.del(k), expect: 'missing' },
  { name: 'extra', apply: (c, k) => base.write(c, k), expect: 'extra', extraOnly: true },
  {
    name: 'type-changed',
    apply: async (c, k) => {
      const type = await c.type(k);
      await c.del(k);
      if (type === 'string') await c.rpush(k, 'Hello Bank');
      else await c.set(k, 'Hello Bank');
    },
    expect: 'different',
  },
  { name: 'ttl-target-only', apply: (c, k) => c.pexpire(k, 3_600_000), expect: 'different' },
  {
    name: 'ttl-source-only',
    apply: (c, k) => c.persist(k),
    onPrimary: (c, k) => c.pexpire(k, 3_600_000),
    expect: 'different',
  },
  {
    name: 'ttl-both-same',
    apply: () => Promise.resolve(),
    onPrimary: (c, k) => c.pexpire(k, 3_600_000),
    expect: 'same',
  },
  {
    name: 'ttl-both-other-time',
    apply: (c, k) => c.pexpire(k, 7_200_000),
    onPrimary: (c, k) => c.pexpire(k, 3_600_000),
    expect: 'same',
    expectExact: 'different',
  },
];

interface Case {
  id: string;
  key: Buffer;
  base: Base;
  mutation: Mutation;
}

function buildCorpus(): Case[] {
  const bases = [...plainBases.map(([n, v]) => plainBase(n, v)), ...customBases];
  const cases: Case[] = [];
  for (const base of bases) {
    for (const mutation of [...genericMutations(base), ...(base.mutations ?? [])]) {
      const i = cases.length;
      // every third key has a binary name (not UTF-8, with NUL and a newline)
      const suffix =
        i % 3 === 0 ? b([0xff, 0x00, 0x80 + (i % 64), 0x0a]) : b(`${base.name}/${mutation.name}`);
      cases.push({
        id: `${base.name}/${mutation.name}`,
        key: Buffer.concat([b(`c${i}:`), suffix]),
        base,
        mutation,
      });
    }
  }
  return cases;
}

describe('redis verdict corpus on a real primary and replica', () => {
  let main: RedisServer;
  let dr: RedisServer;
  let a: Redis;
  let r: Redis;
  const cases = buildCorpus();

  beforeAll(async () => {
    [main, dr] = await Promise.all([startRedis(), startRedis()]);
    a = new Redis(main.url);
    r = new Redis(dr.url);
  });
  afterAll(async () => {
    a?.disconnect();
    r?.disconnect();
    await Promise.all([main?.stop(), dr?.stop()]);
  });

  const check = (opts: Record<string, unknown> = {}): Promise<CheckResult> =>
    runRedisCheck(
      { kind: 'redis', source: main.url, target: dr.url },
      redisOptionsSchema.parse({ batch: 7, maxFindings: 100_000, waitMs: 20_000, ...opts }),
      { signal: new AbortController().signal, progress: () => undefined },
    );

  /** Every key's verdict against the expected one; returns the mismatches. */
  function judge(result: CheckResult, expected: (c: Case) => Expect): string[] {
    const byObject = new Map(result.findings.map((f) => [f.object, f]));
    const wrong: string[] = [];
    for (const c of cases) {
      const f = byObject.get(displayKey(c.key));
      byObject.delete(displayKey(c.key));
      const got = f ? f.kind : 'same';
      if (got !== expected(c))
        wrong.push(`${c.id}: expected ${expected(c)}, got ${got}${f ? ` (${f.message})` : ''}`);
    }
    for (const f of byObject.values()) wrong.push(`unexpected finding ${f.object}: ${f.kind} ${f.message}`);
    return wrong;
  }

  it(`phase A: ${cases.length} cases written on the primary, copied by replication: all consistent`, async () => {
    await r.replicaof('127.0.0.1', main.port);
    await waitForReplica(a, r);
    for (const c of cases) {
      if (c.mutation.extraOnly) continue;
      await c.base.write(a, c.key);
      await c.mutation.onPrimary?.(a, c.key);
    }
    await waitForReplica(a, r);
    // PFCOUNT on the replica rewrites the cached cardinality of its HLLs: still consistent
    for (const c of cases) if (c.base.name.startsWith('hll-')) await r.pfcount(c.key);
    const result = await check();
    expect(judge(result, () => 'same')).toEqual([]);
    expect(result.status).toBe('consistent');
    expect(result.counts.keysSource).toBe(cases.filter((c) => !c.mutation.extraOnly).length);
  });

  it('phase B: one mutation per key on the detached replica: every key gets its verdict', async () => {
    await r.replicaof('NO', 'ONE');
    for (const c of cases) await c.mutation.apply(r, c.key);
    // an encoding-only case must really change the encoding, or it proves nothing
    for (const c of cases.filter((x) => x.mutation.encodingOnly && !x.base.name.startsWith('hll-'))) {
      const [ea, er] = await Promise.all([a.object('ENCODING', c.key), r.object('ENCODING', c.key)]);
      expect(ea, c.id).not.toBe(er);
    }
    const presence = await check();
    const wrongPresence = judge(presence, (c) => c.mutation.expect);
    const exact = await check({ ttl: 'exact' });
    const wrongExact = judge(exact, (c) => c.mutation.expectExact ?? c.mutation.expect);
    const differ = cases.filter((c) => c.mutation.expect !== 'same').length;
    const falseConsistent = [...wrongPresence, ...wrongExact].filter((w) => / got same$/.test(w)).length;
    console.log(
      `redis verdict corpus: ${cases.length} cases (${differ} with a difference, ${cases.length - differ} twins/no-ops), ` +
        `2 TTL policies; false consistent: ${falseConsistent}; wrong verdicts: ${wrongPresence.length + wrongExact.length}`,
    );
    expect(wrongPresence).toEqual([]);
    expect(wrongExact).toEqual([]);
    expect(presence.status).toBe('different');
  });
});
