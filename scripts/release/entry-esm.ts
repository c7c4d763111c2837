#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { VERSION } from '../../src/version.js';

// As bin/drctl.js for a checkout (see there): V8 optimises only really hot code; Ctrl-C ends drctl
// at once with 130 until a command installs its own handler; `--version` alone loads nothing more.
// main is imported dynamically so that the handler is in place while the rest loads, and each
// command stays in its own chunk, loaded only when it runs.
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
  const { main } = await import('../../src/cli/main.js');
  process.exitCode = await main(process.argv);
}
