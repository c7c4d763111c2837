import { ConnectionError, UsageError } from '../../shared/errors.js';
import type { EsEndpoint } from '../types.js';

/**
 * A deliberately small HTTP client on Node's built-in fetch (undici). The official
 * @elastic/elasticsearch client refuses servers that are not Elastic's (its product check fails
 * against OpenSearch) and the OpenSearch client drifts from Elasticsearch 8; the checker needs only
 * a dozen read-only JSON endpoints that all four server lines share, so one client covers
 * Elasticsearch 7/8 and OpenSearch 1/2 and adds no dependency.
 */
/** A response read to the end: status, headers and the body text. */
export interface EsResponse {
  status: number;
  ok: boolean;
  headers: Headers;
  text: string;
}

/** Default deadline of one HTTP exchange (connect, headers and body): 60 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export class EsClient {
  /** The URL without credentials: the only form that is ever printed. */
  readonly display: string;
  private readonly base: string;
  private readonly auth: string | undefined;
  /** What the checker is doing, named in a lost-connection message ("index payments-1"). */
  activity: string | undefined;

  constructor(
    readonly label: 'source' | 'target',
    endpoint: EsEndpoint,
    private readonly signal?: AbortSignal,
    private readonly timeoutMs: number = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {
    const parsed = parseEsUrl(endpoint.url, label);
    const username = endpoint.username ?? parsed.username;
    const password = endpoint.password ?? parsed.password;
    this.base = parsed.base;
    this.display = parsed.base;
    if (endpoint.apiKey) this.auth = `ApiKey ${endpoint.apiKey}`;
    else if (username !== undefined && username !== '')
      this.auth = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  get aborted(): boolean {
    return this.signal?.aborted === true;
  }

  /** JSON request; HTTP errors become ConnectionError/UsageError with the server's reason. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: { allow?: number[] } = {},
  ): Promise<T> {
    const res = await this.send(method, path, body);
    if (res.ok || opts.allow?.includes(res.status)) return (res.text ? JSON.parse(res.text) : {}) as T;
    throw this.httpError(method, path, res.status, res.text);
  }

  /**
   * One exchange read to the end, under a deadline: a frozen (SIGSTOPped) or dying server ends in a
   * ConnectionError naming the side within the request timeout, and an abort of the check's
   * signal ends it at once. 429/503 are retried with backoff. A string body is sent as is
   * (exact JSON); anything else is JSON-encoded.
   */
  async send(method: string, path: string, body?: unknown): Promise<EsResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.auth) headers.authorization = this.auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      this.signal?.throwIfAborted();
      const deadline = AbortSignal.timeout(this.timeoutMs);
      const signal = this.signal ? AbortSignal.any([this.signal, deadline]) : deadline;
      let res: EsResponse;
      try {
        const r = await fetch(this.base + path, {
          method,
          headers,
          ...(payload === undefined ? {} : { body: payload }),
          signal,
        });
        res = { status: r.status, ok: r.ok, headers: r.headers, text: await r.text() };
      } catch (err) {
        if (this.signal?.aborted) throw this.signal.reason ?? err;
        throw this.transportError(method, path, err, deadline.aborted);
      }
      // Back off on overload (429) and brief unavailability (503), then give up.
      if ((res.status === 429 || res.status === 503) && attempt < 5) {
        await sleep(250 * 2 ** attempt, this.signal);
        continue;
      }
      return res;
    }
  }

  private transportError(method: string, path: string, err: unknown, timedOut: boolean): ConnectionError {
    const during = this.activity ? ` during ${this.activity}` : '';
    if (timedOut) {
      return new ConnectionError(
        `the ${this.label} cluster at ${this.display} did not answer ${method} ${stripQuery(path)} within ${this.timeoutMs / 1000}s${during}`,
        {
          hint: `the ${this.label} node may be frozen, overloaded or partitioned; nothing was judged. Raise --request-timeout if its pages are just slow`,
        },
      );
    }
    const cause = describeCause(err);
    const lost = /ECONNRESET|EPIPE|UND_ERR_SOCKET|other side closed|terminated/i.test(cause);
    if (lost) {
      return new ConnectionError(
        `lost the connection to the ${this.label} cluster at ${this.display}${during}: ${cause}`,
        {
          hint: `the ${this.label} node closed the connection (restarted or killed?); nothing was judged, run the check again`,
        },
      );
    }
    return new ConnectionError(
      `cannot reach the ${this.label} cluster at ${this.display}${during}: ${cause}`,
      {
        hint: `check the --${this.label} URL (scheme, host, port) and that the cluster is up`,
      },
    );
  }

  httpError(method: string, path: string, status: number, text: string): Error {
    const reason = extractReason(text);
    const where = `the ${this.label} cluster (${this.display})`;
    if (status === 401) {
      return new ConnectionError(`${where} rejected the credentials (HTTP 401)`, {
        hint: `check the ${this.label} user and password (DRCTL_ES_${this.label.toUpperCase()}_USER / _PASSWORD, --${this.label}-auth-file) or API key`,
      });
    }
    if (status === 403) {
      return new ConnectionError(`${where} refused ${method} ${stripQuery(path)}: ${reason} (HTTP 403)`, {
        hint: 'the checker needs the cluster privilege monitor and the index privileges read and view_index_metadata',
      });
    }
    if (status === 404 && /index_not_found/.test(text)) {
      return new UsageError(
        `${where} has no index matching ${stripQuery(path).split('/')[1] ?? path}: ${reason}`,
        {
          hint: 'check --index (names, comma lists and wildcards such as payments-* are accepted)',
        },
      );
    }
    return new ConnectionError(
      `${where} answered ${method} ${stripQuery(path)} with HTTP ${status}: ${reason}`,
    );
  }
}

export function parseEsUrl(
  url: string,
  label: string,
): { base: string; username: string | undefined; password: string | undefined } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--${label} is not a URL: ${url.replace(/\/\/[^@/]*@/, '//***@')}`, {
      hint: 'expected something like https://es-main.bank.internal:9200',
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UsageError(`--${label} must be an http:// or https:// URL, got ${u.protocol}`, {
      hint: 'expected something like https://es-main.bank.internal:9200',
    });
  }
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  return { base: u.toString().replace(/\/+$/, ''), username, password };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
  });
}

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const own = err instanceof Error ? err.message : String(err);
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return cause?.message ? `${own}: ${cause.message}` : own;
}

function extractReason(text: string): string {
  try {
    const body = JSON.parse(text) as {
      error?: { reason?: string; root_cause?: { reason?: string }[] } | string;
    };
    if (typeof body.error === 'string') return body.error;
    return body.error?.root_cause?.[0]?.reason ?? body.error?.reason ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200) || '(empty body)';
  }
}

function stripQuery(path: string): string {
  return path.split('?')[0] ?? path;
}
