import { UsageError } from '../errors.js';
import type { Step } from '../runbook/schema.js';

/** `*` and `?` globs over step ids. */
export function globToRegExp(glob: string): RegExp {
  const esc = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${esc}$`);
}

/**
 * The steps `--only` and `--from` select. `--only a,b,switch-*` runs those steps alone (their
 * needs outside the selection count as satisfied: the operator takes responsibility); `--from x`
 * runs x and everything that depends on it. Matching nothing is a usage error.
 * Returns undefined when neither is given (everything runs).
 */
export function selectSteps(
  steps: Step[],
  only: string | undefined,
  from: string | undefined,
): Set<string> | undefined {
  if (only === undefined && from === undefined) return undefined;
  const ids = steps.map((s) => s.id);
  let selected = new Set(ids);
  if (only !== undefined) {
    const patterns = only
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (patterns.length === 0)
      throw new UsageError('--only is empty', {
        hint: 'give step ids or globs, e.g. --only stop-traffic,switch-*',
      });
    selected = new Set();
    for (const p of patterns) {
      const re = globToRegExp(p);
      const hits = ids.filter((id) => re.test(id));
      if (hits.length === 0) {
        throw new UsageError(`--only ${p} matches no step`, {
          hint: `step ids look like: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`,
        });
      }
      for (const h of hits) selected.add(h);
    }
  }
  if (from !== undefined) {
    if (!ids.includes(from)) {
      throw new UsageError(`--from ${from} matches no step`, {
        hint: `step ids look like: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`,
      });
    }
    const downstream = new Set([from]);
    // Steps are in a valid order only after planning; iterate to a fixpoint to be order-free.
    let grew = true;
    while (grew) {
      grew = false;
      for (const s of steps) {
        if (!downstream.has(s.id) && s.needs.some((n) => downstream.has(n))) {
          downstream.add(s.id);
          grew = true;
        }
      }
    }
    selected = new Set([...selected].filter((id) => downstream.has(id)));
    if (selected.size === 0)
      throw new UsageError(`--only and --from ${from} together select no step`, { hint: 'drop one of them' });
  }
  return selected;
}
