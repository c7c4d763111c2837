import type { Resource } from '../runbook/schema.js';

/** Looks up a resource of the wanted kind, or explains why it cannot be used. */
export function findResource<K extends Resource['kind']>(
  resources: Record<string, Resource>,
  name: string,
  kind: K,
): { resource: Extract<Resource, { kind: K }> } | { error: string } {
  const r = resources[name];
  if (r === undefined) return { error: `resource "${name}" is not declared in the runbook` };
  if (r.kind !== kind) return { error: `resource "${name}" is a ${r.kind} resource, not ${kind}` };
  return { resource: r as Extract<Resource, { kind: K }> };
}

/** Compares a value read from a system with an expected scalar the way a person means it. */
export function matchesExpected(actual: unknown, expected: string | number | boolean | null): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (actual === null || actual === undefined) return false;
  const text =
    typeof actual === 'string' ||
    typeof actual === 'number' ||
    typeof actual === 'boolean' ||
    typeof actual === 'bigint'
      ? String(actual)
      : JSON.stringify(actual);
  if (typeof expected === 'boolean') {
    const s = text.toLowerCase();
    return expected ? ['1', 'true', 'on', 'yes'].includes(s) : ['0', 'false', 'off', 'no'].includes(s);
  }
  return text === String(expected);
}
