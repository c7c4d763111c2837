#!/usr/bin/env node
// The bundle's entry, as bin/drctl.js for a checkout: Ctrl-C ends drctl at once with 130 until a
// command installs its own handler. main is imported dynamically so that the handler is in place
// while the rest loads, and each command stays in its own chunk, loaded only when it runs.
process.on('SIGINT', () => {
  if (process.listenerCount('SIGINT') === 1) process.exit(130);
});
const { main } = await import('../../src/cli/main.js');

process.exitCode = await main(process.argv);
