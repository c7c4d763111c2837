import { setTimeout as sleep } from 'node:timers/promises';

/** A shared rows-per-second budget across every table worker; 0 means unlimited. */
export interface RateLimiter {
  take(rows: number, signal?: AbortSignal): Promise<void>;
}

export function createRateLimiter(rowsPerSecond: number): RateLimiter {
  if (!(rowsPerSecond > 0)) return { take: () => Promise.resolve() };
  let nextFree = performance.now();
  return {
    async take(rows, signal) {
      const now = performance.now();
      // Rows already read are paid for: the next reader waits until the budget has refilled.
      nextFree = Math.max(nextFree, now) + (rows / rowsPerSecond) * 1000;
      const wait = nextFree - now;
      if (wait > 0) await sleep(wait, undefined, signal ? { signal } : undefined);
    },
  };
}
