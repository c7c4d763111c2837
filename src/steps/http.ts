import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { redact } from '../util/redact.js';
import { abortReason } from './run.js';
import type { StepContext, StepHandler, StepOutcome } from './types.js';

type HttpSpec = Parameters<StepHandler<'http'>['execute']>[0]['http'];

/** Redirects followed at most. */
const MAX_REDIRECTS = 10;
/** Body kept for the expectations and the failure message. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/**
 * Deadline of the TCP connect (and TLS handshake) of each request, whatever the step timeout: a
 * host that drops SYNs (or a frozen server whose accept queue is full) would otherwise hold a step
 * without a timeout for the kernel's ~2 minutes.
 */
export const HTTP_CONNECT_MS = 10_000;
/** Headers still sent after a redirect to another origin; every other header may carry a secret. */
const CROSS_ORIGIN_SAFE = new Set(['accept', 'accept-language', 'content-language', 'user-agent']);

function okStatus(status: number, expected: number | number[] | undefined): boolean {
  if (expected === undefined) return status >= 200 && status < 300;
  return (Array.isArray(expected) ? expected : [expected]).includes(status);
}

function expectsStatus(status: number, expected: number | number[] | undefined): boolean {
  return expected !== undefined && (Array.isArray(expected) ? expected : [expected]).includes(status);
}

/** The resource the step talks to: http.resource, else an http resource named by the step's `resource:`. */
function resourceOf(
  h: HttpSpec,
  ctx: StepContext,
): Extract<StepContext['resources'][string], { kind: 'http' }> | string | undefined {
  const name = h.resource ?? ctx.step.resources.find((n) => ctx.resources[n]?.kind === 'http');
  if (name === undefined) return undefined;
  const r = ctx.resources[name];
  if (r === undefined) return `resource "${name}" is not declared in the runbook`;
  if (r.kind !== 'http') return `resource "${name}" is a ${r.kind} resource, not http`;
  return r;
}

/** A url starting with / is appended to the resource url (its path kept). */
export function resolveHttpUrl(url: string, base: string | undefined): string {
  if (base === undefined || !url.startsWith('/')) return url;
  return base.replace(/\/+$/, '') + url;
}

/**
 * An HTTP probe or webhook: method, url, headers, body; expected status and body.
 *
 * Redirects are followed by hand (at most 10), except when the expected status is the redirect
 * itself. After a redirect to another origin only harmless headers are sent (never Authorization,
 * cookies, API keys or any other header of the step or resource). 303, and 301/302 after a POST,
 * become a GET without a body, as browsers do. A resource's `ca` (PEM) is trusted for its
 * requests; there is no switch to turn certificate checks off.
 */
export const httpHandler: StepHandler<'http'> = {
  describe({ http: h }) {
    const exp = h.expect?.status === undefined ? '' : ` (expect ${JSON.stringify(h.expect.status)})`;
    const where = h.resource && h.url.startsWith('/') ? `${h.resource}:` : '';
    return redact(`http ${h.method ?? 'GET'} ${where}${h.url}${exp}`);
  },
  async execute({ http: h }, ctx): Promise<StepOutcome> {
    const resource = resourceOf(h, ctx);
    if (typeof resource === 'string') return { ok: false, error: resource, retryable: false };
    const url = resolveHttpUrl(h.url, resource?.url);
    const method = h.method ?? 'GET';
    let ca: string | undefined;
    try {
      ca = resource?.ca === undefined ? undefined : readCa(resource.ca);
    } catch (err) {
      return {
        ok: false,
        error: redact(`http ${url}: cannot read the resource's ca: ${(err as Error).message}`),
        retryable: false,
      };
    }
    // Resource headers first, the step's own win (case-insensitively).
    const headers: Record<string, string> = {};
    for (const [k, v] of [...Object.entries(resource?.headers ?? {}), ...Object.entries(h.headers ?? {})]) {
      headers[k.toLowerCase()] = v;
    }
    let body: string | undefined;
    if (typeof h.body === 'string') body = h.body;
    else if (h.body !== undefined) {
      body = JSON.stringify(h.body);
      headers['content-type'] ??= 'application/json';
    }
    try {
      let current = new URL(url);
      let res: { status: number; headers: IncomingMessage['headers']; text: string } | undefined;
      let currentMethod: string = method;
      for (let hop = 0; ; hop++) {
        res = await send(current, currentMethod, headers, body, ca, ctx.signal);
        const location = res.headers.location;
        const isRedirect = [301, 302, 303, 307, 308].includes(res.status) && typeof location === 'string';
        if (!isRedirect || expectsStatus(res.status, h.expect?.status)) break;
        if (hop >= MAX_REDIRECTS) {
          return { ok: false, error: redact(`http ${method} ${url}: more than ${MAX_REDIRECTS} redirects`) };
        }
        const next = new URL(location, current);
        if (next.origin !== current.origin) {
          for (const k of Object.keys(headers)) if (!CROSS_ORIGIN_SAFE.has(k)) delete headers[k];
          ctx.log(redact(`http redirect to ${next.origin}: step headers not sent there`));
        }
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && currentMethod === 'POST')) {
          currentMethod = currentMethod === 'HEAD' ? 'HEAD' : 'GET';
          body = undefined;
          delete headers['content-type'];
        }
        ctx.log(redact(`http ${res.status} → ${next.href}`));
        current = next;
      }
      const text = res.text;
      const snippet = redact(text.slice(0, 200));
      if (!okStatus(res.status, h.expect?.status)) {
        return {
          ok: false,
          error: redact(
            `http ${method} ${url}: status ${res.status}, expected ${JSON.stringify(h.expect?.status ?? '2xx')}`,
          ),
          outputTail: [snippet],
        };
      }
      if (h.expect?.body !== undefined && !text.includes(h.expect.body)) {
        return {
          ok: false,
          error: redact(`http ${url}: body does not contain ${JSON.stringify(h.expect.body)}`),
          outputTail: [snippet],
        };
      }
      if (h.expect?.bodyMatches !== undefined && !new RegExp(h.expect.bodyMatches).test(text)) {
        return {
          ok: false,
          error: redact(`http ${url}: body does not match /${h.expect.bodyMatches}/`),
          outputTail: [snippet],
        };
      }
      return { ok: true, exitCode: undefined };
    } catch (err) {
      const why = ctx.signal.aborted ? abortReason(ctx.signal) : describeRequestError(err);
      return { ok: false, error: redact(`http ${method} ${url} failed: ${why}`) };
    }
  },
};

function readCa(ca: string): string {
  return ca.includes('-----BEGIN') ? ca : readFileSync(ca, 'utf8');
}

async function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  ca: string | undefined,
  signal: AbortSignal,
): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`unsupported protocol ${url.protocol}`);
  }
  // Loaded by the first http step: node:https brings TLS, which a run of commands never needs.
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
        },
        signal,
        ...(url.protocol === 'https:' && ca !== undefined ? { ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => {
      if (!socket.connecting) return; // a kept-alive socket
      const t = setTimeout(
        () => req.destroy(new Error(`no connection within ${HTTP_CONNECT_MS / 1000} s`)),
        HTTP_CONNECT_MS,
      );
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(t));
      socket.once('close', () => clearTimeout(t));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function describeRequestError(err: unknown): string {
  const e = err as Error & { code?: string };
  return e.code ? `${e.code} ${e.message}`.trim() : e.message;
}
