import type { Redis } from 'ioredis';
import { redact } from '../util/redact.js';
import { findResource, matchesExpected } from './resource.js';
import { abortReason } from './run.js';
import type { StepContext, StepHandler, StepOutcome } from './types.js';

type RedisAction = Parameters<StepHandler<'redis'>['execute']>[0]['redis'];

/** How long a closing connection waits for the server before its socket is destroyed. */
const DISCONNECT_MS = 250;
/**
 * Deadlines of their own, for a step without a timeout against a Redis that accepts the TCP
 * connection but never answers (frozen): the connect (up to the ready check), and each command.
 */
export const REDIS_CONNECT_MS = 10_000;
export const REDIS_COMMAND_MS = 60_000;
const COMMAND_TIMED_OUT = 'Command timed out';

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
    // Loaded on first use: a run without redis steps does not pay for ioredis at start-up.
    const { Redis } = await import('ioredis');
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: REDIS_CONNECT_MS,
      commandTimeout: REDIS_COMMAND_MS,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      // disconnect() ends the socket and destroys it after this long: a frozen server never
      // answers the FIN, and the commands in flight fail only when the socket closes.
      disconnectTimeout: DISCONNECT_MS,
    });
    // The socket's own error (refused, unreachable, a reply that is not RESP): connect() only
    // rejects with "Connection is closed." after it.
    let socketError: Error | undefined;
    client.on('error', (e: Error) => (socketError = e));
    const onAbort = (): void => client.disconnect();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) onAbort();
    let writing = false;
    let connected = false;
    try {
      await connectWithin(client, REDIS_CONNECT_MS);
      connected = true;
      const sets = Object.entries(r.set ?? {}).map(([k, v]) => [k, String(v)] as const);
      const del = delKeys(r);
      if (sets.length > 0 || del.length > 0) {
        writing = true;
        const failure = await writeAtomically(client, sets, del, ctx);
        writing = false;
        if (failure) return { ok: false, error: redact(`redis on ${r.resource}: ${failure}`) };
      }
      if (r.get) {
        const value = await client.get(r.get);
        ctx.log(redact(`redis get ${r.get} = ${JSON.stringify(value)}`));
        ctx.recordEffect({ target: `get ${r.get}`, outcome: 'read', detail: redact(JSON.stringify(value)) });
      }
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
      const why = ctx.signal.aborted
        ? abortReason(ctx.signal)
        : (err as Error).message === COMMAND_TIMED_OUT
          ? `no answer from Redis within ${REDIS_COMMAND_MS / 1000} s`
          : explainFailure(err as Error, socketError, connected, hostPort(url));
      if (writing) {
        // The connection went away with MULTI/EXEC in flight: all keys or none changed.
        ctx.recordEffect({ target: 'keys', outcome: 'unknown', detail: redact(why) });
        return {
          ok: false,
          retryable: false,
          error: redact(
            `redis on ${r.resource} failed: ${why} (EXEC was in flight: check whether the keys changed)`,
          ),
        };
      }
      return { ok: false, error: redact(`redis on ${r.resource} failed: ${why}`) };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      client.disconnect();
    }
  },
};

/**
 * Writes every `set` and `del` in one MULTI/EXEC: a command Redis refuses when it is queued (no
 * permission for a key, a wrong argument) discards the whole transaction, so no key changes.
 * `SET` replaces the value and removes any TTL (the key becomes persistent); the previous value
 * and TTL are read in the same transaction and journaled. Returns a failure text, or undefined.
 */
async function writeAtomically(
  client: Redis,
  sets: (readonly [string, string])[],
  del: string[],
  ctx: StepContext,
): Promise<string | undefined> {
  const tx = client.multi();
  for (const [k, v] of sets) tx.pttl(k).get(k).set(k, v);
  if (del.length > 0) tx.del(...del);
  let results: [Error | null, unknown][] | null;
  try {
    results = await tx.exec();
  } catch (err) {
    // Closed by the timeout or abort, or no answer, with EXEC sent: the caller records the
    // outcome as unknown.
    if (ctx.signal.aborted || (err as Error).message === COMMAND_TIMED_OUT) throw err;
    const why = describeRedisError(err);
    ctx.recordEffect({ target: 'keys', outcome: 'not-run', detail: redact(`transaction discarded: ${why}`) });
    return `no key changed: the transaction was refused (${why})`;
  }
  if (results === null) {
    ctx.recordEffect({ target: 'keys', outcome: 'not-run', detail: 'transaction aborted' });
    return 'no key changed: the transaction was aborted';
  }
  // EXEC ran: Redis applies every command that did not fail on its own; say which did.
  const changed: string[] = [];
  const failed: string[] = [];
  sets.forEach(([k, v], i) => {
    const [ttlRes, oldRes, setRes] = results.slice(i * 3, i * 3 + 3);
    if (setRes?.[0]) {
      failed.push(`set ${k}: ${setRes[0].message}`);
      return;
    }
    const ttl = typeof ttlRes?.[1] === 'number' ? ttlRes[1] : -1;
    const old = oldRes?.[0] ? '(not a string)' : JSON.stringify(oldRes?.[1] ?? null);
    changed.push(
      `set ${k}=${JSON.stringify(v)} (was ${old}${ttl >= 0 ? `, TTL ${Math.ceil(ttl / 1000)}s removed` : ''})`,
    );
  });
  if (del.length > 0) {
    const d = results.at(-1);
    if (d?.[0]) failed.push(`del ${del.join(' ')}: ${d[0].message}`);
    else changed.push(`del ${del.join(' ')} (${String(d?.[1])} removed)`);
  }
  if (changed.length > 0)
    ctx.recordEffect({ target: 'keys', outcome: 'committed', detail: redact(changed.join('; ')) });
  if (failed.length > 0) {
    ctx.recordEffect({ target: 'keys', outcome: 'failed', detail: redact(failed.join('; ')) });
    return `${failed.join('; ')}; changed: ${changed.length > 0 ? changed.join('; ') : 'nothing'}`;
  }
  ctx.log(redact(`redis: ${changed.join('; ')}`));
  return undefined;
}

/** `host:port` of a redis URL, never its password. */
function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'the server';
  }
}

/** What went wrong, for a person: the network cause of a failed connect, not "Connection is closed." */
function explainFailure(
  err: Error,
  socketError: Error | undefined,
  connected: boolean,
  where: string,
): string {
  const text = [socketError?.message, err.message].filter(Boolean).join('; ');
  if (/Unknown RESP type|Protocol error|Please report this/i.test(text))
    return `${where} does not speak the Redis protocol (something else listens on that port?)`;
  if (connected) return err.message;
  const code = errnoCode(socketError);
  const cause =
    code === 'ECONNREFUSED'
      ? 'connection refused (nothing listens there)'
      : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
        ? 'the host is unreachable from here'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'the host name does not resolve'
          : code === 'ETIMEDOUT'
            ? 'no answer while connecting'
            : socketError
              ? socketError.message
              : /Connection is closed/.test(err.message)
                ? 'the server closed the connection without answering (not Redis, or it expects TLS: rediss://)'
                : err.message;
  return `cannot connect to ${where}: ${cause}`;
}

function describeRedisError(err: unknown): string {
  const e = err as Error & { previousErrors?: Error[] };
  const first = e.previousErrors?.[0]?.message;
  return first ? `${first}` : e.message;
}

/** connect() up to the ready check, or an error after ms (the finally of the step disconnects). */
function connectWithin(client: Redis, ms: number): Promise<void> {
  const connecting = client.connect();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      connecting.catch(() => undefined);
      reject(new Error(`no answer from Redis within ${ms / 1000} s of connecting`));
    }, ms);
  });
  return Promise.race([connecting, late]).finally(() => clearTimeout(timer));
}

/** The `code` of a Node system error (ECONNREFUSED, …), if any. */
function errnoCode(err: unknown): string | undefined {
  const code: unknown = err !== null && typeof err === 'object' && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : undefined;
}
