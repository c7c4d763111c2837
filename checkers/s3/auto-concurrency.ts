import { availableParallelism } from 'node:os';

/** Key ranges listed at once when the server is elsewhere: listing is then mostly waiting. */
export const REMOTE_CONCURRENCY = 8;

function isLoopback(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  let host: string;
  try {
    host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Key ranges listed at once per bucket when --concurrency is not given. A range costs CPU on
 * both ends (each page is signed, served, sent and parsed): against a server on this host the
 * two share the cores, so extra ranges only add splitting work (measured on 2 cores with Ceph RGW
 * here: 1 range listed 2 × 20,000 keys in 1.06 s CPU, 8 ranges in 1.7–2.1 s and more wall time).
 * There, one range per two cores; a remote server is latency-bound, where 8 ranges hide the
 * round trips. Small buckets are never split either way (a range splits only after its first
 * pages), so they never pay for concurrency.
 */
export function autoConcurrency(endpoints: (string | undefined)[], cores = availableParallelism()): number {
  if (endpoints.some(isLoopback)) return Math.max(1, Math.floor(cores / 2));
  return REMOTE_CONCURRENCY;
}
