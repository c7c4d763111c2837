import chalk from 'chalk';

/** Writes a line to stderr; colour only on a TTY (chalk detects it). */
export function printError(message: string, level: 'error' | 'warning' | 'hint' = 'error'): void {
  const prefix =
    level === 'error' ? chalk.red('error') : level === 'warning' ? chalk.yellow('warning') : undefined;
  process.stderr.write(prefix && !message.startsWith('hint:') ? `${prefix}: ${message}\n` : `${message}\n`);
}

export function printLine(line = ''): void {
  process.stdout.write(line + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
