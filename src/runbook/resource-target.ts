import { checkerModule, registeredKinds, type CheckTarget } from '../../checkers/index.js';
import type { Resource } from './schema.js';

/**
 * The endpoints a checker compares, from a runbook resource: the one mapping used by check steps
 * and by `drctl check <kind> --resource`, delegated to the checker module of the resource's
 * kind. Returns a message when the resource cannot be checked.
 */
export function resourceToCheckTarget(name: string, r: Resource): CheckTarget | string {
  const m = checkerModule(r.kind);
  if (m === undefined) {
    return `resource "${name}" is of kind ${r.kind}; drctl has checkers for ${registeredKinds().join(', ')}`;
  }
  const sides = m.endpoints(name, r);
  if (typeof sides === 'string') return sides;
  return { kind: r.kind, ...sides } as CheckTarget;
}
