// The single executable's entry. Node's SEA runs one CommonJS script (no top-level await, and
// require() only reaches built-in modules), so everything is bundled into it and the dynamic
// imports of commands and checkers become lazily run module wrappers inside the same file.
// As bin/drctl.js and entry-esm.ts: V8 optimises only really hot code; Ctrl-C ends drctl at once
// with 130 until a command installs its own handler; `--version` alone runs nothing more.
import { setFlagsFromString } from 'node:v8';
import { VERSION } from '../../src/version.js';

// V8 12 (Node 22) and later count invocations instead and have no such flag: setting it printed
// "Error: unrecognized flag" on every command there.
if (Number(process.versions.v8.split('.')[0]) < 12) setFlagsFromString('--interrupt-budget=540672');
process.on('SIGINT', () => {
  if (process.listenerCount('SIGINT') === 1) process.exit(130);
});
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  void import('../../src/cli/main.js').then(async ({ main }) => {
    process.exitCode = await main(process.argv);
  });
}
