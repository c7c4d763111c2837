/**
 * Canonical JSON: object keys sorted (by UTF-16 code units, recursively), arrays kept in order,
 * no whitespace. Two `_source` documents that differ only in key order serialize the same.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/**
 * Paths (dotted, `[i]` for array elements) where two documents differ, at most `limit` of them.
 * Used only for documents already known to differ, on request (--show-fields).
 */
export function diffPaths(a: unknown, b: unknown, limit = 50): string[] {
  const out: string[] = [];
  walk(a, b, '', out, limit);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: string[], limit: number): void {
  if (out.length >= limit) return;
  const aObj = a !== null && typeof a === 'object';
  const bObj = b !== null && typeof b === 'object';
  if (aObj && bObj && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length && a.every((v) => v === null || typeof v !== 'object')) {
        out.push(path || '(root)');
        return;
      }
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const at = `${path}[${i}]`;
        // An element on one side only is a difference even when it is null.
        if (i >= a.length || i >= b.length) {
          if (out.length < limit) out.push(at);
        } else walk(a[i], b[i], at, out, limit);
      }
      return;
    }
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
    for (const k of keys) {
      const at = path ? `${path}.${k}` : k;
      // A key on one side only is a difference even when its value is null
      // (`{}` and `{"a": null}` have different canonical forms).
      if (!Object.hasOwn(ao, k) || !Object.hasOwn(bo, k)) {
        if (out.length < limit) out.push(at);
      } else walk(ao[k], bo[k], at, out, limit);
    }
    return;
  }
  if (canonicalJson(a) !== canonicalJson(b)) out.push(path || '(root)');
}
