import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/**
 * Runs dist/bundle/drctl.cjs with V8's code cache (issue 19). Compiling the CLI's code is a
 * large part of a short command (`validate`, `plan`, the start of a `switch`); V8 can save what it
 * compiled and load it next time instead. Node 20 offers that only for a script it is given
 * (vm.Script cachedData), not for ES modules (module.enableCompileCache is Node 22+), so the build
 * makes one CommonJS bundle and this runs it as such a script, on every Node version alike.
 *
 * The cache lives beside the bundle, in dist/bundle/.cache/, one file per command (each compiles
 * different code), named by the bundle file's identity (inode, size, modification time in
 * nanoseconds: any rewrite of it, by a build or by hand, makes a new name; hashing its text
 * instead cost 3–10 ms per command), the Node version and the architecture. V8 itself refuses a
 * cache of another V8 or other flags, and of a source of another length. A missing or refused
 * cache is written when the command ends, with what it compiled, atomically (rename), so
 * processes racing to write it are harmless. Nowhere else: a cache is code, and one in a
 * directory others can write (/tmp) could run theirs. Where dist/ is read-only (a system-wide
 * install), drctl runs without one.
 *
 * On Node 22+ the packages left in node_modules (the AWS SDK, mysql2…, loaded by the commands that
 * use them) go through Node's own compile cache, in the same directory for the same reason.
 */
const COMMANDS = new Set([
  'validate',
  'plan',
  'schema',
  'switch',
  'resume',
  'status',
  'approve',
  'reject',
  'check',
  'report',
  'verify',
  'init',
  'reconcile',
  'preflight',
  'users',
  'serve',
]);

export function runBundle(url, args) {
  const file = fileURLToPath(url);
  const source = readFileSync(file, 'utf8');
  const first = args.find((a) => !a.startsWith('-'));
  const command = first !== undefined && COMMANDS.has(first) ? first : 'other';
  const st = statSync(file, { bigint: true });
  const cacheFile = join(
    dirname(file),
    '.cache',
    `${st.ino}-${st.size}-${st.mtimeNs}-node${process.versions.node}-${process.arch}-${command}.v8`,
  );
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    /* not made yet */
  }
  // The wrapper Node gives a CommonJS module, on the first line so that lines keep their numbers.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => writeCache(script, cacheFile));
  }
  try {
    module.enableCompileCache?.(join(dirname(file), '.cache', 'modules'));
  } catch {
    /* no cache: as on Node 20 */
  }
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, dirname(file));
  return mod.exports;
}

function writeCache(script, cacheFile) {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  } catch {
    // Read-only or full: the next run compiles again, as without a cache.
    rmSync(tmp, { force: true });
  }
}
