import { readdirSync, readFileSync } from 'node:fs';
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
