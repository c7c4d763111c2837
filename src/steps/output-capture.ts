import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { redact, redactTruncated } from '../util/redact.js';

/** Longest line kept in stored output; the rest of a longer line is dropped (and said so). */
export const MAX_LINE_CHARS = 64 * 1024;

/**
 * Splits a stream into lines, redacts each, appends it to a file and keeps the last lines
 * for the failure message. Stored step output never holds a secret.
 *
 * Work per chunk is bounded: a line is kept up to MAX_LINE_CHARS and the rest of it dropped, so a
 * 10 MB line without a newline costs O(size) and never blocks the event loop (timeouts and
 * signals keep working). Output is decoded as UTF-8 across chunk boundaries; bytes that are not
 * UTF-8 (binary output) are stored as U+FFFD.
 */
export class OutputCapture {
  private readonly fd: number;
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** Length of the current line once it was cut (-1: not cut). */
  private dropped = -1;
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
    this.take(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  lastLines(): string[] {
    return [...this.tail];
  }

  close(): void {
    this.take(this.decoder.end());
    if (this.partial !== '' || this.dropped >= 0) this.endLine();
    closeSync(this.fd);
  }

  private take(text: string): void {
    let from = 0;
    while (from < text.length) {
      const nl = text.indexOf('\n', from);
      const to = nl === -1 ? text.length : nl;
      if (this.dropped >= 0) this.dropped += to - from;
      else {
        this.partial += text.slice(from, to);
        if (this.partial.length > MAX_LINE_CHARS) this.cut();
      }
      if (nl === -1) break;
      this.endLine();
      from = nl + 1;
    }
  }

  /** The line is too long: keep its beginning, drop the rest until the next newline. */
  private cut(): void {
    this.dropped = this.partial.length;
    this.partial = redactTruncated(this.partial, MAX_LINE_CHARS);
  }

  private endLine(): void {
    let line: string;
    if (this.dropped >= 0) {
      // partial holds the already-redacted beginning.
      line = `${this.partial} …[line cut: ${this.dropped} characters, only the beginning is stored]`;
    } else line = redact(this.partial.replace(/\r$/, ''));
    this.partial = '';
    this.dropped = -1;
    writeSync(this.fd, line + '\n');
    this.tail.push(line);
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
