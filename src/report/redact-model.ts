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
  // Copy on write: an array or object none of whose strings change is returned as it is. Almost
  // nothing in a model holds a secret, and copying every object of a 500-step model was most of
  // what building it cost the bridge on each snapshot (and most of its garbage).
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        const r = walk(x);
        if (out === undefined && r !== x) out = v.slice(0, i);
        if (out !== undefined) out.push(r);
      }
      return out ?? v;
    }
    if (v !== null && typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      let out: Record<string, unknown> | undefined;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const x = obj[k];
        const rk = text(k);
        const r = walk(x);
        if (out === undefined && (rk !== k || r !== x)) {
          out = {};
          for (let j = 0; j < i; j++) out[keys[j]!] = obj[keys[j]!];
        }
        if (out !== undefined) out[rk] = r;
      }
      return out ?? v;
    }
    return v;
  };
  return walk(value) as T;
}
