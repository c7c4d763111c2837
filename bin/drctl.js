#!/usr/bin/env node
import { statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// A command runs for a second or two, most of it code run once (module bodies, the first parse of
// each YAML file); V8's default eagerness spends a third of a core compiling such code optimised.
// Eight times its budget before optimising keeps that for code that is really hot (a 10,000-step
// plan: 7.8 → 6.5 s CPU; 2,000 steps 1.8 → 1.5 s; issue 19). A long check still gets optimised.
// V8 12 (Node 22) and later count invocations instead and have no such flag: setting it printed
// "Error: unrecognized flag" on every command there.
if (Number(process.versions.v8.split('.')[0]) < 12) setFlagsFromString('--interrupt-budget=540672');

// Until a command installs its own handler, Ctrl-C ends drctl at once with 130 (not by the
// signal, which leaves no exit code): loading the CLI takes a moment on a busy bastion. A
// command that handles SIGINT itself (a check, a switch) takes over; this one then stays quiet.
process.on('SIGINT', () => {
  if (process.listenerCount('SIGINT') === 1) process.exit(130);
});

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // What commander prints, without loading commander and the program.
  const { VERSION } = await import('../dist/src/version.js');
  process.stdout.write(`${VERSION}\n`);
} else {
  const { main } = await loadCli();
  process.exitCode = await main(process.argv);
}

/**
 * dist/bundle/drctl.cjs (esbuild, `npm run build`) when it was built after dist/src, run with
 * V8's code cache (bundle-cache.js); else the compiled modules: a bare `tsc` afterwards must not
 * leave an older bundle running.
 */
async function loadCli() {
  const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
  const bundle = new URL('../dist/bundle/drctl.cjs', import.meta.url);
  let useBundle = false;
  try {
    useBundle = statSync(bundle).mtimeMs >= statSync(compiled).mtimeMs;
  } catch {
    /* no bundle: the compiled modules */
  }
  if (!useBundle) return import(compiled.href);
  const { runBundle } = await import('./bundle-cache.js');
  return runBundle(bundle, args);
}
