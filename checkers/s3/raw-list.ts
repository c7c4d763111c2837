import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseListObjectsV2, type ListedPage } from './list-xml.js';

/**
 * ListObjectsV2 against an explicit path-style endpoint (Ceph RGW, MinIO, …) without the SDK's
 * request pipeline, which costs ~5 ms of CPU per request on a 2-core host (endpoint rule
 * evaluation, middleware, retry bookkeeping), more than parsing the 1,000 keys of the answer.
 * The SDK still does what matters for security: the client's own signer signs every request
 * with the client's own credential chain (static keys, profiles, refresh). Answers go to the
 * same page parser; errors get the shape of the SDK's (`name` = S3 error code, `$metadata`), so
 * describeS3Error treats both alike; throttling, 5xx and dropped connections are retried with
 * the SDK's standard backoff. Anything else (AWS endpoints, virtual-host style) uses the SDK.
 */

/** sha256 of the empty body: S3 wants the payload hash in a header. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
]);

/** An S3 error answer, shaped like the SDK's service exceptions. */
export class RawS3Error extends Error {
  readonly $metadata: { httpStatusCode: number; clockSkewCorrected?: true };
  readonly $fault: 'client' | 'server';
  constructor(name: string, message: string, status: number, clockSkewCorrected = false) {
    super(message || name);
    this.name = name;
    this.$metadata = { httpStatusCode: status, ...(clockSkewCorrected ? { clockSkewCorrected: true } : {}) };
    this.$fault = status >= 500 ? 'server' : 'client';
  }
}

/** The SDK's threshold: a server clock this far from ours (corrected) resets the offset. */
const CLOCK_SKEW_MS = 300_000;

/**
 * The SDK's clock-skew correction, on the client's own `systemClockOffset` (shared with the
 * SDK's requests of the same client): requests are signed at local time + offset, and an answer
 * whose `Date` is 5 minutes or more from that sets the offset to the server's clock. A request
 * refused for its time (RequestTimeTooSkewed) after a correction is retried once more, as the
 * SDK's retry strategy does; returns whether the offset changed.
 */
export function correctClockSkew(
  config: { systemClockOffset?: number },
  dateHeader: string | undefined,
): boolean {
  if (!dateHeader) return false;
  const server = Date.parse(dateHeader);
  if (!Number.isFinite(server)) return false;
  const offset = config.systemClockOffset ?? 0;
  const now = Date.now();
  if (Math.abs(now + offset - server) < CLOCK_SKEW_MS) return false;
  config.systemClockOffset = server - now;
  return true;
}

/** RFC 3986 escaping, as the SigV4 signer canonicalises the query. */
const escapeUri = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface Signer {
  sign(req: unknown, options?: { signingDate?: Date }): Promise<{ headers: Record<string, string> }>;
}

interface Endpoint {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
}

export interface RawListOptions {
  httpAgent: HttpAgent;
  httpsAgent: HttpsAgent;
  maxAttempts: number;
}

export class RawLister {
  private setup: Promise<{ signer: Signer; endpoint: Endpoint }> | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly opts: RawListOptions,
  ) {}

  private init() {
    const config = this.client.config as unknown as {
      signer: () => Promise<Signer>;
      endpoint: () => Promise<Endpoint>;
    };
    this.setup ??= Promise.all([config.signer(), config.endpoint()]).then(([signer, endpoint]) => ({
      signer,
      endpoint,
    }));
    return this.setup;
  }

  /** One page of `bucket` after `startAfter`, retried like the SDK retries. */
  async listPage(
    bucket: string,
    prefix: string,
    startAfter: string | undefined,
    signal: AbortSignal,
    pageSize = 1000,
  ): Promise<ListedPage> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(bucket, prefix, startAfter, signal, pageSize);
      } catch (err) {
        if (signal.aborted || attempt >= this.opts.maxAttempts || !retryable(err)) throw err;
        // The SDK's standard strategy: full jitter, base 100 ms, at most 20 s.
        await sleep(Math.random() * Math.min(20_000, 100 * 2 ** (attempt - 1)), undefined, { signal });
      }
    }
  }

  private async once(
    bucket: string,
    prefix: string,
    startAfter: string | undefined,
    signal: AbortSignal,
    pageSize: number,
  ): Promise<ListedPage> {
    const { signer, endpoint } = await this.init();
    const clock = this.client.config as { systemClockOffset?: number };
    const query: Record<string, string> = {
      'encoding-type': 'url',
      'list-type': '2',
      'max-keys': String(pageSize),
    };
    if (prefix !== '') query.prefix = prefix;
    if (startAfter !== undefined) query['start-after'] = startAfter;
    const path = `${endpoint.path.replace(/\/+$/, '')}/${escapeUri(bucket)}`;
    const host = endpoint.port === undefined ? endpoint.hostname : `${endpoint.hostname}:${endpoint.port}`;
    const signed = await signer.sign(
      {
        method: 'GET',
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port: endpoint.port,
        path,
        query,
        headers: { host, 'x-amz-content-sha256': EMPTY_SHA256 },
      },
      { signingDate: new Date(Date.now() + (clock.systemClockOffset ?? 0)) },
    );
    const search = Object.keys(query)
      .sort()
      .map((k) => `${escapeUri(k)}=${escapeUri(query[k]!)}`)
      .join('&');
    const https = endpoint.protocol === 'https:';
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        {
          method: 'GET',
          host: endpoint.hostname.replace(/^\[|\]$/g, ''),
          port: endpoint.port,
          path: `${path}?${search}`,
          headers: signed.headers,
          agent: https ? this.opts.httpsAgent : this.opts.httpAgent,
          signal,
        },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const status = res.statusCode ?? 0;
    const date = res.headers.date;
    const corrected = correctClockSkew(clock, date);
    if (status === 200) return parseListObjectsV2(body);
    const text = body.toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
    throw new RawS3Error(code ?? (status === 404 ? 'NotFound' : 'Unknown'), message, status, corrected);
  }
}

function retryable(err: unknown): boolean {
  if (err instanceof RawS3Error) {
    if (err.$metadata.clockSkewCorrected) return true;
    const s = err.$metadata.httpStatusCode;
    return s === 429 || s >= 500 || RETRYABLE_NAMES.has(err.name);
  }
  const code = (err as { code?: string }).code;
  return code !== undefined && RETRYABLE_CODES.has(code);
}
