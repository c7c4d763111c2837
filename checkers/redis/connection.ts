import { Redis } from 'ioredis';
import { ConnectionError, DrctlError, ExitCode, UsageError } from '../../shared/errors.js';
import { redact } from '../../shared/redact.js';

/** An interrupted check (Ctrl-C, a step timeout, a run abort): exit 130, nothing judged. */
export class CheckInterruptedError extends DrctlError {
  constructor(reason: string) {
    super(reason, { exitCode: ExitCode.interrupted });
  }
}

const URL_HINT = 'write it as redis://[:password@]host:6379[/db]';

/** What a URL says before anything is connected: where, and which logical db (if any). */
export interface RedisEndpoint {
  url: string;
  /** `--source` or `--target`: how errors name the side. */
  label: string;
  /** host:port[/db], never the password. */
  name: string;
  /** The db the URL names (`/3`), or undefined when it names none. */
  db: number | undefined;
}

export function parseRedisUrl(url: string, label: string): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${label}: not a Redis URL`, { hint: URL_HINT });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`${label}: scheme must be redis:// or rediss://, got ${parsed.protocol}//`, {
      hint: URL_HINT,
    });
  }
  const path = parsed.pathname.replace(/^\/+|\/+$/g, '');
  let db: number | undefined;
  if (path !== '') {
    if (!/^\d{1,5}$/.test(path))
      throw new UsageError(`${label}: the path of a Redis URL is a db number, got "/${path}"`, {
        hint: URL_HINT,
      });
    db = Number(path);
  }
  const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : '';
  const name = `${user}${parsed.hostname}:${parsed.port || '6379'}${db === undefined ? '' : `/${db}`}`;
  return { url, label, name, db };
}

/**
 * One side of a comparison: a connected client whose every command has a deadline, is ended
 * by the abort signal at once, and fails with an error that names the side.
 */
export class RedisSide {
  private constructor(
    readonly endpoint: RedisEndpoint,
    readonly client: Redis,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal,
  ) {}

  get label(): string {
    return this.endpoint.label;
  }

  /** `--target 127.0.0.1:6380` */
  get who(): string {
    return `${this.endpoint.label} ${this.endpoint.name}`;
  }

  static async connect(endpoint: RedisEndpoint, timeoutMs: number, signal: AbortSignal): Promise<RedisSide> {
    const client = new Redis(endpoint.url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      // no INFO before the first command: a server that does not answer is caught by our PING
      enableReadyCheck: false,
      // the db is chosen by SELECT per compared db, never implicitly
      db: 0,
    });
    // ioredis reports AUTH failures and protocol errors on 'error'; connect() may only say
    // "Connection is closed".
    let lastError: Error | undefined;
    client.on('error', (err: Error) => (lastError = err));
    const side = new RedisSide(endpoint, client, timeoutMs, signal);
    try {
      await side.guard(
        async () => {
          await client.connect();
          await client.ping();
        },
        () => lastError,
        'connect',
      );
    } catch (err) {
      client.disconnect();
      throw err;
    }
    return side;
  }

  /** Runs one round trip (a command or a pipeline) with the side's deadline and the abort signal. */
  run<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
    return this.guard(
      () => fn(this.client),
      () => undefined,
      'command',
    );
  }

  disconnect(): void {
    this.client.disconnect();
  }

  private guard<T>(
    fn: () => Promise<T>,
    lastError: () => Error | undefined,
    phase: 'connect' | 'command',
  ): Promise<T> {
    const signal = this.signal;
    if (signal.aborted) return Promise.reject(interrupted(signal));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(interrupted(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      fn().then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(signal.aborted ? interrupted(signal) : this.translate(err, lastError(), phase));
        },
      );
    });
  }

  /** A driver error as an error a person can act on, naming the side. */
  private translate(err: unknown, last: Error | undefined, phase: 'connect' | 'command'): Error {
    if (err instanceof DrctlError) return err;
    const e = err instanceof Error ? err : new Error(String(err));
    const text = [last?.message, e.message].filter(Boolean).join('; ');
    const who = this.who;
    if (/Unknown RESP type|Protocol error|Please report this/i.test(text)) {
      return new ConnectionError(`${who}: does not speak the Redis protocol (is this the Redis port?)`, {
        hint: 'check host and port: something else answers there',
      });
    }
    if (/NOAUTH|WRONGPASS|invalid password|Authentication required|invalid username-password/i.test(text)) {
      return new ConnectionError(redact(`${who}: authentication failed (${text})`), {
        hint: 'check the password in the URL (redis://:password@host:6379) or the ACL user',
      });
    }
    if (/NOPERM/.test(text)) {
      return new ConnectionError(redact(`${who}: permission denied (${e.message})`), {
        hint: 'the ACL user needs +@read +scan +info +ping +dbsize +select',
      });
    }
    if (/timed out|ETIMEDOUT/i.test(text)) {
      return new ConnectionError(
        `${who}: no reply within ${formatMs(this.timeoutMs)}${phase === 'connect' ? ' while connecting' : ''} (server stopped, overloaded or unreachable)`,
        {
          hint: 'check that the server runs and answers (redis-cli -h … ping); raise --timeout for a slow link',
        },
      );
    }
    if (phase === 'connect') {
      // a Redis server answers PING (even with an error such as max clients); a silent close is
      // something else on that port, or a TLS-only server spoken to in plain text
      const code = errnoCode(last);
      const network: Record<string, string> = {
        ECONNREFUSED: 'connection refused: nothing listens there',
        EHOSTUNREACH: 'the host is unreachable from here',
        ENETUNREACH: 'the host is unreachable from here',
        ENOTFOUND: 'the host name does not resolve',
        EAI_AGAIN: 'the host name does not resolve',
      };
      const cause =
        code !== undefined && code in network
          ? network[code]!
          : /Connection is closed|ECONNRESET/.test(text)
            ? 'the server closed the connection without answering: not Redis, or it expects TLS (rediss://)?'
            : text;
      return new ConnectionError(redact(`${who}: cannot connect (${cause})`), {
        hint: 'check host and port, and that redis-server listens there',
      });
    }
    if (/Connection is closed|ECONNRESET|EPIPE|Stream isn't writeable|ECONNREFUSED|socket/i.test(text)) {
      return new ConnectionError(`lost the connection to ${who} during the check`, {
        hint: 'the server went away (restarted, killed or network cut); run the check again once it is back',
      });
    }
    if (e.name === 'ReplyError') return new ConnectionError(redact(`${who}: ${e.message}`));
    return e;
  }
}

function interrupted(signal: AbortSignal): CheckInterruptedError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'interrupted';
  return new CheckInterruptedError(why);
}

/** `2s`, `1500ms`: the deadline as the user wrote it, not rounded. */
function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The `code` of a Node system error (ECONNREFUSED, …), if any. */
function errnoCode(err: unknown): string | undefined {
  const code: unknown = err !== null && typeof err === 'object' && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : undefined;
}
