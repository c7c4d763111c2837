import { CommanderError } from 'commander';
import { DrctlError, ExitCode, RunbookError, formatDiagnostic } from '../errors.js';
import { redact } from '../util/redact.js';
import { buildProgram } from './program.js';
import { printError } from './output.js';

/**
 * Runs the CLI and returns the exit code. The only place that prints errors and decides
 * exit codes: commands throw DrctlError (known, no stack) or return a code.
 */
export async function main(argv: string[]): Promise<number> {
  // `drctl status … | head`: the reader left; stop quietly, as other Unix tools do. A running
  // switch adds its own listener and carries on (the journal is its record, not the terminal).
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE' && process.stdout.listenerCount('error') === 1) {
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok);
    }
  };
  process.stdout.on('error', onStdoutError);
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (unknown option, missing argument, --help).
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    ) {
      return ExitCode.ok;
    }
    return ExitCode.usage;
  }
  if (err instanceof RunbookError) {
    for (const d of err.diagnostics) printError(redact(formatDiagnostic(d)), d.severity);
    printError(redact(err.message));
    return err.exitCode;
  }
  if (err instanceof DrctlError) {
    printError(redact(err.message));
    if (err.hint) printError(redact(`hint: ${err.hint}`), 'hint');
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  printError(redact(`internal error: ${e.stack ?? e.message}`));
  printError('hint: this is a bug in drctl; please report it with the command you ran', 'hint');
  return ExitCode.usage;
}
