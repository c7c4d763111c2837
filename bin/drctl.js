#!/usr/bin/env node
// Until a command installs its own handler, Ctrl-C ends drctl at once with 130 (not by the
// signal, which leaves no exit code): loading the CLI takes a moment on a busy bastion. A
// command that handles SIGINT itself (a check, a switch) takes over; this one then stays quiet.
process.on('SIGINT', () => {
  if (process.listenerCount('SIGINT') === 1) process.exit(130);
});
const { main } = await import('../dist/src/cli/main.js');

process.exitCode = await main(process.argv);
