/**
 * Secrets never reach stdout, the journal, a report or stored step output. Every value that came
 * from `${env:…}`/`${file:…}` inside a credential, and every DSN password, is registered here and
 * replaced by `***` wherever text leaves the process.
 */
const secrets = new Set<string>();
/** `secrets`, longest first (a secret inside a longer one must not split it); redone on change. */
let longestFirst: string[] = [];

export function registerSecret(value: string | undefined): void {
  // Very short values would blank out ordinary text; they are still masked inside DSNs below.
  if (value && value.length >= 3 && !secrets.has(value)) {
    secrets.add(value);
    longestFirst = [...secrets].sort((a, b) => b.length - a.length);
  }
}

/** The password of a URL or DSN (`mysql://u:pw@h`, `redis://:pw@h`, `http://u:pw@h`), if any. */
export function registerUrlPassword(text: string): void {
  if (!text.includes('://')) return;
  try {
    const password = new URL(text).password;
    if (password) {
      registerSecret(password);
      registerSecret(safeDecode(password));
    }
  } catch {
    /* not a URL: whoever parses it reports that */
  }
}

const CREDENTIAL_FIELDS = ['password', 'secretAccessKey', 'sessionToken', 'apiKey'];

/**
 * Registers the credentials of an endpoint as it enters drctl (a CLI flag, a runbook resource):
 * a URL/DSN string's password, or an endpoint object's credential fields and URL passwords.
 * Parsers stay pure: they never register anything themselves.
 */
export function registerCredentials(endpoint: unknown): void {
  if (typeof endpoint === 'string') return registerUrlPassword(endpoint);
  if (endpoint === null || typeof endpoint !== 'object' || Array.isArray(endpoint)) return;
  for (const [key, value] of Object.entries(endpoint as Record<string, unknown>)) {
    if (typeof value !== 'string') continue;
    if (CREDENTIAL_FIELDS.includes(key)) registerSecret(value);
    else registerUrlPassword(value);
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function clearSecrets(): void {
  secrets.clear();
  longestFirst = [];
}

// Both patterns are linear in the text: each match attempt starts at a fixed literal (`://` or a
// keyword) and scans forward over a character class that cannot overlap the next attempt's start,
// so a long line costs O(length). (The earlier URL pattern began with `[a-z][a-z0-9+.-]*` and
// rescanned the rest of the line from every letter: quadratic, 8.8 s for an 80 KB line.)
const URL_PASSWORD_RE = /(:\/\/[^:/?#@\s]*:)([^@\s/]*)@/g;
const KV_PASSWORD_RE =
  /\b(password|passwd|pwd|secret|secretAccessKey|apiKey|token)(["']?\s*[=:]\s*["']?)([^\s"',;&}]+)/gi;

/** The value of MySQL's "(using password: YES)" / "(using password: NO)": kept as is. */
const MYSQL_USING_PASSWORD = /^(?:YES|NO)\)/;

/** Longest text masked in one piece; longer text is masked chunk by chunk (see redact). */
const CHUNK = 256 * 1024;

/** Masks registered secrets, URL userinfo passwords and `password=` style pairs. Linear time. */
export function redact(text: string): string {
  if (text.length <= CHUNK) return redactPiece(text);
  // Long text is masked in bounded chunks, cut where nothing maskable can straddle the cut.
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.length - start <= CHUNK ? text.length : findCut(text, start, start + CHUNK);
    out.push(redactPiece(text.slice(start, end)));
    start = end;
  }
  return out.join('');
}

/**
 * The first `limit` characters (or fewer) of a line too long to keep, cut where nothing maskable
 * straddles the cut (its first part would stay unmasked), then masked. The caller drops the rest.
 */
export function redactTruncated(text: string, limit: number): string {
  if (text.length <= limit) return redactPiece(text);
  return redactPiece(text.slice(0, findCut(text, 0, limit)));
}

function redactPiece(text: string): string {
  // Called for every string of a plan or an event: skip the URL pattern where it cannot match.
  let out = text.includes('://') ? text.replace(URL_PASSWORD_RE, (_m, head: string) => `${head}***@`) : text;
  out = out.replace(KV_PASSWORD_RE, (m, k: string, sep: string, v: string, at: number, whole: string) =>
    // MySQL's "Access denied … (using password: YES)" says whether one was sent, not which.
    MYSQL_USING_PASSWORD.test(v) && /using\s$/i.test(whole.slice(Math.max(0, at - 6), at))
      ? m
      : `${k}${sep}***`,
  );
  for (const s of longestFirst) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;
/** `=`, `:`, `"`, `'`: a `key = value` pair may span whitespace next to these. */
const isJoiner = (c: number): boolean => c === 61 || c === 58 || c === 34 || c === 39;

/**
 * A cut position in (lo, hi]: preferably at whitespace in the last half that does not sit inside a
 * `key = value` pair, else at hi; then moved back before any registered secret that would straddle
 * it. URL passwords and `key=value` values contain no whitespace, so a whitespace cut keeps them
 * whole; a cut inside one very long token can only split a token longer than half a chunk.
 */
function findCut(text: string, lo: number, hi: number): number {
  let cut = hi;
  for (let i = hi - 1; i > lo + (hi - lo) / 2; i--) {
    if (!isSpace(text.charCodeAt(i))) continue;
    let before = i - 1;
    while (before > lo && isSpace(text.charCodeAt(before))) before--;
    let after = i + 1;
    while (after < text.length && isSpace(text.charCodeAt(after))) after++;
    if (!isJoiner(text.charCodeAt(before)) && !isJoiner(text.charCodeAt(after))) {
      cut = i;
      break;
    }
    i = before + 1;
  }
  // Move the cut before any registered secret that straddles it, or whose beginning ends the text
  // known so far (a streamed line: the rest may be the rest of the secret). Repeat until stable.
  for (let moved = true, rounds = 0; moved && rounds <= secrets.size; rounds++) {
    moved = false;
    for (const s of secrets) {
      const i = text.indexOf(s, Math.max(lo, cut - s.length + 1));
      if (i !== -1 && i < cut) {
        cut = i;
        moved = true;
      }
      for (let k = Math.min(s.length - 1, cut - lo); k >= 1; k--) {
        if (cut - k + s.length > text.length && text.startsWith(s.slice(0, k), cut - k)) {
          cut -= k;
          moved = true;
          break;
        }
      }
    }
  }
  return cut > lo ? cut : hi;
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
