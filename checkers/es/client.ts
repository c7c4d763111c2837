import { ConnectionError, UsageError } from '../../src/errors.js';
import { registerSecret } from '../../src/util/redact.js';
import type { EsEndpoint } from '../types.js';

/**
 * A deliberately small HTTP client on Node's built-in fetch (undici). The official
 * @elastic/elasticsearch client refuses servers that are not Elastic's (its product check fails
 * against OpenSearch) and the OpenSearch client drifts from Elasticsearch 8; the checker needs only
 * a dozen read-only JSON endpoints that all four server lines share, so one client covers
 * Elasticsearch 7/8 and OpenSearch 1/2 and adds no dependency.
 */
export class EsClient {
  /** The URL without credentials: the only form that is ever printed. */
  readonly display: string;
  private readonly base: string;
  private readonly auth: string | undefined;

  constructor(
    readonly label: 'source' | 'target',
    endpoint: EsEndpoint,
    private readonly signal?: AbortSignal,
  ) {
    const parsed = parseEsUrl(endpoint.url, label);
    const username = endpoint.username ?? parsed.username;
    const password = endpoint.password ?? parsed.password;
    registerSecret(password);
    registerSecret(endpoint.apiKey);
    this.base = parsed.base;
    this.display = parsed.base;
    if (endpoint.apiKey) this.auth = `ApiKey ${endpoint.apiKey}`;
    else if (username !== undefined && username !== '')
      this.auth = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  /** JSON request; HTTP errors become ConnectionError/UsageError with the server's reason. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: { allow?: number[] } = {},
  ): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    if (res.ok || opts.allow?.includes(res.status)) return (text ? JSON.parse(text) : {}) as T;
    throw this.httpError(method, path, res.status, text);
  }

  /** Raw response (status + headers + body text); no error mapping except for unreachable servers. */
  async send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.auth) headers.authorization = this.auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.base + path, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(this.signal ? { signal: this.signal } : {}),
        });
      } catch (err) {
        if (this.signal?.aborted) throw err;
        throw new ConnectionError(
          `cannot reach the ${this.label} cluster at ${this.display}: ${describeCause(err)}`,
          {
            hint: `check the --${this.label} URL (scheme, host, port) and that the cluster is up`,
          },
        );
      }
      // Back off on overload (429) and brief unavailability (503), then give up.
      if ((res.status === 429 || res.status === 503) && attempt < 5) {
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
        continue;
      }
      return res;
    }
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
  registerSecret(password);
  u.username = '';
  u.password = '';
  return { base: u.toString().replace(/\/+$/, ''), username, password };
}

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
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
