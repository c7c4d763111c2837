const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_RE = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Parses `90s`, `10m`, `1h30m`, `250ms` into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!DURATION_RE.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(PART_RE)) total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return Math.round(total);
}

/**
 * Formats milliseconds as `1h26m05s`, `4m05s`, `12.3s`, `1.25s` or `850ms`. The text is
 * truncated, never rounded up: 59.96 s is `59.9s`, not `60.0s`, so it never crosses a unit or
 * an objective the value has not crossed.
 */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.floor(a)}ms`;
  if (a < 10_000) return `${sign}${(Math.floor(a / 10) / 100).toFixed(2)}s`;
  if (a < 60_000) return `${sign}${(Math.floor(a / 100) / 10).toFixed(1)}s`;
  const totalS = Math.floor(a / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  if (h > 0) return `${sign}${h}h${mm}m${ss}s`;
  return `${sign}${m}m${ss}s`;
}

/** Milliseconds to the millisecond: `1h29m59.960s`, `1m00.040s`, `59.960s`, `850ms`. */
export function formatDurationExact(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const a = Math.floor(Math.abs(ms));
  if (a < 1000) return `${sign}${a}ms`;
  const h = Math.floor(a / 3_600_000);
  const m = Math.floor((a % 3_600_000) / 60_000);
  const s = ((a % 60_000) / 1000).toFixed(3);
  const ss = s.padStart(6, '0');
  if (h > 0) return `${sign}${h}h${String(m).padStart(2, '0')}m${ss}s`;
  if (m > 0) return `${sign}${m}m${ss}s`;
  return `${sign}${s}s`;
}

/**
 * A measured duration and its objective as text that keeps their order: when the short forms
 * of two different values read the same (60.04 s and 60 s are both `1m00s`), both are shown
 * to the millisecond.
 */
export function formatDurationAgainst(
  value: number,
  objective: number,
): { value: string; objective: string } {
  const v = formatDuration(value);
  const o = formatDuration(objective);
  if (v !== o || value === objective) return { value: v, objective: o };
  return { value: formatDurationExact(value), objective: formatDurationExact(objective) };
}
