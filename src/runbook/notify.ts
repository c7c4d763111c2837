import { dirname } from 'node:path';
import { parseDuration } from '../util/duration.js';
import { registerSecret, registerUrlPassword } from '../util/redact.js';
import type { Diagnostics, Origin } from './diagnostics.js';
import { report } from './expand.js';
import { interpolate, SECRET_ENV_NAME, type InterpolationProblem } from './interpolate.js';
import {
  NOTIFY_EVENTS,
  NotifyChannelSchema,
  NotifySchema,
  type NotifyChannel,
  type NotifyConfig,
  type RetryPolicy,
  type RunbookFile,
} from './schema.js';

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_GRACE_MS = 5000;
const DEFAULT_QUEUE = 100;
/** A delivery is retried 3 times: after 0.5 s, 1 s, 2 s (capped at 10 s). */
const DEFAULT_RETRY: RetryPolicy = { count: 3, backoffMs: 500, factor: 2, maxMs: 10_000 };
/** A `${env:…}` or `${file:…}` inside a value: each one's own value is a secret too. */
/** A header name as HTTP allows it (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const SECRET_EXPR = /\$\{\s*(?:env|file):[^}]*\}/g;

/**
 * `notify:` with vars and secrets resolved. A webhook URL is a credential (Slack's and Teams'
 * carry their token in the path), so every channel URL is registered as a secret whatever its
 * source; a header value is when it comes from `${env:…}`/`${file:…}` or its name says it is
 * one (Authorization, X-Api-Key…). URLs must be http(s); messages never echo them.
 */
/** The fields allowed under `notify:` and in a channel, for "did you mean" hints. */
export function notifyKeys(path: (string | number)[]): string[] | undefined {
  if (path.length === 1) return Object.keys(NotifySchema.shape);
  if (path.length === 3 && path[1] === 'channels') return Object.keys(NotifyChannelSchema.shape);
  return undefined;
}

export function resolveNotify(
  raw: RunbookFile['notify'],
  origin: Origin,
  scope: Record<string, unknown>,
  lenient: boolean,
  diags: Diagnostics,
): NotifyConfig | undefined {
  if (raw === undefined) return undefined;
  const ctx = { baseDir: dirname(origin.file.path), scope, lenient };
  const resolveText = (text: string, sub: (string | number)[]): { value: string; ok: boolean } => {
    const problems: InterpolationProblem[] = [];
    const value = interpolate(text, ctx, problems);
    report(diags, origin, sub, problems);
    // Each secret expression's own value, so a token is masked also where it appears alone.
    for (const m of text.matchAll(SECRET_EXPR)) {
      const part = interpolate(m[0], ctx, []);
      if (typeof part === 'string') registerSecret(part);
    }
    if (typeof value !== 'string') {
      diags.at(origin, sub, `expected text, got a ${Array.isArray(value) ? 'list' : typeof value}`, {
        hint: '${file:…} of a .yaml or .json file is parsed: keep the URL or token in a plain text file',
      });
      return { value: '', ok: false };
    }
    return { value, ok: problems.length === 0 };
  };

  let bridgeUrl: string | undefined;
  if (raw.bridgeUrl !== undefined) {
    const r = resolveText(raw.bridgeUrl, ['bridgeUrl']);
    if (r.ok && checkHttpUrl(r.value, origin, ['bridgeUrl'], diags, true))
      bridgeUrl = r.value.replace(/\/+$/, '');
  }

  const channels: NotifyChannel[] = [];
  for (const [name, ch] of Object.entries(raw.channels)) {
    const at = ['channels', name];
    const url = resolveText(ch.url, [...at, 'url']);
    registerSecret(url.value);
    registerUrlPassword(url.value);
    if (url.ok) checkHttpUrl(url.value, origin, [...at, 'url'], diags, false);
    const headers: Record<string, string> = {};
    for (const [header, text] of Object.entries(ch.headers ?? {})) {
      if (!HEADER_NAME.test(header)) {
        diags.at(origin, [...at, 'headers', header], `"${header}" is not a header name`, {
          atKey: true,
          hint: "a header name is letters, digits and !#$%&'*+.^_`|~- (no spaces), e.g. X-Api-Key",
        });
        continue;
      }
      const h = resolveText(text, [...at, 'headers', header]);
      const fromSecret = SECRET_EXPR.test(text);
      SECRET_EXPR.lastIndex = 0;
      if (fromSecret || SECRET_ENV_NAME.test(header)) registerSecret(h.value);
      if (!fromSecret && SECRET_ENV_NAME.test(header)) {
        diags.at(origin, [...at, 'headers', header], `the ${header} header is written in the runbook`, {
          severity: 'warning',
          hint: `keep credentials out of runbook files: ${header}: Bearer \${env:NAME} or \${file:path}`,
        });
      }
      if (/[\r\n\0]/.test(h.value)) {
        diags.at(origin, [...at, 'headers', header], 'a header value cannot hold a line break or NUL', {
          hint: '${file:…} texts are trimmed; check the secret holds one line',
        });
      }
      headers[header] = h.value;
    }
    channels.push({
      name,
      format: ch.format,
      url: url.value,
      headers,
      events: ch.events ? [...new Set(ch.events)] : [...NOTIFY_EVENTS],
      timeoutMs: ch.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(ch.timeout)!,
      retry: retryPolicy(ch.retries),
      queue: ch.queue ?? DEFAULT_QUEUE,
    });
  }
  return {
    ...(bridgeUrl === undefined ? {} : { bridgeUrl }),
    graceMs: raw.grace === undefined ? DEFAULT_GRACE_MS : parseDuration(raw.grace)!,
    channels,
  };
}

function retryPolicy(r: NonNullable<RunbookFile['notify']>['channels'][string]['retries']): RetryPolicy {
  if (r === undefined) return DEFAULT_RETRY;
  if (typeof r === 'number') return { ...DEFAULT_RETRY, count: r };
  return {
    count: r.count,
    backoffMs: r.backoff === undefined ? DEFAULT_RETRY.backoffMs : parseDuration(r.backoff)!,
    factor: r.factor ?? DEFAULT_RETRY.factor,
    maxMs: r.max === undefined ? DEFAULT_RETRY.maxMs : parseDuration(r.max)!,
  };
}

/** An absolute http(s) URL with a host; the message never shows the URL (it may be a secret). */
function checkHttpUrl(
  text: string,
  origin: Origin,
  sub: (string | number)[],
  diags: Diagnostics,
  bridge: boolean,
): boolean {
  const hint = bridge
    ? 'e.g. https://bridge.bank.internal:8443'
    : 'write the webhook URL the receiver gave you, e.g. ${env:SLACK_WEBHOOK_URL}';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    diags.at(origin, sub, 'not an absolute URL', { hint });
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    diags.at(origin, sub, `expected an http:// or https:// URL, got ${url.protocol}//`, { hint });
    return false;
  }
  return true;
}
