import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedisCheck } from '../../checkers/redis/checker.js';
import { redisOptionsSchema } from '../../checkers/redis/options.js';
import type { CheckResult } from '../../checkers/types.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

const KEYS = 3000;

/**
 * A live primary under writes, with its replica as DR (issue 11 item 17): keys written during
 * the check are re-read after the replica caught up, so they are no false "different"; a real
 * difference (written on the replica only) stays different.
 */
describe('redis checker on a live primary/replica pair', () => {
  let main: RedisServer;
  let dr: RedisServer;
  let a: Redis;
  let b: Redis;

  beforeAll(async () => {
    [main, dr] = await Promise.all([startRedis(), startRedis()]);
    a = new Redis(main.url);
    b = new Redis(dr.url);
    const p = a.pipeline();
    for (let i = 0; i < KEYS; i++) {
      p.set(`acct:${i}`, `${i * 10}`);
      if (i % 10 === 0) p.hset(`h:${i}`, 'balance', `${i}`, 'ccy', 'IDR');
      if (i % 25 === 0) p.rpush(`l:${i}`, 'a', 'b');
    }
    await p.exec();
    // writable replica: lets the test plant a real difference while replication runs
    await b.config('SET', 'replica-read-only', 'no');
    await b.replicaof('127.0.0.1', main.port);
    for (let i = 0; i < 100; i++) {
      const info = await b.info('replication');
      if (info.includes('master_link_status:up')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await b?.replicaof('NO', 'ONE').catch(() => undefined);
    a?.disconnect();
    b?.disconnect();
    await Promise.all([main?.stop(), dr?.stop()]);
  });

  /** Writes on the primary (updates, new keys, deletes, type-preserving changes) until stopped. */
  function startWriter(seed: number): { stop: () => Promise<number> } {
    const w = new Redis(main.url);
    let running = true;
    let writes = 0;
    let x = seed;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    const loop = (async () => {
      while (running) {
        const p = w.pipeline();
        for (let j = 0; j < 20; j++) {
          const i = rnd(KEYS);
          switch (rnd(5)) {
            case 0:
              p.incrby(`acct:${i}`, 1);
              break;
            case 1:
              p.hincrby(`h:${i - (i % 10)}`, 'balance', 1);
              break;
            case 2:
              p.set(`new:${writes + j}`, 'x');
              break;
            case 3:
              p.del(`new:${rnd(writes + 1)}`);
              break;
            default:
              p.rpush(`l:${i - (i % 25)}`, 'c');
          }
        }
        await p.exec();
        writes += 20;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        w.disconnect();
        return writes;
      },
    };
  }

  const check = (): Promise<CheckResult> =>
    runRedisCheck(
      { kind: 'redis', source: main.url, target: dr.url },
      redisOptionsSchema.parse({ batch: 100, waitMs: 10_000, maxFindings: 10_000 }),
      { signal: new AbortController().signal, progress: () => undefined },
    );

  it('writes during the check give no false "different"', async () => {
    for (const seed of [1, 2, 3]) {
      const writer = startWriter(seed);
      let r: CheckResult;
      try {
        r = await check();
      } finally {
        expect(await writer.stop()).toBeGreaterThan(100);
      }
      expect(r.status, `seed ${seed}: ${JSON.stringify(r.findings.slice(0, 5))}`).toBe('consistent');
    }
  });

  it('a real difference on the replica stays different under writes', async () => {
    await b.set('planted:extra', 'only on DR');
    await b.set('acct:7', 'tampered'); // the writer may also move acct:7: still different afterwards
    await b.hset('h:2990', 'ccy', 'USD'); // the writer never touches h:2990's ccy
    const writer = startWriter(4);
    let r: CheckResult;
    try {
      r = await check();
    } finally {
      await writer.stop();
    }
    const found = r.findings.map((f) => `${f.kind} ${f.object}`).sort();
    expect(found).toEqual(['different acct:7', 'different h:2990', 'extra planted:extra']);
    expect(r.status).toBe('different');
  });
});
