import chalk from 'chalk';
import { redact, redactValue } from '../util/redact.js';

// The console is an edge: whatever a command prints is masked here (registered secrets, URL
// passwords, password= pairs), whether or not the caller masked it already.

/** Writes a line to stderr; colour only on a TTY (chalk detects it). */
export function printError(message: string, level: 'error' | 'warning' | 'hint' = 'error'): void {
  const prefix =
    level === 'error' ? chalk.red('error') : level === 'warning' ? chalk.yellow('warning') : undefined;
  const text = redact(message);
  process.stderr.write(prefix && !text.startsWith('hint:') ? `${prefix}: ${text}\n` : `${text}\n`);
}

export function printLine(line = ''): void {
  process.stdout.write(redact(line) + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(redactValue(value), null, 2) + '\n');
}
