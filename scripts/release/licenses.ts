import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';

/** A third-party package whose code is inside the bundle. */
export interface BundledPackage {
  name: string;
  version: string;
  /** SPDX expression from its package.json; "UNKNOWN" when it declares none. */
  license: string;
  dir: string;
}

/**
 * Every package that contributed a file to one of the bundles, read from esbuild's metafiles
 * (so a dependency that was never imported is not claimed, and one that was is never missed).
 */
export function packagesOf(cwd: string, metafiles: Metafile[]): BundledPackage[] {
  const dirs = new Set<string>();
  for (const meta of metafiles) {
    for (const input of Object.keys(meta.inputs)) {
      const at = input.lastIndexOf('node_modules/');
      // A plugin's virtual module (namespace:path) has no code of its own.
      if (at < 0 || /^[a-z-]+:/.test(input)) continue;
      const rest = input.slice(at + 'node_modules/'.length).split('/');
      const name = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
      dirs.add(resolve(cwd, input.slice(0, at), 'node_modules', name));
    }
  }
  return [...dirs]
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
        license?: string | { type?: string };
      };
      const license =
        typeof manifest.license === 'string' ? manifest.license : (manifest.license?.type ?? 'UNKNOWN');
      return { name: manifest.name, version: manifest.version, license, dir };
    })
    .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

const LICENSE_FILE = /^(licen[cs]e|copying|notice)(\.|-|$)/i;

/**
 * THIRD-PARTY-LICENSES: for each bundled package its name, version, SPDX id and the licence and
 * notice files it ships; then Node.js itself, which the single executable contains.
 */
export function collectLicenses(
  packages: BundledPackage[],
  sea: { name: string; node: string; nodeVersion: string },
): string {
  const parts = [
    'drctl bundles the following third-party software. Each entry gives the package, its version,\n' +
      'its licence (SPDX) and the licence and notice texts shipped in the package.\n',
  ];
  for (const p of packages) {
    const files = readdirSync(p.dir)
      .filter((f) => LICENSE_FILE.test(f))
      .sort();
    const texts = files.map((f) => readFileSync(join(p.dir, f), 'utf8').trim());
    parts.push(
      `${'='.repeat(78)}\n${p.name}@${p.version}  (${p.license})\n${'-'.repeat(78)}\n` +
        (texts.length > 0
          ? texts.join('\n\n')
          : `The package ships no licence file; its package.json declares ${p.license}.`),
    );
  }
  parts.push(
    `${'='.repeat(78)}\nNode.js ${sea.nodeVersion} (the runtime inside ${sea.name})\n${'-'.repeat(78)}\n${nodeLicense(sea.node)}`,
  );
  return parts.join('\n\n') + '\n';
}

function nodeLicense(nodeBinary: string): string {
  for (const file of [
    join(nodeBinary, '..', '..', 'share', 'doc', 'node', 'LICENSE'),
    join(nodeBinary, '..', '..', 'LICENSE'),
    '/usr/share/doc/nodejs/LICENSE',
  ]) {
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  }
  return 'MIT and the licences of its bundled dependencies: https://github.com/nodejs/node/blob/main/LICENSE';
}
