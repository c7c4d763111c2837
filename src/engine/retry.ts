/** Delay before retry number `retry` (1-based): backoff × factor^(retry-1), capped at max. */
export function retryDelayMs(
  policy: { backoffMs: number; factor: number; maxMs: number },
  retry: number,
): number {
  return Math.min(policy.maxMs, Math.round(policy.backoffMs * policy.factor ** (retry - 1)));
}
