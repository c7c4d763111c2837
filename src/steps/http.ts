import { redact } from '../util/redact.js';
import { abortReason } from './run.js';
import type { StepHandler, StepOutcome } from './types.js';

function okStatus(status: number, expected: number | number[] | undefined): boolean {
  if (expected === undefined) return status >= 200 && status < 300;
  return (Array.isArray(expected) ? expected : [expected]).includes(status);
}

/** An HTTP probe or webhook: method, url, headers, body; expected status and body. */
export const httpHandler: StepHandler<'http'> = {
  describe({ http: h }) {
    const exp = h.expect?.status === undefined ? '' : ` (expect ${JSON.stringify(h.expect.status)})`;
    return redact(`http ${h.method ?? 'GET'} ${h.url}${exp}`);
  },
  async execute({ http: h }, ctx): Promise<StepOutcome> {
    const headers: Record<string, string> = { ...h.headers };
    let body: string | undefined;
    if (typeof h.body === 'string') body = h.body;
    else if (h.body !== undefined) {
      body = JSON.stringify(h.body);
      headers['content-type'] ??= 'application/json';
    }
    try {
      const res = await fetch(h.url, {
        method: h.method ?? 'GET',
        headers,
        ...(body === undefined ? {} : { body }),
        signal: ctx.signal,
      });
      const text = await res.text();
      const snippet = redact(text.slice(0, 200));
      if (!okStatus(res.status, h.expect?.status)) {
        return {
          ok: false,
          error: redact(
            `http ${h.method ?? 'GET'} ${h.url}: status ${res.status}, expected ${JSON.stringify(h.expect?.status ?? '2xx')}`,
          ),
          outputTail: [snippet],
        };
      }
      if (h.expect?.body !== undefined && !text.includes(h.expect.body)) {
        return {
          ok: false,
          error: redact(`http ${h.url}: body does not contain ${JSON.stringify(h.expect.body)}`),
          outputTail: [snippet],
        };
      }
      if (h.expect?.bodyMatches !== undefined && !new RegExp(h.expect.bodyMatches).test(text)) {
        return {
          ok: false,
          error: redact(`http ${h.url}: body does not match /${h.expect.bodyMatches}/`),
          outputTail: [snippet],
        };
      }
      return { ok: true, exitCode: undefined };
    } catch (err) {
      const why = ctx.signal.aborted ? abortReason(ctx.signal) : describeFetchError(err);
      return { ok: false, error: redact(`http ${h.method ?? 'GET'} ${h.url} failed: ${why}`) };
    }
  },
};

function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ? `${e.cause.code} ${e.cause.message ?? ''}`.trim() : e.message;
}
