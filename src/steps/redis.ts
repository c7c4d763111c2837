import { Redis } from 'ioredis';
import { redact } from '../util/redact.js';
import { findResource, matchesExpected } from './resource.js';
import { abortReason } from './run.js';
import type { StepHandler, StepOutcome } from './types.js';

type RedisAction = Parameters<StepHandler<'redis'>['execute']>[0]['redis'];

function delKeys(r: RedisAction): string[] {
  return r.del === undefined ? [] : typeof r.del === 'string' ? [r.del] : r.del;
}

/** ioredis set/get/del against a redis resource's url, optionally expecting values. */
export const redisHandler: StepHandler<'redis'> = {
  describe({ redis: r }) {
    const parts: string[] = [];
    if (r.set)
      parts.push(
        `set ${Object.entries(r.set)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
    if (r.del) parts.push(`del ${delKeys(r).join(' ')}`);
    if (r.get) parts.push(`get ${r.get}`);
    if (r.expect)
      parts.push(
        `expect ${Object.entries(r.expect)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' ')}`,
      );
    return redact(`redis on ${r.resource}: ${parts.join('; ')}`);
  },
  async execute({ redis: r }, ctx): Promise<StepOutcome> {
    const found = findResource(ctx.resources, r.resource, 'redis');
    if ('error' in found) return { ok: false, error: found.error, retryable: false };
    const url = found.resource.url ?? found.resource.target;
    if (url === undefined)
      return { ok: false, error: `resource "${r.resource}" has no url`, retryable: false };
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 10_000,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    const onAbort = (): void => client.disconnect();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
      if (r.set) {
        for (const [k, v] of Object.entries(r.set)) {
          ctx.log(`redis set ${k}`);
          await client.set(k, String(v));
        }
      }
      const del = delKeys(r);
      if (del.length > 0) await client.del(...del);
      if (r.get) ctx.log(redact(`redis get ${r.get} = ${JSON.stringify(await client.get(r.get))}`));
      for (const [k, expected] of Object.entries(r.expect ?? {})) {
        const actual = await client.get(k);
        if (!matchesExpected(actual, expected)) {
          return {
            ok: false,
            error: redact(`redis ${k}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`),
          };
        }
      }
      return { ok: true };
    } catch (err) {
      const why = ctx.signal.aborted ? abortReason(ctx.signal) : (err as Error).message;
      return { ok: false, error: redact(`redis on ${r.resource} failed: ${why}`) };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      client.disconnect();
    }
  },
};
