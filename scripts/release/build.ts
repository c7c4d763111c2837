import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
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

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'release');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  description: string;
  license: string;
  engines: Record<string, string>;
};

/** src/version.ts reads package.json next to dist/ at run time; the bundle has none, so bake it in. */
const versionPlugin: Plugin = {
  name: 'drctl-version',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({
      contents: `export const VERSION = ${JSON.stringify(pkg.version)};\n`,
      loader: 'ts',
    }));
  },
};

/**
 * A single executable runs its script without an ESM loader: even `import('node:http')` (the AWS
 * SDK has two) throws there. Such an import becomes a lazily required module of the bundle.
 */
const builtinImportPlugin: Plugin = {
  name: 'drctl-sea-builtins',
  setup(b) {
    const builtins = new Set(builtinModules);
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) =>
      args.kind === 'dynamic-import' && (args.path.startsWith('node:') || builtins.has(args.path))
        ? { path: args.path, namespace: 'sea-builtin' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'sea-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * Optional dependencies that are not installed (debug's supports-color, mysql2's cardinal) are
 * required inside try/catch at run time. Left as they are, the bundle would load whatever the
 * bastion happens to have under that name, and the executable warns that its require() only
 * loads built-in modules; so they become modules that throw "not found", as they do today.
 */
const missingOptionalPlugin: Plugin = {
  name: 'drctl-missing-optional',
  setup(b) {
    b.onLoad({ filter: /[\\/]mysql2[\\/]lib[\\/]helpers\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(
        'require(`cardinal${REQUIRE_TERMINATOR}`)',
        "require('cardinal')",
      ),
      loader: 'js',
    }));
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (
        args.kind !== 'require-call' ||
        args.pluginData === 'probe' ||
        !args.importer.includes('node_modules')
      ) {
        return undefined;
      }
      if (args.path.startsWith('node:') || builtinModules.includes(args.path)) return undefined;
      const found = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'probe',
      });
      return found.errors.length > 0 ? { path: args.path, namespace: 'missing-optional' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'missing-optional' }, (args) => ({
      contents: `const e = new Error(${JSON.stringify(`Cannot find module '${args.path}'`)}); e.code = 'MODULE_NOT_FOUND'; throw e;`,
      loader: 'js',
    }));
  },
};

const RESERVED = new Set(
  'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof let new null return static super switch this throw true try typeof var void while with yield'.split(
    ' ',
  ),
);

/**
 * `await import('ioredis')` of a CommonJS package: Node gives the names its exports assign
 * (`const { Redis } = …`), but a code-split esbuild chunk gives only `default`, so the redis
 * step would fail with "Redis is not a constructor". Such an import gets a small ESM wrapper
 * that re-exports the package's names, read by loading the package here at build time.
 */
const cjsDynamicImportPlugin: Plugin = {
  name: 'drctl-cjs-dynamic-import',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      // Only drctl's own lazy imports (ioredis, mysql2); dependencies' code stays as esbuild makes it.
      if (args.kind !== 'dynamic-import' || args.pluginData === 'probe') return undefined;
      if (args.importer.includes('node_modules')) return undefined;
      if (args.path.startsWith('node:') || builtinModules.includes(args.path)) return undefined;
      const found = await b.resolve(args.path, {
        kind: 'require-call',
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'probe',
      });
      if (found.errors.length > 0 || found.path.endsWith('.mjs')) return undefined;
      let names: string[];
      try {
        const exported = createRequire(found.path)(found.path) as Record<string, unknown>;
        names = Object.keys(exported).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && !RESERVED.has(n));
      } catch {
        return undefined; // an ES module: esbuild keeps its names
      }
      return { path: found.path, namespace: 'cjs-named', pluginData: names };
    });
    b.onLoad({ filter: /.*/, namespace: 'cjs-named' }, (args) => ({
      contents:
        `import m from ${JSON.stringify(args.path)};\nexport default m;\n` +
        `export const { ${(args.pluginData as string[]).join(', ')} } = m;\n`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  metafile: true,
  // Whitespace and syntax only: names stay, so an internal error's stack still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  logLevel: 'warning',
  plugins: [versionPlugin, missingOptionalPlugin],
};

async function bundleEsm(): Promise<Metafile> {
  const result = await build({
    ...common,
    entryPoints: { drctl: join(ROOT, 'scripts/release/entry-esm.ts') },
    format: 'esm',
    splitting: true,
    outdir: OUT,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [versionPlugin, missingOptionalPlugin, cjsDynamicImportPlugin],
    // CommonJS dependencies (mysql2, the AWS SDK…) call require() for Node's built-in modules.
    banner: {
      js: "import { createRequire as __drctlRequire } from 'node:module';\nconst require = __drctlRequire(import.meta.url);",
    },
  });
  chmodSync(join(OUT, 'drctl.mjs'), 0o755);
  return result.metafile!;
}

async function bundleCjs(file: string): Promise<Metafile> {
  const result = await build({
    ...common,
    entryPoints: [join(ROOT, 'scripts/release/entry-sea.ts')],
    format: 'cjs',
    outfile: file,
    plugins: [versionPlugin, missingOptionalPlugin, builtinImportPlugin],
  });
  if (/\bimport\(/.test(readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|"[^"\n]*"|'[^'\n]*'/g, ''))) {
    throw new Error(`${file} still holds a dynamic import(), which a single executable cannot run`);
  }
  return result.metafile!;
}

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
      timed('bundle', bundleEsm),
      timed('bundle for the executable', () => bundleCjs(seaScript)),
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
