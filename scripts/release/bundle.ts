import { chmodSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

/**
 * The esbuild configuration of drctl's bundles, shared by `npm run release` (release/drctl.mjs
 * and the single executable) and `npm run build` (dist/bundle/drctl.mjs, which bin/drctl.js runs
 * when it is there: one file and a few chunks load faster than hundreds of modules).
 */

export const ROOT = join(import.meta.dirname, '..', '..');
export const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  description: string;
  license: string;
  engines: Record<string, string>;
};

/** src/version.ts reads package.json next to dist/ at run time; the bundle has none, so bake it in. */
export const versionPlugin: Plugin = {
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
export const builtinImportPlugin: Plugin = {
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
export const missingOptionalPlugin: Plugin = {
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

/**
 * zod's `z.locales` namespace holds its error messages in some 50 languages (300 KB, half of zod
 * in the bundle), parsed by every command that validates anything. drctl's messages are its own,
 * in English, and zod uses `en` unless told otherwise; so only `en` is bundled (`z.locales.en`).
 */
export const zodLocalesPlugin: Plugin = {
  name: 'drctl-zod-locales',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: "export { default as en } from './en.js';\n",
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

export const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  metafile: true,
  // Whitespace and syntax only: names stay, so an internal error's stack still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  logLevel: 'warning',
  plugins: [versionPlugin, missingOptionalPlugin, zodLocalesPlugin],
};

/**
 * An ES module bundle in `outdir`: one .mjs per entry (release: drctl.mjs, the program; dist:
 * main.mjs, the module bin/drctl.js imports) and chunks/, so commands and checkers load on use.
 */
export async function bundleEsm(
  outdir: string,
  entryPoints: Record<string, string> = { drctl: join(ROOT, 'scripts/release/entry-esm.ts') },
): Promise<Metafile> {
  const result = await build({
    ...common,
    entryPoints,
    format: 'esm',
    splitting: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [versionPlugin, missingOptionalPlugin, zodLocalesPlugin, cjsDynamicImportPlugin],
    // CommonJS dependencies (mysql2, the AWS SDK…) call require() for Node's built-in modules.
    banner: {
      js: "import { createRequire as __drctlRequire } from 'node:module';\nconst require = __drctlRequire(import.meta.url);",
    },
  });
  for (const name of Object.keys(entryPoints)) chmodSync(join(outdir, `${name}.mjs`), 0o755);
  return result.metafile!;
}

/**
 * Packages that only checkers, data steps and the bridge use, and that make most of the bundle's
 * size: dist/bundle/drctl.cjs leaves them to node_modules (a checkout or an npm install has them),
 * so every other command reads and hashes a third of the bytes.
 */
export const DIST_EXTERNAL = [
  '@aws-sdk/*',
  '@smithy/*',
  'mysql2',
  'mysql2/*',
  'ioredis',
  'hono',
  'hono/*',
  '@hono/*',
];

/** `import('ioredis')` of an external package in a CommonJS bundle: a require() when it runs. */
const externalImportPlugin = (external: readonly string[]): Plugin => ({
  name: 'drctl-external-import',
  setup(b) {
    const isExternal = (path: string) =>
      external.some((e) => (e.endsWith('/*') ? path.startsWith(e.slice(0, -1)) : path === e));
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' && isExternal(args.path)
        ? { path: args.path, namespace: 'external-import' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'external-import' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
});

/**
 * One CommonJS file holding `entry` and what it imports (release: the single executable's
 * script, everything in it; dist: dist/bundle/drctl.cjs, which bin/drctl.js runs with V8's code
 * cache, `external` left to node_modules). Dynamic imports become lazily run module wrappers in
 * the same file, so a command still runs only its own modules' bodies; none may remain (a vm
 * script or an executable cannot run one).
 */
export async function bundleCjs(file: string, entry: string, external: string[] = []): Promise<Metafile> {
  const result = await build({
    ...common,
    entryPoints: [entry],
    format: 'cjs',
    outfile: file,
    external,
    plugins: [
      versionPlugin,
      missingOptionalPlugin,
      zodLocalesPlugin,
      builtinImportPlugin,
      externalImportPlugin(external),
    ],
  });
  if (/\bimport\(/.test(readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|"[^"\n]*"|'[^'\n]*'/g, ''))) {
    throw new Error(`${file} still holds a dynamic import(), which a single executable cannot run`);
  }
  return result.metafile!;
}
