import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Endpoint } from '../types.js';
import { CREDENTIAL_ENV } from './endpoint.js';
import { parseListObjectsV2, type ListedPage } from './list-xml.js';
import { RawLister } from './raw-list.js';

/** Env vars for per-side static credentials (the SDK chain and profiles work too). */
export { CREDENTIAL_ENV };

/** Attempts per request: throttling (503 SlowDown), 5xx and dropped connections back off and retry. */
export const MAX_ATTEMPTS = 6;

// The raw ListObjectsV2 bodies, keyed by the command input they answer (see installRawListing).
const rawPages = new WeakMap<object, ListedPage>();
// Clients whose listings skip the SDK's request pipeline (see raw-list.ts).
const rawListers = new WeakMap<S3Client, RawLister>();

interface RawResponse {
  statusCode: number;
  body: Readable;
}

/**
 * Parses successful ListObjectsV2 answers with our lean parser before the SDK's deserializer sees
 * them, and hands the SDK an empty document instead. Errors pass through untouched, so typed
 * errors and the retry strategy (which wraps this step) behave as usual.
 */
function installRawListing(client: S3Client): void {
  // Structural types: the SDK's middleware types live in a package drctl does not depend on.
  type Args = { input: object };
  type Out = { response: unknown; output: unknown };
  const middleware =
    (next: (args: Args) => Promise<Out>, context: { commandName?: string }) => async (args: Args) => {
      const out = await next(args);
      const response = out.response as RawResponse;
      if (context.commandName === 'ListObjectsV2Command' && response.statusCode === 200) {
        const chunks: Buffer[] = [];
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
        rawPages.set(args.input, parseListObjectsV2(Buffer.concat(chunks)));
        response.body = Readable.from([Buffer.from('<ListBucketResult></ListBucketResult>')]);
      }
      return out;
    };
  client.middlewareStack.addRelativeTo(middleware as never, {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'drctlRawListObjectsV2',
  });
}

/** One page of `bucket` after `startAfter` (keys url-encoded on the wire, decoded to bytes here). */
export async function listPage(
  client: S3Client,
  bucket: string,
  prefix: string,
  startAfter: string | undefined,
  signal: AbortSignal,
  pageSize = 1000,
): Promise<ListedPage> {
  const raw = rawListers.get(client);
  if (raw) return raw.listPage(bucket, prefix, startAfter, signal, pageSize);
  const input = {
    Bucket: bucket,
    Prefix: prefix === '' ? undefined : prefix,
    StartAfter: startAfter,
    MaxKeys: pageSize,
    EncodingType: 'url' as const,
  };
  await client.send(new ListObjectsV2Command(input), { abortSignal: signal });
  const page = rawPages.get(input);
  if (!page) throw new Error('ListObjectsV2 answer was not captured (SDK middleware order changed?)');
  return page;
}

/** `http://host:port` without userinfo, for messages and evidence. */
export function displayEndpoint(endpoint: string | undefined): string {
  if (!endpoint) return 'AWS default endpoint';
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(invalid endpoint)';
  }
}

/** The SDK's documented switch for its Node-version notice (read in @aws-sdk/core). */
export const SDK_NODE_NOTICE_ENV = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Builds an SDK client without its NodeVersionSupportWarning (on Node < 22 the SDK warns, once
 * per process at the first client, that its releases after January 2027 need Node 22). That
 * notice is for drctl's maintainers, who pin the SDK; drctl says its own Node policy (README).
 * The switch is set only while the client is built (the check runs in its constructor, and the
 * SDK then remembers it has decided), so the run steps drctl starts later inherit no change and
 * no other warning is hidden. An operator who sets the variable keeps their choice.
 */
export function withoutSdkNodeNotice<T>(build: () => T): T {
  if (process.env[SDK_NODE_NOTICE_ENV] !== undefined) return build();
  process.env[SDK_NODE_NOTICE_ENV] = 'true';
  try {
    return build();
  } finally {
    delete process.env[SDK_NODE_NOTICE_ENV];
  }
}

/**
 * An S3 client for one side: path-style (Ceph RGW), checksums only when an operation requires
 * them, the SDK's standard retry strategy, keep-alive sockets for parallel listing.
 */
export function createS3Client(
  ep: S3Endpoint,
  side: 'source' | 'target',
  sockets = 64,
  requestTimeoutMs = 30_000,
): S3Client {
  const env = CREDENTIAL_ENV[side];
  const accessKeyId = ep.accessKeyId ?? process.env[env.id];
  const secretAccessKey = ep.secretAccessKey ?? process.env[env.secret];
  const agentOptions = { keepAlive: true, maxSockets: sockets };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  const forcePathStyle = ep.forcePathStyle ?? true;
  const config: S3ClientConfig = {
    endpoint: ep.endpoint,
    region: ep.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle,
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    ...(ep.profile ? { profile: ep.profile } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      // Per attempt; withDeadline bounds the whole request, retries included. A short connect
      // timeout fails spuriously on a loaded gateway (SYNs queue), and every such failure spends
      // the SDK's retry quota, so the deadline is the bound here too.
      connectionTimeout: requestTimeoutMs,
      requestTimeout: requestTimeoutMs,
      httpAgent,
      httpsAgent,
    },
  };
  const client = withoutSdkNodeNotice(() => new S3Client(config));
  installRawListing(client);
  // An explicit path-style endpoint: the request is a plain GET on /bucket, no endpoint rules.
  if (ep.endpoint && forcePathStyle) {
    rawListers.set(client, new RawLister(client, { httpAgent, httpsAgent, maxAttempts: MAX_ATTEMPTS }));
  }
  return client;
}
