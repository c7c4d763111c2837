import { chmodSync, copyFileSync, cpSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, bundleCjs, bundleEsm, pkg } from './bundle.js';
import { collectLicenses, packagesOf } from './licenses.js';
import { writeSbom } from './sbom.js';
import { writeChecksums } from './checksums.js';
import { run } from './run.js';

/**
 * `npm run release`: everything a bastion with no registry needs, in release/ —
 *   drctl.mjs + chunks/      the CLI bundled by esbuild, every dependency inlined; commands and
 *                            checkers stay in chunks loaded on first use (as in dist/), so
 *                            `--version` and `validate` parse only what they run
 *   drctl-<os>-<arch>        a Node single executable application (SEA) of the same sources
 *   drctl-<v>.tgz            an npm package whose only file of code is that bundle: no dependencies
 *                            to fetch, so `npm install -g ./drctl-<v>.tgz --offline` works
 *   runbooks/, runbook.schema.json, drctl-<v>.cdx.json (CycloneDX SBOM), THIRD-PARTY-LICENSES,
 *   SHA256SUMS (sha256sum -c SHA256SUMS)
 * DRCTL_SEA_NODE=<path to node> builds the executable from another Node binary (default: this one).
 */

const OUT = join(ROOT, 'release');

const SEA_NAME = `drctl-${process.platform}-${process.arch}`;

async function buildSea(work: string, script: string, node: string): Promise<void> {
  const name = SEA_NAME;
  const blob = join(work, 'sea-prep.blob');
  const config = join(work, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
  );
  // The blob must be made by the very Node binary it is injected into.
  await run(node, ['--experimental-sea-config', config]);
  const exe = join(OUT, name);
  copyFileSync(node, exe);
  chmodSync(exe, 0o755);
  const postject = join(dirname(createRequire(import.meta.url).resolve('postject')), 'cli.js');
  await run(process.execPath, [
    postject,
    exe,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ]);
}

/** The npm package: the bundle as its bin, no dependencies, so it installs with no registry. */
async function packTarball(work: string): Promise<string> {
  const stage = join(work, 'package');
  mkdirSync(stage, { recursive: true });
  const files = [
    'drctl.mjs',
    'chunks',
    'runbooks',
    'THIRD-PARTY-LICENSES',
    `${pkg.name}-${pkg.version}.cdx.json`,
  ];
  for (const f of files) cpSync(join(OUT, f), join(stage, f), { recursive: true });
  cpSync(join(ROOT, 'README.md'), join(stage, 'README.md'));
  const manifest = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    type: 'module',
    bin: { drctl: 'drctl.mjs' },
    engines: pkg.engines,
    files: [...files, 'README.md'],
  };
  writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  const out = await run('npm', ['pack', '--json', '--pack-destination', OUT], {
    cwd: stage,
    env: { ...process.env, npm_config_offline: 'true', npm_config_ignore_scripts: 'true' },
  });
  return (JSON.parse(out) as { filename: string }[])[0]!.filename;
}

const phases: string[] = [];
async function timed<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  const result = await fn();
  phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const work = join(tmpdir(), `drctl-release-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const seaScript = join(work, 'drctl.cjs');
    const [esm, cjs] = await Promise.all([
      timed('bundle', () => bundleEsm(OUT)),
      timed('bundle for the executable', () =>
        bundleCjs(seaScript, join(ROOT, 'scripts/release/entry-sea.ts')),
      ),
    ]);
    cpSync(join(ROOT, 'runbooks'), join(OUT, 'runbooks'), { recursive: true });
    copyFileSync(join(ROOT, 'runbooks', 'runbook.schema.json'), join(OUT, 'runbook.schema.json'));
    const bundled = packagesOf(ROOT, [esm, cjs]);
    const node = process.env.DRCTL_SEA_NODE ?? process.execPath;
    const nodeVersion = (await run(node, ['--version'])).trim().replace(/^v/, '');
    const sea = { name: SEA_NAME, node, nodeVersion };
    // The executable (postject takes most of the time) is made while the package is assembled.
    const [, tarball] = await Promise.all([
      timed('executable', () => buildSea(work, seaScript, node)),
      (async () => {
        writeFileSync(join(OUT, 'THIRD-PARTY-LICENSES'), collectLicenses(bundled, sea));
        await timed('sbom', () =>
          writeSbom(ROOT, join(OUT, `${pkg.name}-${pkg.version}.cdx.json`), bundled, sea),
        );
        return timed('npm pack', () => packTarball(work));
      })(),
    ]);
    writeChecksums(OUT);
    const size = (f: string) => `${(statSync(join(OUT, f)).size / 1024 / 1024).toFixed(1)} MB`;
    console.log(
      `(${phases.join(', ')})\nrelease/ in ${((Date.now() - started) / 1000).toFixed(1)} s: drctl.mjs + chunks/, ${SEA_NAME} (${size(SEA_NAME)}), ${tarball} (${size(tarball)}), ${bundled.length} bundled packages`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
