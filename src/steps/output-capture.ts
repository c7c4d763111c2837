import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { redact } from '../util/redact.js';

/**
 * Splits a stream into lines, redacts each, appends it to a file and keeps the last lines
 * for the failure message. Stored step output never holds a secret.
 */
export class OutputCapture {
  private readonly fd: number;
  private partial = '';
  private readonly tail: string[] = [];

  constructor(
    readonly path: string,
    header: string,
    private readonly keep = 20,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
    writeSync(this.fd, header + '\n');
  }

  write(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.push(line);
  }

  lastLines(): string[] {
    return [...this.tail];
  }

  close(): void {
    if (this.partial !== '') this.push(this.partial);
    this.partial = '';
    closeSync(this.fd);
  }

  private push(line: string): void {
    const clean = redact(line.replace(/\r$/, ''));
    writeSync(this.fd, clean + '\n');
    this.tail.push(clean);
    if (this.tail.length > this.keep) this.tail.shift();
  }
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** Shell-style exit code for a signal (SIGKILL → 137). */
export function exitCodeForSignal(signal: string): number {
  return 128 + (SIGNALS[signal] ?? 0);
}

/** What an exit code usually means, for the failure message (137 → killed). */
export function describeExitCode(code: number): string {
  if (code === 0) return 'success';
  if (code === 126) return 'command found but not executable';
  if (code === 127) return 'command not found';
  if (code > 128 && code < 160) {
    const name = Object.entries(SIGNALS).find(([, n]) => n === code - 128)?.[0];
    if (code === 137) return 'killed (SIGKILL: timeout, abort or out of memory)';
    if (code === 143) return 'terminated (SIGTERM)';
    if (code === 130) return 'interrupted (SIGINT)';
    return name ? `killed by ${name}` : `killed by signal ${code - 128}`;
  }
  return 'failed';
}
