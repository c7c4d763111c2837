import type { Writable } from 'node:stream';

/**
 * Holds a run step's command until the executor has journaled its process: the child starts
 * as `sh -c 'read go; exec cmd…'`, drctl journals its pid (fsynced), then writes "go". `exec`
 * keeps the pid, so the journaled pid and process group are the command's own. If drctl dies
 * before "go", `read` sees end of file and the command never runs (exit 125): a process that
 * is not in the journal never does anything.
 */
export const GATE_EXIT_CODE = 125;

/** The argv that runs `file args` (or a shell command line) behind the gate. */
export function gatedArgv(shell: boolean, file: string, args: readonly string[]): [string, string[]] {
  const target = shell ? ['/bin/sh', '-c', file] : [file, ...args];
  return [
    '/bin/sh',
    ['-c', `IFS= read -r go || exit ${GATE_EXIT_CODE}; exec "$@" </dev/null`, 'drctl-step', ...target],
  ];
}

/** Lets the gated command run. */
export function openGate(stdin: Writable | null | undefined): void {
  stdin?.on('error', () => undefined);
  stdin?.end('go\n');
}

/** Never lets the gated command run: end of file at its `read`, so it exits 125. */
export function closeGate(stdin: Writable | null | undefined): void {
  stdin?.on('error', () => undefined);
  stdin?.end();
}
