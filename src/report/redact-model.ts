import { redact } from '../util/redact.js';

/**
 * Redacts every string of a JSON-able value one by one. Redacting the serialized JSON as one
 * text (the old redactValue) let a URL-password pattern span two fields and corrupt the JSON.
 */
export function redactStrings<T>(value: T): T {
  // Keys, ids, roles and statuses repeat thousands of times in a big run: redact each text once.
  const seen = new Map<string, string>();
  const text = (s: string): string => {
    let r = seen.get(s);
    if (r === undefined) {
      r = redact(s);
      seen.set(s, r);
    }
    return r;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[text(k)] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
