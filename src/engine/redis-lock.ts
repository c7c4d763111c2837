import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError, ConnectionError } from '../errors.js';
import { formatDuration } from '../util/duration.js';
import { redact } from '../util/redact.js';
import { describeHolder, type LockHolder } from './lock.js';

/** A runbook's `lock: { redis }`, resolved (see the runbook schema). */
export interface RedisLockConfig {
  /** redis:// or rediss:// URL; its password is registered as a secret by the loader. */
  url: string;
  /** Default `drctl:lock:{<environment>}` (the braces keep key and fence in one cluster slot). */
  key: string;
  /** How long the key lives without renewal: a dead holder frees it after this (default 30 s). */
  ttlMs: number;
}

/** A round trip to the lock server never takes longer than this (nor than a third of the TTL). */
const ROUND_TRIP_MS = 3000;

// KEYS[1] lock key, KEYS[2] fence counter; ARGV[1] our value, ARGV[2] ttl ms.
// The key is set and the fence bumped in one atomic step: whoever holds the key holds the newest token.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
return {0, redis.call('GET', KEYS[1]) or '', redis.call('PTTL', KEYS[1])}`;

// Renew (compare-and-PEXPIRE) and prove the token is still the newest; ARGV[3] our token.
const RENEW = `
local v = redis.call('GET', KEYS[1])
if v ~= ARGV[1] then return {0, v or ''} end
local f = redis.call('GET', KEYS[2])
if f ~= ARGV[3] then return {2, f or ''} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, ''}`;

// Compare-and-DEL: never delete a lock someone else holds now.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** host:port[/db] of a Redis URL, never its password. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    const db = u.pathname.replace(/^\/+|\/+$/g, '');
    return `redis ${u.hostname}:${u.port || '6379'}${db ? `/${db}` : ''}`;
  } catch {
    return 'redis (unparsable URL)';
  }
}

/**
 * The lock shared by every host that may switch an environment: a Redis key set with NX and a
 * TTL, renewed every TTL/3 while the run lives, and a fencing token (a counter bumped at each
 * acquisition) checked before each step starts. A holder that dies stops renewing, so the key
 * expires and the next switch takes it with a higher token.
 */
export class RedisLock {
  private timer: NodeJS.Timeout | undefined;
  /** Why the lock is no longer ours, once known. */
  private lost: string | undefined;
  /** performance.now() when the last successful renewal was sent: the key lives at least ttl past it. */
  private leaseFrom: number;
  private released = false;

  private constructor(
    private readonly client: Redis,
    readonly config: RedisLockConfig,
    readonly where: string,
    private readonly value: string,
    readonly token: number,
    sentAt: number,
  ) {
    this.leaseFrom = sentAt;
  }

  /**
   * Takes the lock or throws: exit 2 when it is held (naming the holder, where and since when,
   * and when it expires) or when the lock server cannot be reached.
   */
  static async acquire(config: RedisLockConfig, holder: LockHolder): Promise<RedisLock> {
    const where = describeRedisUrl(config.url);
    const roundTripMs = Math.min(ROUND_TRIP_MS, Math.max(200, Math.floor(config.ttlMs / 3)));
    const client = new Redis(config.url, {
      lazyConnect: true,
      connectTimeout: roundTripMs,
      commandTimeout: roundTripMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      disconnectTimeout: 500,
    });
    let lastError: Error | undefined;
    client.on('error', (err: Error) => (lastError = err));
    const value = JSON.stringify({ ...holder, nonce: randomBytes(8).toString('hex') });
    const sentAt = performance.now();
    let reply: [number, number | string, number?];
    try {
      await client.connect();
      reply = (await client.eval(ACQUIRE, 2, config.key, fenceKey(config.key), value, config.ttlMs)) as [
        number,
        number | string,
        number?,
      ];
    } catch (err) {
      client.disconnect();
      const why = lastError?.message ?? (err as Error).message;
      throw new ConnectionError(redact(`cannot reach the lock server ${where}: ${why}`), {
        hint: `the runbook's lock: needs it to prove that no other host is switching ${holder.environment}; check the server and its password, then start again`,
      });
    }
    if (reply[0] !== 1) {
      client.disconnect();
      throw refusal(holder.environment, where, config, String(reply[1]), Number(reply[2] ?? -1));
    }
    // From now on a dropped connection is re-established (renewals fail fast meanwhile, and the
    // lease covers the gap); only the first connect had to fail at once.
    client.options.retryStrategy = (times: number) => Math.min(100 * times, 1000);
    const lock = new RedisLock(client, config, where, value, Number(reply[1]), sentAt);
    lock.timer = setInterval(() => void lock.renew(), Math.max(100, Math.floor(config.ttlMs / 3)));
    lock.timer.unref();
    return lock;
  }

  /**
   * undefined while the lock is ours; else why not. Asks the server (and renews); when the server
   * does not answer, the lock is still ours while the last renewal's TTL runs (less 10 % for clock
   * drift), since nobody can take the key before it expires.
   */
  async check(): Promise<string | undefined> {
    if (this.lost === undefined) await this.renew();
    if (this.lost !== undefined) return this.lost;
    return undefined;
  }

  private async renew(): Promise<void> {
    if (this.released || this.lost !== undefined) return;
    const sentAt = performance.now();
    try {
      const [ok, seen] = (await this.client.eval(
        RENEW,
        2,
        this.config.key,
        fenceKey(this.config.key),
        this.value,
        this.config.ttlMs,
        String(this.token),
      )) as [number, string];
      if (ok === 1) {
        this.leaseFrom = sentAt;
        return;
      }
      this.lose(
        ok === 0
          ? seen === ''
            ? `the lock key ${this.config.key} on ${this.where} expired or was deleted`
            : `the lock key ${this.config.key} on ${this.where} is now held by ${describeValue(seen)}`
          : `the fencing token on ${this.where} moved from ${this.token} to ${seen || 'nothing'}: another switch took the lock`,
      );
    } catch (err) {
      const lease = this.config.ttlMs * 0.9 - (performance.now() - this.leaseFrom);
      if (lease <= 0) {
        this.lose(
          redact(
            `cannot renew the lock on ${this.where} (${(err as Error).message}) and its TTL (${formatDuration(this.config.ttlMs)}) has run out: another host may take it`,
          ),
        );
      }
    }
  }

  private lose(reason: string): void {
    this.lost ??= reason;
    if (this.timer) clearInterval(this.timer);
  }

  /** Stops renewing and deletes the key if it is still ours (compare-and-DEL). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    try {
      if (this.lost === undefined) await this.client.eval(RELEASE, 1, this.config.key, this.value);
    } catch {
      // The key expires by itself within the TTL.
    } finally {
      this.client.disconnect();
    }
  }
}

function fenceKey(key: string): string {
  return `${key}:fence`;
}

function describeValue(value: string): string {
  try {
    const h = JSON.parse(value) as Partial<LockHolder>;
    if (typeof h.runId === 'string') {
      return h.pid !== undefined && h.since !== undefined
        ? describeHolder(h as LockHolder)
        : `run ${h.runId}${h.user ? `, user ${h.user}` : ''}${h.host ? ` on ${h.host}` : ''}`;
    }
  } catch {
    // not ours
  }
  return `another holder (${JSON.stringify(value.slice(0, 80))})`;
}

function refusal(
  environment: string,
  where: string,
  config: RedisLockConfig,
  value: string,
  pttl: number,
): ConfigError {
  const expires =
    pttl > 0
      ? `; expires in ${formatDuration(pttl)} unless its holder renews it`
      : pttl === -1
        ? `; the key has no TTL and never expires by itself: once its holder is known to be gone, DEL ${config.key}`
        : '';
  return new ConfigError(
    redact(
      `environment "${environment}" is locked by another switch: ${describeValue(value)} (lock ${config.key} on ${where}${expires})`,
    ),
    {
      hint: `one switch per environment at a time, on every host: wait for that run to end; a holder that died frees the lock within its TTL (${formatDuration(config.ttlMs)})`,
    },
  );
}
