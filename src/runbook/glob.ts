import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

/** Converts a glob (`*`, `?`, `**`) to an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function isGlob(text: string): boolean {
  return /[*?]/.test(text);
}

/** Matches step ids against a glob where `*` also crosses `/`-free ids (ids have no slashes). */
export function matchIds(pattern: string, ids: Iterable<string>): string[] {
  if (!isGlob(pattern)) return [...ids].filter((id) => id === pattern);
  const re = globToRegExp(pattern);
  return [...ids].filter((id) => re.test(id));
}

/** Files under `baseDir` matching a relative glob, sorted for a stable order. */
export function expandFileGlob(baseDir: string, pattern: string): string[] {
  if (!isGlob(pattern)) {
    const full = resolve(baseDir, pattern);
    try {
      return statSync(full).isFile() ? [full] : [];
    } catch {
      return [];
    }
  }
  const re = globToRegExp(pattern.split(sep).join('/'));
  const fixed = pattern.split('/').findIndex((part) => isGlob(part));
  const root = resolve(baseDir, pattern.split('/').slice(0, fixed).join('/'));
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 8) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full, depth + 1);
      else if (e.isFile() && re.test(relative(baseDir, full).split(sep).join('/'))) out.push(full);
    }
  };
  walk(root, 0);
  return out.sort();
}
