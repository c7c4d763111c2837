import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedisCheck } from '../../checkers/redis/checker.js';
import { redisOptionsSchema } from '../../checkers/redis/options.js';
import type { CheckResult } from '../../checkers/types.js';
import { drctl } from '../e2e/cli-helpers.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

const ctx = () => ({ signal: new AbortController().signal, progress: () => undefined });
const check = (
  source: RedisServer,
  target: RedisServer,
  opts: Record<string, unknown> = {},
): Promise<CheckResult> =>
  runRedisCheck(
    { kind: 'redis', source: source.url, target: target.url },
    redisOptionsSchema.parse({ batch: 7, ...opts }),
    ctx(),
  );

/** Writes the same bank config and session data to a server. */
async function seed(c: Redis): Promise<void> {
  const p = c.pipeline();
  for (const kind of ['mysql', 'redis', 'ceph', 'es']) p.set(`bcf.resource.target.${kind}`, 'live');
  for (let i = 0; i < 120; i++) p.hset(`session:${i}`, { user: `u${i}`, channel: i % 2 ? 'mobile' : 'web' });
  p.rpush('queue:payments', 'p1', 'p2', 'p3');
  p.sadd('blocked:accounts', 'a7', 'a9', 'a11');
  p.zadd('rank:merchants', 10, 'm1', 20, 'm2');
  p.set(Buffer.from([0xff, 0x00, 0x41]), Buffer.from([1, 2, 3]));
  await p.exec();
}

describe('redis checker against real redis-server', () => {
  let main: RedisServer;
  let dr: RedisServer;
  let a: Redis;
  let b: Redis;

  beforeAll(async () => {
    [main, dr] = await Promise.all([startRedis(), startRedis()]);
    a = new Redis(main.url);
    b = new Redis(dr.url);
  });
  afterAll(async () => {
    a?.disconnect();
    b?.disconnect();
    await Promise.all([main?.stop(), dr?.stop()]);
  });

  it('passes identical data, including sets written in another order and binary keys', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    await seed(a);
    await seed(b);
    await b.del('blocked:accounts');
    await b.sadd('blocked:accounts', 'a11', 'a9', 'a7');
    const r = await check(main, dr);
    expect(r.status).toBe('consistent');
    expect(r.counts).toMatchObject({
      keysSource: 128,
      keysTarget: 128,
      same: 128,
      missing: 0,
      extra: 0,
      different: 0,
    });
  });

  it('finds exactly the planted differences', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    await seed(a);
    await seed(b);
    await b.del('session:5'); // missing on DR
    await b.set('only-on-dr', 'x'); // extra
    await b.hset('session:6', 'channel', 'branch'); // changed hash field
    await b.del('queue:payments');
    await b.rpush('queue:payments', 'p1', 'p3', 'p2'); // same members, other order: a different list
    await b.zadd('rank:merchants', 21, 'm2'); // changed score
    await b.del('bcf.resource.target.es');
    await b.hset('bcf.resource.target.es', 'v', 'live'); // same name, other type
    const r = await check(main, dr);
    expect(r.status).toBe('different');
    expect(r.counts).toMatchObject({ missing: 1, extra: 1, different: 4 });
    const byKind = (k: string) =>
      r.findings
        .filter((f) => f.kind === k)
        .map((f) => f.object)
        .sort();
    expect(byKind('missing')).toEqual(['session:5']);
    expect(byKind('extra')).toEqual(['only-on-dr']);
    expect(byKind('different')).toEqual([
      'bcf.resource.target.es',
      'queue:payments',
      'rank:merchants',
      'session:6',
    ]);
  });

  it('compares streams: entries, ids and consumer groups', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    for (const c of [a, b]) {
      await c.xadd('events', '1-1', 'f', 'v');
      await c.xadd('events', '1-2', 'f', 'w');
      await c.xgroup('CREATE', 'events', 'g1', '0');
    }
    expect((await check(main, dr)).status).toBe('consistent');
    await b.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', 1, 'STREAMS', 'events', '>');
    const r = await check(main, dr);
    expect(r.status).toBe('different');
    expect(r.findings.map((f) => `${f.object} ${f.message}`)).toEqual(['events stream value differs']);
  });

  it('waits for a replica to catch up instead of reporting lag as loss', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    await b.replicaof('127.0.0.1', main.port);
    try {
      await seed(a);
      const r = await check(main, dr, { waitMs: 10_000 });
      expect(r.status).toBe('consistent');
      expect(r.evidence.replication).toMatchObject({ replica: true, caughtUp: true });
    } finally {
      await b.replicaof('NO', 'ONE');
    }
  });

  it('a replica whose link to the primary is down has not caught up: never consistent', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    await seed(a);
    await seed(b);
    await b.replicaof('127.0.0.1', 1); // nothing listens there: master_link_status stays down
    try {
      const r = await check(main, dr, { waitMs: 1000 });
      expect(r.status).toBe('different');
      expect(r.findings.map((f) => f.kind)).toContain('lag');
      expect(r.evidence.replication).toMatchObject({ replica: true, caughtUp: false, linkStatus: 'down' });
    } finally {
      await b.replicaof('NO', 'ONE');
    }
  });

  it('keeps hash field names as bytes: two non-UTF-8 fields never collapse into one', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    const f1 = Buffer.from([0, 0, 0, 0x81]);
    const f2 = Buffer.from([0, 0, 0, 0x82]);
    await a.hset('h', f1, '10', f2, '20');
    await b.hset('h', f2, '20');
    // and set members, list items and zset members that are not UTF-8 either
    await a.sadd('s', Buffer.from([0xc3]), Buffer.from([0xc4]));
    await b.sadd('s', Buffer.from([0xc3]), Buffer.from([0xc5]));
    const r = await check(main, dr);
    expect(r.status).toBe('different');
    expect(r.findings.map((f) => f.object).sort()).toEqual(['h', 's']);
  });

  it('compares every non-empty logical db when the URL names none', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    await seed(a);
    await seed(b);
    for (const c of [a, b]) {
      await c.select(3);
      await c.set('ledger:1', '100');
      await c.hset('acct:9', 'balance', '250');
    }
    await b.hset('acct:9', 'balance', '249'); // differs in db 3 only
    await a.select(5);
    await a.set('only-main-db5', 'x'); // db 5 exists on Main only
    await b.select(7);
    await b.set('only-dr-db7', 'y');
    await Promise.all([a.select(0), b.select(0)]);
    const r = await check(main, dr);
    expect(r.status).toBe('different');
    const objects = r.findings.map((f) => `${f.kind} ${f.object}`).sort();
    expect(objects).toEqual(['different db3/acct:9', 'extra db7/only-dr-db7', 'missing db5/only-main-db5']);
    expect(r.counts).toMatchObject({ keysSource: 128 + 3, keysTarget: 128 + 3 });
    expect(r.evidence.dbs).toEqual([0, 3, 5, 7]);
    // A URL that names a db compares that db only (and says so).
    const only0 = await runRedisCheck(
      { kind: 'redis', source: `${main.url}/0`, target: `${dr.url}/0` },
      redisOptionsSchema.parse({}),
      ctx(),
    );
    expect(only0.status).toBe('consistent');
    expect(only0.evidence.dbs).toEqual([0]);
    // Naming a db on one side only is ambiguous: refused.
    await expect(
      runRedisCheck(
        { kind: 'redis', source: `${main.url}/3`, target: dr.url },
        redisOptionsSchema.parse({}),
        ctx(),
      ),
    ).rejects.toThrow(/names db 3 but --target names none/);
    for (const c of [a, b]) {
      for (const db of [3, 5, 7]) {
        await c.select(db);
        await c.flushdb();
      }
      await c.select(0);
    }
  });

  it('compares a HyperLogLog by its registers: PFCOUNT on the replica is not a difference', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    await b.replicaof('127.0.0.1', main.port);
    try {
      await a.pfadd('visitors:sparse', 'u1', 'u2', 'u3');
      const many = Array.from({ length: 3000 }, (_, i) => `v${i}`);
      await a.pfadd('visitors:dense', ...many);
      await a.pfadd('visitors:changed', 'x1', 'x2');
      const first = await check(main, dr, { waitMs: 10_000 });
      expect(first.status).toBe('consistent');
      // PFCOUNT on a replica rewrites its cached cardinality (the raw bytes change).
      const before = await b.getBuffer('visitors:dense');
      expect(await b.pfcount('visitors:dense')).toBeGreaterThan(2900);
      await b.pfcount('visitors:sparse');
      expect(Buffer.compare(before!, (await b.getBuffer('visitors:dense'))!)).not.toBe(0);
      const again = await check(main, dr, { waitMs: 10_000 });
      expect(again.status, JSON.stringify(again.findings)).toBe('consistent');
      // A real register difference stays different.
      await b.replicaof('NO', 'ONE');
      await b.pfadd('visitors:changed', 'x3');
      const diff = await check(main, dr);
      expect(diff.status).toBe('different');
      expect(diff.findings.map((f) => f.object)).toEqual(['visitors:changed']);
    } finally {
      await b.replicaof('NO', 'ONE');
    }
  });

  it('an address that does not speak Redis is a clear connection error (exit 2)', async () => {
    // a server that answers in another protocol (and keeps the connection open)
    const other = createNetServer((socket) =>
      socket.on('data', () => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n')),
    );
    // a real HTTP server, which may also close the connection before or after its 400
    const http = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const otherPort = (other.address() as AddressInfo).port;
    const httpPort = (http.address() as AddressInfo).port;
    try {
      const r = await drctl([
        'check',
        'redis',
        '--source',
        `redis://127.0.0.1:${otherPort}`,
        '--target',
        dr.url,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--source 127.0.0.1:${otherPort}: does not speak the Redis protocol`);
      expect(r.stderr).not.toMatch(/Please report|internal error|Unknown RESP/);
      const h = await drctl([
        'check',
        'redis',
        '--source',
        dr.url,
        '--target',
        `redis://127.0.0.1:${httpPort}`,
      ]);
      expect(h.code).toBe(2);
      expect(h.stderr).toMatch(
        new RegExp(
          `--target 127.0.0.1:${httpPort}: (does not speak the Redis protocol|cannot connect \\(the server closed the connection without answering)`,
        ),
      );
      expect(h.stderr).not.toMatch(/Please report|internal error|Unknown RESP/);
    } finally {
      await new Promise((r) => http.close(r));
      await new Promise((r) => other.close(r));
    }
  });

  it('drctl check redis --ttl: expiring on one side only is a difference by default; exact compares times', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    await a.set('otp:1', '123456', 'PX', 3_600_000);
    await b.set('otp:1', '123456', 'PX', 7_200_000);
    await a.set('limit:1', '5');
    await b.set('limit:1', '5');
    const presence = await drctl(['check', 'redis', '--source', main.url, '--target', dr.url]);
    expect(presence.code, presence.stdout + presence.stderr).toBe(0);
    const exact = await drctl(['check', 'redis', '--source', main.url, '--target', dr.url, '--ttl']);
    expect(exact.code).toBe(1);
    expect(exact.stdout).toContain('* otp:1  expiry differs by 3600.0s');
    await b.pexpire('limit:1', 60_000);
    const oneSide = await drctl(['check', 'redis', '--source', main.url, '--target', dr.url]);
    expect(oneSide.code).toBe(1);
    expect(oneSide.stdout).toMatch(/\* limit:1 {2}expires on target only \(in \d+s\), persists on the other/);
    const ignore = await drctl([
      'check',
      'redis',
      '--source',
      main.url,
      '--target',
      dr.url,
      '--ttl',
      'ignore',
    ]);
    expect(ignore.code).toBe(0);
    const bogus = await drctl([
      'check',
      'redis',
      '--source',
      main.url,
      '--target',
      dr.url,
      '--ttl',
      'sometimes',
    ]);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('--ttl: expected presence, exact or ignore, got "sometimes"');
  });

  it('drctl check redis: exit 0 / 1 / 2, and never shows a password', async () => {
    await Promise.all([a.flushall(), b.flushall()]);
    await seed(a);
    await seed(b);
    const ok = await drctl(['check', 'redis', '--source', main.url, '--target', dr.url]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('redis CONSISTENT: 128 source keys vs 128 target keys: consistent');
    await b.del('session:1');
    const diff = await drctl(['check', 'redis', '--source', main.url, '--target', dr.url, '--json']);
    expect(diff.code).toBe(1);
    expect((JSON.parse(diff.stdout) as CheckResult).counts.missing).toBe(1);
    const unreachable = await drctl([
      'check',
      'redis',
      '--source',
      'redis://:hunter2-pw@127.0.0.1:1',
      '--target',
      dr.url,
    ]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain('--source 127.0.0.1:1: cannot connect');
    expect(unreachable.stdout + unreachable.stderr).not.toContain('hunter2-pw');
    await b.config('SET', 'requirepass', 'right-pw-123');
    try {
      const wrong = await drctl([
        'check',
        'redis',
        '--source',
        main.url,
        '--target',
        `redis://:wrong-pw-456@127.0.0.1:${dr.port}`,
      ]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('authentication failed');
      expect(wrong.stdout + wrong.stderr).not.toContain('wrong-pw-456');
    } finally {
      const admin = new Redis(`redis://:right-pw-123@127.0.0.1:${dr.port}`);
      await admin.config('SET', 'requirepass', '');
      admin.disconnect();
    }
    const bad = await drctl(['check', 'redis', '--source', 'http://x', '--target', dr.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--source: scheme must be redis:// or rediss://');
  });
});
