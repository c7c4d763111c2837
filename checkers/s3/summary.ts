import type { CheckStatus } from '../types.js';

/** Per bucket pair, as kept in the result's evidence. */
export interface BucketTotals {
  source: { endpoint: string; bucket: string; prefix: string; exists: boolean };
  target: { endpoint: string; bucket: string; prefix: string; exists: boolean };
  sourceObjects: number;
  targetObjects: number;
  sourceBytes: number;
  targetBytes: number;
  skippedOlder: number;
  ranges: number;
  listRequests: number;
  same: number;
  missing: number;
  extra: number;
  different: number;
  unverified: number;
  errors: number;
  downloaded: number;
  durationMs: number;
}

const n = (x: number) => x.toLocaleString('en-US');

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** `2 buckets, 100,000 vs 99,998 objects (1.2 MiB vs 1.2 MiB): 2 missing, 1 unverified`. */
export function summarize(
  c: Record<string, number>,
  status: CheckStatus,
  since: Date | undefined,
  basis = 'by size + ETag',
): string {
  const g = (k: string) => c[k] ?? 0;
  const head =
    `${n(g('buckets'))} bucket${g('buckets') === 1 ? '' : 's'}, ` +
    `${n(g('sourceObjects'))} vs ${n(g('targetObjects'))} objects ` +
    `(${formatBytes(g('sourceBytes'))} vs ${formatBytes(g('targetBytes'))})`;
  const scope = since
    ? `, content of ${n(g('skippedOlder'))} not modified since ${since.toISOString()} not compared`
    : '';
  if (status === 'consistent') return `${head}${scope}: consistent (${n(g('same'))} same ${basis})`;
  const parts = (
    [
      ['missing', 'missing on target'],
      ['extra', 'only on target'],
      ['different', 'different'],
      ['unverified', 'unverified'],
      ['errors', 'errors'],
    ] as const
  )
    .filter(([k]) => g(k) > 0)
    .map(([k, label]) => `${n(g(k))} ${label}`);
  return `${head}${scope}: ${parts.join(', ')} (${n(g('same'))} same ${basis})`;
}
