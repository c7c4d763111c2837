import { createHash } from 'node:crypto';
import { decimalValue, DUPLICATE_KEYS, JsonNumber, type JsonObject, type JsonValue } from './exact-json.js';
import type { FieldMapping, IndexMeta } from './index-meta.js';

/**
 * How a leaf number is compared, decided by the mappings of both sides:
 * - `integer` (long, integer, short, byte, unsigned_long, scaled_float): by exact decimal value,
 *   `-0` = `0` (the indexed long is the same);
 * - `float` (double, float, half_float): by exact decimal value, but `-0.0` ≠ `0.0` (distinct
 *   IEEE values that sort and range-match differently);
 * - `exact` (everything else: keyword, text, date, flattened, unmapped or `enabled: false`
 *   objects, fields mapped differently on the two sides): by the literal text, because the text
 *   is what is indexed or what a reader of `_source` gets (`1.0` and `1` are different terms).
 */
export type NumberKind = 'integer' | 'float' | 'exact';

const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long', 'scaled_float']);
const FLOAT_TYPES = new Set(['double', 'float', 'half_float']);

/** Dotted field path → mapped type, through object and nested properties. */
function flattenMapping(mappings: IndexMeta['mappings'] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (props: Record<string, FieldMapping> | undefined, prefix: string) => {
    for (const [name, f] of Object.entries(props ?? {})) {
      const path = prefix ? `${prefix}.${name}` : name;
      if (f.type !== undefined) out.set(path, f.type);
      if (f.properties) walk(f.properties, path);
    }
  };
  walk(mappings?.properties, '');
  return out;
}

/** The number rule for each path, numeric only where both sides map the path as a number. */
export class FieldKinds {
  private readonly a: Map<string, string>;
  private readonly b: Map<string, string>;
  private readonly cache = new Map<string, NumberKind>();

  constructor(source?: IndexMeta['mappings'], target?: IndexMeta['mappings']) {
    this.a = flattenMapping(source);
    this.b = flattenMapping(target ?? source);
  }

  of(path: string): NumberKind {
    let k = this.cache.get(path);
    if (k === undefined) {
      const ta = this.a.get(path) ?? '';
      const tb = this.b.get(path) ?? '';
      const num = (t: string) => INTEGER_TYPES.has(t) || FLOAT_TYPES.has(t);
      k = !num(ta) || !num(tb) ? 'exact' : FLOAT_TYPES.has(ta) || FLOAT_TYPES.has(tb) ? 'float' : 'integer';
      this.cache.set(path, k);
    }
    return k;
  }
}

/**
 * Canonical text of an exactly parsed `_source`: object keys sorted (key order is not data;
 * repeated keys are all kept), arrays in order, strings compared as decoded code units (so `\u00e9`
 * and `é` are equal, NFC and NFD `é` are not), numbers by the rule of their field.
 */
export function canonicalSource(value: JsonValue | undefined, kinds: FieldKinds, path = ''): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof JsonNumber) return canonicalNumber(value, kinds.of(path));
  if (Array.isArray(value)) return `[${value.map((v) => canonicalSource(v, kinds, path)).join(',')}]`;
  const entries = objectEntries(value).map(
    ([k, v]) => `${JSON.stringify(k)}:${canonicalSource(v, kinds, path ? `${path}.${k}` : k)}`,
  );
  return `{${entries.sort().join(',')}}`;
}

function canonicalNumber(n: JsonNumber, kind: NumberKind): string {
  return kind === 'exact' ? `T(${n.text})` : `N(${decimalValue(n.text, kind === 'float')})`;
}

function objectEntries(o: JsonObject): [string, JsonValue][] {
  const dups = (o as { [DUPLICATE_KEYS]?: [string, JsonValue][] })[DUPLICATE_KEYS] ?? [];
  return [...Object.entries(o), ...dups];
}

/** sha-256 of the routing and the canonical `_source` of one document. */
export function digestDocument(
  source: JsonValue | undefined,
  routing: string | undefined,
  kinds: FieldKinds,
): string {
  return createHash('sha256')
    .update(routing === undefined ? '-' : `r${JSON.stringify(routing)}`)
    .update('\n')
    .update(canonicalSource(source, kinds))
    .digest('base64');
}

/**
 * Paths (dotted, `[i]` for array elements) where two exactly parsed documents differ under the
 * same rules as the digest, at most `limit`. Only for documents already known to differ.
 */
export function diffSourcePaths(
  a: JsonValue | undefined,
  b: JsonValue | undefined,
  kinds: FieldKinds,
  limit = 50,
): string[] {
  const out: string[] = [];
  walk(a, b, '', '', kinds, out, limit);
  return out;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNumber);
}

function walk(
  a: JsonValue | undefined,
  b: JsonValue | undefined,
  shown: string,
  field: string,
  kinds: FieldKinds,
  out: string[],
  limit: number,
): void {
  if (out.length >= limit) return;
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    const dupA = objectEntries(a).length !== Object.keys(a).length;
    const dupB = objectEntries(b).length !== Object.keys(b).length;
    if (dupA || dupB) {
      if (canonicalSource(a, kinds, field) !== canonicalSource(b, kinds, field)) out.push(shown || '(root)');
      return;
    }
    for (const k of keys) {
      const f = field ? `${field}.${k}` : k;
      walk(a[k], b[k], shown ? `${shown}.${k}` : k, f, kinds, out, limit);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) walk(a[i], b[i], `${shown}[${i}]`, field, kinds, out, limit);
    return;
  }
  if (canonicalSource(a, kinds, field) !== canonicalSource(b, kinds, field)) out.push(shown || '(root)');
}
