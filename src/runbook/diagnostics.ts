import type { z } from 'zod';
import type { Diagnostic } from '../errors.js';
import { formatPath, locate, type PathSegment, type YamlFile } from './yaml-file.js';

/** A place in a runbook file: the file and the path inside it. */
export interface Origin {
  file: YamlFile;
  path: PathSegment[];
}

/** Collects every problem in one pass (errors and warnings), each with its place. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  /** Adds a problem; the same problem at the same place (e.g. from 170 foreach items) is kept once. */
  add(
    d: Omit<Diagnostic, 'severity'> & { severity?: Diagnostic['severity']; hint?: string | undefined },
  ): void {
    const { hint, ...rest } = d;
    // A warning (e.g. an unset env var used in ten places) is said once, at its first place.
    const key =
      d.severity === 'warning'
        ? `warning:${d.message}`
        : `${d.file}:${d.line}:${d.col}:${d.path}:${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push({ severity: 'error', ...rest, ...(hint ? { hint } : {}) });
  }

  /** Adds a problem at `origin` + `sub` (the field path inside the origin node). */
  at(
    origin: Origin,
    sub: PathSegment[],
    message: string,
    options: { hint?: string | undefined; severity?: Diagnostic['severity']; atKey?: boolean } = {},
  ): void {
    const path = [...origin.path, ...sub];
    const pos = locate(origin.file, path, options.atKey ?? false);
    this.add({
      file: origin.file.display,
      line: pos.line,
      col: pos.col,
      path: formatPath(path),
      message,
      hint: options.hint,
      severity: options.severity ?? 'error',
    });
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === 'error').length;
  }

  get warnings(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'warning');
  }
}

/** Reports a zod error's issues at their places, choosing the most specific branch of unions. */
export function addZodIssues(
  diags: Diagnostics,
  origin: Origin,
  error: z.ZodError,
  knownKeys?: (path: PathSegment[]) => string[] | undefined,
): void {
  for (const issue of flattenIssues(error.issues)) {
    const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const known = knownKeys?.(path);
        const guess = known ? closest(key, known) : undefined;
        diags.at(origin, [...path, key], `unknown field "${key}"`, {
          atKey: true,
          hint: guess
            ? `did you mean "${guess}"?`
            : 'remove it, or see `drctl schema` for the fields allowed here',
        });
      }
      continue;
    }
    diags.at(origin, path, issue.message, { hint: hintFor(issue) });
  }
}

type Issue = z.core.$ZodIssue;

function flattenIssues(issues: readonly Issue[]): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // The branch that got furthest into the value says most about what was meant.
      const branches = issue.errors.map((branch) =>
        branch.map((i): Issue => ({ ...i, path: [...issue.path, ...i.path] })),
      );
      const depth = (b: Issue[]) => Math.max(...b.map((i) => i.path.length));
      const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      if (depth(best) > issue.path.length) {
        out.push(...flattenIssues(best));
        continue;
      }
    }
    out.push(issue);
  }
  return out;
}

function hintFor(issue: Issue): string | undefined {
  if (issue.code === 'invalid_type' && issue.expected === 'array') return 'write a YAML list, e.g. [a, b]';
  if (issue.message.startsWith('expected a duration'))
    return 'use a number and a unit: ms, s, m, h (e.g. 90s, 1h30m)';
  return undefined;
}

/** The known name closest to `word` within an edit distance of 2, if any. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
