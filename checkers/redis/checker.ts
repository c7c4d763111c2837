import { Redis } from 'ioredis';
import { ConnectionError, UsageError } from '../../src/errors.js';
import { redact, registerSecret } from '../../src/util/redact.js';
import type { CheckContext, CheckResult, CheckTarget, Checker, Finding } from '../types.js';
import { digestKeys, SUPPORTED_TYPES } from './digest.js';
import { redisOptionsSchema, type RedisOptions } from './options.js';
import { waitForReplicaOffset, type CatchUp } from './replication.js';

export const redisChecker: Checker<RedisOptions> = {
  kind: 'redis',
  optionsSchema: redisOptionsSchema,
  run: runRedisCheck,
};

/**
 * Compares every key of Main (source) with DR (target): type and a canonical digest of the
 * value, then the keys only DR has. Memory is bounded by the batch size: both sides are walked
 * with SCAN and compared batch by batch. Read-only: TYPE, PTTL, GET, HGETALL, LRANGE, SMEMBERS,
 * ZRANGE, EXISTS, SCAN, DBSIZE, INFO.
 */
export async function runRedisCheck(
  target: CheckTarget,
  options: RedisOptions,
  ctx: CheckContext,
): Promise<CheckResult> {
  if (target.kind !== 'redis')
    throw new UsageError(`the redis checker cannot compare a ${target.kind} resource`);
  const started = Date.now();
  const source = await connect(target.source, '--source');
  let dr: Redis | undefined;
  try {
    dr = await connect(target.target, '--target');
    return await compare(source, dr, describe(target.source), describe(target.target), options, ctx, started);
  } finally {
    source.disconnect();
    dr?.disconnect();
  }
}

async function compare(
  source: Redis,
  target: Redis,
  sourceName: string,
  targetName: string,
  options: RedisOptions,
  ctx: CheckContext,
  started: number,
): Promise<CheckResult> {
  const findings: Finding[] = [];
  let omitted = 0;
  const counts = { keysSource: 0, keysTarget: 0, same: 0, missing: 0, extra: 0, different: 0, unverified: 0 };
  const add = (f: Finding) => {
    ctx.onFinding?.(f);
    if (findings.length < options.maxFindings) findings.push(f);
    else omitted++;
  };

  const catchUp: CatchUp = await waitForReplicaOffset(source, target, options.waitMs, ctx.signal);
  if (catchUp.replica && !catchUp.caughtUp) {
    add({
      kind: 'lag',
      severity: 'difference',
      object: targetName,
      message: `replica did not reach the primary's offset ${catchUp.primaryOffset} within ${options.waitMs} ms (at ${catchUp.replicaOffset}, link ${catchUp.linkStatus ?? 'unknown'})`,
    });
  }
  const [dbsizeSource, dbsizeTarget] = await Promise.all([source.dbsize(), target.dbsize()]);

  // Pass 1: every source key against the target.
  for await (const keys of scanBatches(source, options, ctx)) {
    const [a, b] = await Promise.all([digestKeys(source, keys), digestKeys(target, keys)]);
    keys.forEach((key, i) => {
      const s = a[i]!;
      const t = b[i]!;
      if (s.type === 'none') return; // deleted between SCAN and TYPE
      counts.keysSource++;
      const name = key.toString('utf8');
      if (t.type === 'none') {
        counts.missing++;
        add({ kind: 'missing', severity: 'difference', object: name, message: `only on source (${s.type})` });
      } else if (s.type !== t.type) {
        counts.different++;
        add({
          kind: 'different',
          severity: 'difference',
          object: name,
          message: `type ${s.type} on source, ${t.type} on target`,
        });
      } else if (!SUPPORTED_TYPES.has(s.type)) {
        counts.unverified++;
        add({
          kind: 'unverified',
          severity: 'unverified',
          object: name,
          message: `type ${s.type} is not compared`,
        });
      } else if (s.digest !== t.digest) {
        counts.different++;
        add({ kind: 'different', severity: 'difference', object: name, message: `${s.type} value differs` });
      } else if (options.compareTtl && s.expires !== t.expires) {
        counts.different++;
        add({
          kind: 'different',
          severity: 'difference',
          object: name,
          message: `expires on ${s.expires ? 'source' : 'target'} only`,
        });
      } else {
        counts.same++;
      }
    });
    ctx.progress({ phase: 'compare', done: counts.keysSource, total: dbsizeSource });
  }

  // Pass 2: keys only the target has.
  for await (const keys of scanBatches(target, options, ctx)) {
    const pipe = source.pipeline();
    for (const k of keys) pipe.exists(k);
    const exists = ((await pipe.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return Number(v);
    });
    counts.keysTarget += keys.length;
    keys.forEach((key, i) => {
      if (exists[i] === 0) {
        counts.extra++;
        add({
          kind: 'extra',
          severity: 'difference',
          object: key.toString('utf8'),
          message: 'only on target',
        });
      }
    });
    ctx.progress({ phase: 'extra', done: counts.keysTarget, total: dbsizeTarget });
  }

  const differences =
    counts.missing + counts.extra + counts.different + (catchUp.replica && !catchUp.caughtUp ? 1 : 0);
  const status = differences > 0 ? 'different' : counts.unverified > 0 ? 'unverified' : 'consistent';
  const parts = [
    counts.missing && `${counts.missing} missing`,
    counts.extra && `${counts.extra} extra`,
    counts.different && `${counts.different} different`,
    counts.unverified && `${counts.unverified} unverified`,
  ].filter(Boolean);
  const finished = Date.now();
  return {
    checker: 'redis',
    ok: status === 'consistent',
    status,
    summary: `${counts.keysSource} source keys vs ${counts.keysTarget} target keys: ${status}${parts.length ? ` (${parts.join(', ')})` : ''}`,
    counts,
    findings,
    findingsOmitted: omitted,
    evidence: {
      source: sourceName,
      target: targetName,
      match: options.match,
      dbsize: { source: dbsizeSource, target: dbsizeTarget },
      replication: catchUp,
    },
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
  };
}

/**
 * SCAN in batches of keys as Buffers (keys are binary-safe). SCAN may return a key twice while
 * the keyspace rehashes; that can only repeat a comparison, never hide a key.
 */
async function* scanBatches(
  client: Redis,
  options: RedisOptions,
  ctx: CheckContext,
): AsyncGenerator<Buffer[]> {
  let cursor = '0';
  do {
    if (ctx.signal.aborted) throw new Error('interrupted');
    const [next, keys] = await client.scanBuffer(cursor, 'MATCH', options.match, 'COUNT', options.batch);
    cursor = next.toString();
    if (keys.length) yield keys;
  } while (cursor !== '0');
}

async function connect(url: string, label: string): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${label}: not a Redis URL`, {
      hint: 'write it as redis://[:password@]host:6379[/db]',
    });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`${label}: scheme must be redis:// or rediss://, got ${parsed.protocol}//`, {
      hint: 'write it as redis://[:password@]host:6379[/db]',
    });
  }
  if (parsed.password) registerSecret(decodeURIComponent(parsed.password));
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis reports an AUTH failure on 'error' and rejects connect() only with "Connection is closed".
  let lastError: Error | undefined;
  client.on('error', (err: Error) => (lastError = err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    const message = [lastError?.message, (err as Error).message].filter(Boolean).join('; ');
    const auth = /NOAUTH|WRONGPASS|invalid password|Authentication/i.test(message);
    throw new ConnectionError(
      redact(`${label} ${describe(url)}: ${auth ? 'authentication failed' : 'cannot connect'} (${message})`),
      {
        hint: auth
          ? 'check the password in the URL (redis://:password@host:6379) or the ACL user'
          : 'check host and port, and that redis-server listens there',
      },
    );
  }
  return client;
}

/** host:port/db of a Redis URL, never the password. */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.hostname}:${u.port || '6379'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return '(malformed URL)';
  }
}
