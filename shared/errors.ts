/** Exit codes shared by every command (README "Exit codes"). */
export const ExitCode = {
  ok: 0,
  /** A step failed, or a checker found differences. */
  failed: 1,
  /** Usage, configuration or connection error: nothing was judged. */
  usage: 2,
  interrupted: 130,
} as const;

/**
 * An error a person can act on: printed without a stack, with a hint, and mapped to an exit code.
 * Anything that is not a DrctlError is an internal error and printed with its stack.
 */
export class DrctlError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.usage;
    this.hint = options.hint;
  }
}

/** Bad command-line input. */
export class UsageError extends DrctlError {}

/** A configuration problem outside the runbook file itself (a missing env var, a lock held). */
export class ConfigError extends DrctlError {}

/** A system could not be reached or refused us (wrong password, missing privilege). */
export class ConnectionError extends DrctlError {}

/** One problem found in a runbook, with its place. */
export interface Diagnostic {
  file: string;
  line?: number;
  col?: number;
  /** Field path such as `steps[2].timeout`. */
  path?: string;
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}:${d.col ?? 1}`;
  const path = d.path ? ` ${d.path}:` : '';
  const head = `${where}${path} ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/** Every error found while loading a runbook, reported in one pass. */
export class RunbookError extends DrctlError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(`runbook has ${errors.length} error${errors.length === 1 ? '' : 's'}`, {
      exitCode: ExitCode.usage,
    });
    this.diagnostics = diagnostics;
  }
}
