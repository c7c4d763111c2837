import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Folder-level dependencies: src/ → checkers/ → shared/, and src/ → shared/. checkers/ never
// imports src/ (a checker is a plug-in that the CLI, the runbook and the steps use, not the
// reverse), shared/ imports neither (a leaf: errors, durations, redaction, DSNs).
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ALLOWED: Record<string, string[]> = {
  checkers: ['checkers', 'shared'],
  shared: ['shared'],
  src: ['src', 'checkers', 'shared'],
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative specifiers of static imports, re-exports, `import type` and dynamic `import()`. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) specs.push(m[1]!);
  return specs;
}

function topFolder(file: string): string {
  return relative(ROOT, file).split(sep)[0]!;
}

describe('import boundaries between src/, checkers/ and shared/', () => {
  it('finds imports of every form (the scanner itself)', () => {
    const sample = [
      "import { a } from '../x.js';",
      "import type { B } from '../../src/y.js';",
      "export * from './z.js';",
      "const m = await import('../../src/w.js');",
      "import './side-effect.js';",
    ].join('\n');
    expect(importsOf(sample)).toEqual([
      '../x.js',
      '../../src/y.js',
      './z.js',
      '../../src/w.js',
      './side-effect.js',
    ]);
  });

  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    it(`${folder}/ imports only ${allowed.join(', ')} (and packages)`, () => {
      const bad: string[] = [];
      const files = tsFiles(join(ROOT, folder));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        for (const spec of importsOf(readFileSync(file, 'utf8'))) {
          if (!spec.startsWith('.')) continue;
          const target = topFolder(resolve(dirname(file), spec));
          if (!allowed.includes(target)) bad.push(`${relative(ROOT, file)} → ${spec}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
});

/**
 * Specifiers a module loads when it is evaluated: static imports and re-exports, not `import type`
 * / `export type` (erased) and not dynamic `import()` (loaded on use).
 */
export function staticImportsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /^\s*(?:import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) if (m[1] === undefined) specs.push(m[2]!);
  return specs;
}

/** Packages (by name) a module and everything it statically imports load, and the files read. */
function staticClosure(entry: string): { packages: Set<string>; files: number } {
  const seen = new Set<string>([entry]);
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    for (const spec of staticImportsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!existsSync(target)) throw new Error(`${relative(ROOT, file)}: cannot resolve ${spec}`);
      if (!seen.has(target)) {
        seen.add(target);
        todo.push(target);
      }
    }
  }
  return { packages, files: seen.size };
}

// Loading a module costs CPU on every start: a command must not load the clients of systems it
// does not talk to (issue 19: a `switch` of plain commands loaded mysql2, ioredis and the AWS
// SDK through the preflight gate, 1,078 modules instead of 279, and node:https with the http step).
// Those load on use.
const HEAVY = [
  'mysql2',
  'ioredis',
  '@aws-sdk/client-s3',
  'hono',
  '@hono/node-server',
  'listr2',
  'execa',
  // TLS: only an http step to an https URL, a checker or the bridge needs it.
  'node:https',
  'node:tls',
];
const LEAN: Record<string, string[]> = {
  'src/cli/main.ts': [...HEAVY, 'yaml', 'zod'],
  'src/cli/commands/validate.ts': HEAVY,
  'src/cli/commands/plan.ts': HEAVY,
  'src/cli/commands/switch.ts': HEAVY,
  'src/cli/commands/resume.ts': HEAVY,
};

describe('commands load only what they use', () => {
  it('finds static imports only (the scanner itself)', () => {
    const sample = [
      "import { a } from '../x.js';",
      "import type { B } from 'mysql2';",
      'import {',
      '  type C,',
      '  d,',
      "} from './multi.js';",
      "export * from './z.js';",
      "export type { E } from 'ioredis';",
      "const m = await import('listr2');",
      "import './side-effect.js';",
      "import * as y from 'yaml';",
    ].join('\n');
    expect(staticImportsOf(sample)).toEqual(['../x.js', './multi.js', './z.js', './side-effect.js', 'yaml']);
  });

  for (const [entry, banned] of Object.entries(LEAN)) {
    it(`${entry} does not load ${banned.join(', ')} when it starts`, () => {
      const { packages } = staticClosure(join(ROOT, entry));
      expect([...packages].filter((p) => banned.includes(p)).sort()).toEqual([]);
    });
  }
});
