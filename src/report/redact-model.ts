import { redact } from '../util/redact.js';

/**
 * Redacts every string of a JSON-able value one by one. Redacting the serialized JSON as one
 * text (the old redactValue) let a URL-password pattern span two fields and corrupt the JSON.
 */
export function redactStrings<T>(value: T): T {
  return walk(value) as T;
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(walk);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redact(k)] = walk(v);
    return out;
  }
  return value;
}
