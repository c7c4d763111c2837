import { ConfigError, ConnectionError, DrctlError, UsageError } from '../../shared/errors.js';
import { CREDENTIAL_ENV } from './client.js';

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

function networkCode(err: SdkLikeError): string | undefined {
  for (
    let e: unknown = err, depth = 0;
    e && typeof e === 'object' && depth < 4;
    e = (e as SdkLikeError).cause, depth++
  ) {
    const x = e as SdkLikeError;
    if (x.code && NETWORK_CODES.has(x.code)) return x.code;
    if (x.name && NETWORK_CODES.has(x.name)) return x.name;
  }
  return undefined;
}

/**
 * Turns an SDK error into one a person can act on (exit 2), naming the side, endpoint and bucket,
 * never a credential. Anything already a DrctlError passes through.
 */
export function describeS3Error(
  err: unknown,
  where: {
    side: 'source' | 'target';
    endpoint: string;
    bucket?: string | undefined;
    /** What was under way when a connection broke, e.g. `while listing bucket docs`. */
    during?: string | undefined;
  },
): DrctlError {
  if (err instanceof DrctlError) return err;
  const e = (err ?? {}) as SdkLikeError;
  const { side, endpoint, bucket } = where;
  const env = CREDENTIAL_ENV[side];
  const status = e.$metadata?.httpStatusCode;
  // Answers without an error body (HEAD) come back as `Unknown`: the status says more.
  const name =
    e.name === undefined || e.name === 'Unknown' || e.name === 'UnknownError'
      ? `HTTP ${status ?? '?'}`
      : e.name;
  const on = bucket ? ` bucket ${bucket}` : '';
  if (name === 'NoSuchBucket' || (status === 404 && (name === 'NotFound' || name === 'HTTP 404'))) {
    return new UsageError(`${side}${on} does not exist at ${endpoint}`, {
      hint: `check the bucket name in --${side} (or the runbook resource); the ${side} credentials must own or see it`,
      cause: err,
    });
  }
  if (name === 'RequestTimeTooSkewed' || name === 'RequestExpired') {
    return new ConnectionError(
      `${side} ${endpoint} refused the request time${on ? ` for${on}` : ''}: this host's clock and the gateway's differ too much (${name})`,
      {
        hint: "set this host's clock (NTP); drctl signs at the gateway's time once an answer's Date header shows the difference, so the gateway sent no usable Date or its clock is wrong",
        cause: err,
      },
    );
  }
  if (
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    name === 'AccessDenied' ||
    name === 'Forbidden' ||
    status === 403 ||
    status === 401
  ) {
    return new ConnectionError(
      `${side} ${endpoint} refused the credentials for${on || ' the request'} (${name})`,
      {
        hint: `set ${env.id}/${env.secret}, --${side}-profile, or the AWS SDK's usual variables; drctl needs s3:ListBucket (and s3:GetObject for --download)`,
        cause: err,
      },
    );
  }
  if (name === 'CredentialsProviderError') {
    return new ConfigError(`no S3 credentials found for the ${side}`, {
      hint: `set ${env.id}/${env.secret}, --${side}-profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`,
      cause: err,
    });
  }
  const net = networkCode(e);
  if (net) {
    const text = where.during
      ? `the ${side} S3 endpoint ${endpoint} stopped answering ${where.during} (${net})`
      : `cannot reach the ${side} S3 endpoint ${endpoint} (${net})`;
    return new ConnectionError(text, {
      hint: `check --${side}-endpoint and that the gateway is up; requests were retried with backoff`,
      cause: err,
    });
  }
  if (name === 'AbortError') return new DrctlError('interrupted', { exitCode: 130, cause: err });
  const statusText = status === undefined || name.startsWith('HTTP ') ? '' : ` (HTTP ${status})`;
  return new ConnectionError(`${side} S3 request failed at ${endpoint}${on}: ${name}${statusText}`, {
    hint: 'throttling and 5xx answers were retried with backoff; check the gateway logs',
    cause: err,
  });
}
