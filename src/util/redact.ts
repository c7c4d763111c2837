/**
 * Secrets never reach stdout, the journal, a report or stored step output. Every value that came
 * from `${env:…}`/`${file:…}` inside a credential, and every DSN password, is registered here and
 * replaced by `***` wherever text leaves the process.
 */
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Very short values would blank out ordinary text; they are still masked inside DSNs below.
  if (value && value.length >= 3) secrets.add(value);
}

export function clearSecrets(): void {
  secrets.clear();
}

const URL_PASSWORD_RE = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s/]*)@/gi;
const KV_PASSWORD_RE =
  /\b(password|passwd|pwd|secret|secretAccessKey|apiKey|token)(["']?\s*[=:]\s*["']?)([^\s"',;&}]+)/gi;

/** Masks registered secrets, URL userinfo passwords and `password=` style pairs. */
export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD_RE, (_m, head: string) => `${head}***@`);
  out = out.replace(KV_PASSWORD_RE, (_m, k: string, sep: string) => `${k}${sep}***`);
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}

/** Deep-redacts a JSON-able value (journal events, reports, --json output), string by string. */
export function redactValue<T>(value: T): T {
  return walk(value) as T;
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(walk);
  if (value !== null && typeof value === 'object') {
    if (value instanceof Date) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redact(k)] = walk(v);
    return out;
  }
  return value;
}
