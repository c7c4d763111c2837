import type { z } from 'zod';
import type { CheckProgressEvent, CheckResult } from '../../checkers/types.js';
import { ExitCode, UsageError } from '../errors.js';
import { redact, redactValue } from '../util/redact.js';
import { printJson } from './output.js';

/** 0 consistent; 1 differences or anything unverified; 2 could not check. */
export function exitCodeForCheck(result: CheckResult): number {
  if (result.interrupted) return ExitCode.interrupted;
  switch (result.status) {
    case 'consistent':
      return ExitCode.ok;
    case 'different':
    case 'unverified':
      return ExitCode.failed;
    case 'error':
      return ExitCode.usage;
  }
}

export function printCheckJson(result: CheckResult): void {
  printJson(redactValue(result));
}

/** Aborts on Ctrl-C; the command records nothing half-done and exits 130. */
export function abortOnSigint(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSig = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSig);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSig) };
}

const kebab = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * An invalid option value as a UsageError naming the flag (exit 2), never a raw ZodError:
 * `--wait: …`, `--column: since/until need column`.
 */
export function optionError(error: z.ZodError, optionFlags: Record<string, string>): UsageError {
  const lines = error.issues.map((issue) => {
    const key = issue.path[0];
    const flag = typeof key === 'string' ? (optionFlags[key] ?? kebab(key)) : 'options';
    const rest = issue.path.slice(1).join('.');
    return `${flag}${rest ? ` (${rest})` : ''}: ${issue.message}`;
  });
  return new UsageError(lines.join('; '), { hint: 'see --help for the expected values' });
}

/** One progress line on a TTY (stderr), rewritten in place at most every 100 ms. */
export function createProgressLine(enabled: boolean): {
  update: (e: CheckProgressEvent) => void;
  done: () => void;
} {
  let last = 0;
  let shown = false;
  return {
    update(e) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100 && e.done !== 0) return;
      last = now;
      let line = `${e.phase}${e.object ? ` ${e.object}` : ''}`;
      if (e.total !== undefined && e.done !== undefined && e.total > 0) {
        const pct = Math.min(100, Math.round((e.done / e.total) * 100));
        const bar = '#'.repeat(Math.round(pct / 5)).padEnd(20, '.');
        line += ` [${bar}] ${pct}% ${e.done.toLocaleString('en-US')}`;
      } else if (e.done !== undefined) line += ` ${e.done.toLocaleString('en-US')}`;
      if (e.message) line += `: ${e.message}`;
      process.stderr.write(`\r\x1b[2K${redact(line).slice(0, (process.stderr.columns || 100) - 1)}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}
