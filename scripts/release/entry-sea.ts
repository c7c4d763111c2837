// The single executable's entry. Node's SEA runs one CommonJS script (no top-level await, and
// require() only reaches built-in modules), so everything is bundled into it and the dynamic
// imports of commands and checkers become lazily run module wrappers inside the same file.
process.on('SIGINT', () => {
  if (process.listenerCount('SIGINT') === 1) process.exit(130);
});
void import('../../src/cli/main.js').then(async ({ main }) => {
  process.exitCode = await main(process.argv);
});
