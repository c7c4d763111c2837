import { writeFileSync } from 'node:fs';
import type { BundledPackage } from './licenses.js';
import { run } from './run.js';

interface Component {
  'bom-ref': string;
  type: string;
  name: string;
  version: string;
  purl?: string;
  properties?: { name: string; value: string }[];
  licenses?: { license: { id?: string; name?: string } }[];
  [key: string]: unknown;
}

interface Bom {
  metadata: { component: Component; [key: string]: unknown };
  components: Component[];
  dependencies: { ref: string; dependsOn?: string[] }[];
  [key: string]: unknown;
}

const purlOf = (name: string, version: string) => `pkg:npm/${name.replace('@', '%40')}@${version}`;

/**
 * The CycloneDX SBOM, made by `npm sbom` from package-lock.json (the production tree, as
 * installed by `npm ci`), then completed with what npm cannot know: which of those packages
 * esbuild put into the bundle (property drctl:bundled), any bundled package npm did not list,
 * and the Node.js runtime inside the single executable.
 */
export async function writeSbom(
  root: string,
  file: string,
  bundled: BundledPackage[],
  sea: { name: string; nodeVersion: string },
): Promise<void> {
  const out = await run(
    'npm',
    ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '--package-lock-only'],
    { cwd: root, env: { ...process.env, npm_config_offline: 'true' } },
  );
  const bom = JSON.parse(out) as Bom;
  // npm names the root after the directory it ran in (a worktree's name); the package is drctl.
  bom.metadata.component.name = 'drctl';
  bom.metadata.component.type = 'application';
  const inBundle = new Set(bundled.map((p) => `${p.name}@${p.version}`));
  const listed = new Set(bom.components.map((c) => `${c.name}@${c.version}`));
  for (const c of bom.components) {
    const key = `${c.name}@${c.version}`;
    c.properties = [...(c.properties ?? []), { name: 'drctl:bundled', value: String(inBundle.has(key)) }];
  }
  for (const p of bundled) {
    const key = `${p.name}@${p.version}`;
    if (listed.has(key)) continue;
    bom.components.push({
      'bom-ref': key,
      type: 'library',
      name: p.name,
      version: p.version,
      scope: 'required',
      purl: purlOf(p.name, p.version),
      licenses: [{ license: { id: p.license } }],
      properties: [{ name: 'drctl:bundled', value: 'true' }],
    });
  }
  const nodeRef = `node@${sea.nodeVersion}`;
  bom.components.push({
    'bom-ref': nodeRef,
    type: 'platform',
    name: 'node',
    version: sea.nodeVersion,
    description: `the Node.js runtime inside ${sea.name}`,
    purl: `pkg:generic/node@${sea.nodeVersion}`,
    licenses: [{ license: { id: 'MIT' } }],
    properties: [{ name: 'drctl:bundled', value: 'true' }],
  });
  const rootRef = bom.metadata.component['bom-ref'];
  const rootDeps = bom.dependencies.find((d) => d.ref === rootRef);
  if (rootDeps) rootDeps.dependsOn = [...(rootDeps.dependsOn ?? []), nodeRef];
  writeFileSync(file, JSON.stringify(bom, null, 2) + '\n');
}
