import { closest, type Diagnostics } from './diagnostics.js';

const VAR_REF_RE = /\bvars\.([A-Za-z_][\w-]*)|\bvars\[\s*['"]?([^'"\]\s]+)/g;

/**
 * `--var` values that nothing reads: a var not declared under any `vars:`, never named as
 * `${vars.x}` and never tested by a `when: { vars: … }`. A typo (`--var mdoe=special`) would
 * otherwise silently leave a when-guarded step out, so it is an error (exit 2), with a guess.
 *
 * @param sources every raw value the runbook and its modules hold (steps, templates, resources,
 *   directions, vars), as read from YAML, before interpolation.
 */
export function checkVarOverrides(
  overrides: Record<string, string>,
  declared: Iterable<string>,
  sources: unknown[],
  file: string,
  diags: Diagnostics,
): void {
  const names = Object.keys(overrides);
  if (names.length === 0) return;
  const read = new Set(declared);
  for (const s of sources) collectReads(s, read);
  for (const name of names) {
    if (read.has(name)) continue;
    const guess = closest(name, [...read]);
    diags.add({
      file,
      message: `--var ${name}: nothing in the runbook reads a var named "${name}"`,
      hint: guess
        ? `did you mean --var ${guess}=…? vars the runbook reads: ${[...read].sort().join(', ')}`
        : read.size > 0
          ? `vars the runbook reads: ${[...read].sort().join(', ')}`
          : 'the runbook reads no vars; remove the --var',
    });
  }
}

function collectReads(value: unknown, read: Set<string>): void {
  if (typeof value === 'string') {
    for (const m of value.matchAll(VAR_REF_RE)) read.add((m[1] ?? m[2])!);
  } else if (Array.isArray(value)) {
    for (const v of value) collectReads(v, read);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'when' && v !== null && typeof v === 'object') {
        const vars = (v as { vars?: unknown }).vars;
        if (vars !== null && typeof vars === 'object') for (const name of Object.keys(vars)) read.add(name);
      }
      collectReads(v, read);
    }
  }
}
