import { setTimeout as sleep } from 'node:timers/promises';
import { retryDelayMs } from '../engine/retry.js';
import type { NotifyChannel } from '../runbook/schema.js';
import { formatDuration } from '../util/duration.js';
import { VERSION } from '../version.js';

/** One message for one channel, its body already rendered and masked. */
export interface Delivery {
  channel: string;
  notice: string;
  about?: string | undefined;
  cause: number;
  body: string;
}

export type DeliveryOutcome =
  | { ok: true; delivery: Delivery; attempts: number; httpStatus: number; durationMs: number }
  | { ok: false; delivery: Delivery; attempts: number; reason: string };

/**
 * One channel's deliveries: a bounded FIFO sent one at a time (so a channel sees events in order
 * and a slow receiver holds at most one connection), each request with a timeout, failures
 * retried with exponential backoff. Nothing here is awaited by the run: `push` returns at once;
 * `drain` and `close` are for the end of the run.
 */
export class ChannelQueue {
  private readonly waiting: Delivery[] = [];
  private pumping: Promise<void> | undefined;
  private readonly closing = new AbortController();

  constructor(
    private readonly channel: NotifyChannel,
    private readonly settle: (outcome: DeliveryOutcome) => void,
  ) {}

  get name(): string {
    return this.channel.name;
  }

  push(d: Delivery): void {
    if (this.closing.signal.aborted) {
      this.settle({ ok: false, delivery: d, attempts: 0, reason: 'the run ended before it could be sent' });
      return;
    }
    if (this.waiting.length >= this.channel.queue) {
      // The newest says most about the run now (its end, the latest failure): the oldest goes.
      const dropped = this.waiting.shift()!;
      this.settle({
        ok: false,
        delivery: dropped,
        attempts: 0,
        reason: `queue full (${this.channel.queue} waiting): the receiver is too slow or down`,
      });
    }
    this.waiting.push(d);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** Resolves when nothing waits or is in flight. */
  async drain(): Promise<void> {
    while (this.pumping !== undefined) await this.pumping;
  }

  /** Gives up whatever is still queued or in flight (the in-flight request is aborted). */
  async close(reason: string): Promise<void> {
    this.closing.abort(new Error(reason));
    for (const d of this.waiting.splice(0)) this.settle({ ok: false, delivery: d, attempts: 0, reason });
    await this.pumping;
  }

  private async pump(): Promise<void> {
    for (let d = this.waiting.shift(); d !== undefined; d = this.waiting.shift()) {
      this.settle(await this.send(d));
    }
  }

  private async send(d: Delivery): Promise<DeliveryOutcome> {
    const { retry, timeoutMs } = this.channel;
    const t0 = performance.now();
    let reason = 'not sent';
    let attempts = 0;
    for (let attempt = 1; attempt <= retry.count + 1; attempt++) {
      if (this.closing.signal.aborted) break;
      attempts = attempt;
      const r = await this.post(d.body, timeoutMs);
      if (r.ok) {
        return {
          ok: true,
          delivery: d,
          attempts,
          httpStatus: r.status,
          durationMs: Math.round(performance.now() - t0),
        };
      }
      reason = r.reason;
      if (!r.retryable || attempt > retry.count) break;
      const delay = Math.max(retryDelayMs(retry, attempt), Math.min(r.retryAfterMs ?? 0, retry.maxMs));
      try {
        await sleep(delay, undefined, { signal: this.closing.signal });
      } catch {
        break;
      }
    }
    if (this.closing.signal.aborted) {
      const why = (this.closing.signal.reason as Error).message;
      reason = attempts === 0 ? why : `${why}; last attempt: ${reason}`;
    }
    return { ok: false, delivery: d, attempts, reason };
  }

  private async post(
    body: string,
    timeoutMs: number,
  ): Promise<
    | { ok: true; status: number }
    | { ok: false; retryable: boolean; reason: string; retryAfterMs?: number | undefined }
  > {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(this.channel.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': `drctl/${VERSION}`,
          // No idle keep-alive socket left to hold drctl's exit for a second after the run.
          connection: 'close',
          ...this.channel.headers,
        },
        body,
        // A redirect would carry the headers (secrets) elsewhere: it counts as a refusal.
        redirect: 'manual',
        signal: AbortSignal.any([timeout, this.closing.signal]),
      });
      // Only the status matters; the body is dropped so the connection is free again.
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      const retryable = res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500;
      const after = Number(res.headers.get('retry-after'));
      return {
        ok: false,
        retryable,
        reason: `HTTP ${res.status}${retryable ? '' : ' (not retried: the receiver refused the request; check the URL and headers)'}`,
        retryAfterMs: Number.isFinite(after) && after > 0 ? after * 1000 : undefined,
      };
    } catch (err) {
      if (timeout.aborted)
        return { ok: false, retryable: true, reason: `no answer within ${formatDuration(timeoutMs)}` };
      if (this.closing.signal.aborted) return { ok: false, retryable: false, reason: 'request cut off' };
      return { ok: false, retryable: true, reason: describeFetchError(err) };
    }
  }
}

/** `fetch failed` says nothing: the cause (ECONNREFUSED, ENOTFOUND, a TLS error) does. */
function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause as NodeJS.ErrnoException | undefined;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): is the receiver up?';
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
