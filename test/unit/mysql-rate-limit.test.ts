import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../checkers/mysql/rate-limit.js';

describe('rows-per-second limiter', () => {
  it('holds readers back to the budget, shared across callers', async () => {
    const limiter = createRateLimiter(2000);
    const t0 = performance.now();
    await Promise.all([limiter.take(500), limiter.take(500), limiter.take(500)]);
    // 1,500 rows at 2,000 rows/s: the last reader may go on after ~750 ms.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(700);
  });

  it('is free when unlimited', async () => {
    const t0 = performance.now();
    await createRateLimiter(0).take(1_000_000);
    expect(performance.now() - t0).toBeLessThan(50);
  });

  it('stops waiting when the check is interrupted', async () => {
    const ac = new AbortController();
    const limiter = createRateLimiter(1);
    const waiting = limiter.take(1000, ac.signal);
    ac.abort(new Error('interrupted'));
    await expect(waiting).rejects.toThrow();
  });
});
