import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../checkers/s3/deadline.js';
import { ConnectionError } from '../../src/errors.js';

/** A request that never answers on its own, only ends when its signal aborts. */
const hang = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));

const scope = (timeoutMs: number, signal = new AbortController().signal) => ({
  side: 'target' as const,
  endpoint: 'http://rgw-dr:7480',
  timeoutMs,
  signal,
});

describe('withDeadline', () => {
  it('ends a request that never answers with a ConnectionError naming side, endpoint and what', async () => {
    const err = await withDeadline(scope(50), 'listing bucket docs', hang).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toBe(
      'target S3 endpoint http://rgw-dr:7480 did not answer within 50ms (listing bucket docs)',
    );
  });

  it("passes the caller's abort through as it is, at once", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const running = withDeadline(scope(60_000, ac.signal), 'x', hang).catch((e: unknown) => e);
    setTimeout(() => ac.abort(new Error('interrupted')), 20);
    const err = await running;
    expect(err).not.toBeInstanceOf(ConnectionError);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('restarts the clock on touch (a download that keeps receiving bytes)', async () => {
    const value = await withDeadline(scope(80), 'downloading', async (signal, touch) => {
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 40));
        signal.throwIfAborted();
        touch();
      }
      return 'done';
    });
    expect(value).toBe('done');
  });
});
