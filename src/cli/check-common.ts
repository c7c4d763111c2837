import type { CheckResult } from '../../checkers/types.js';
import { ExitCode } from '../errors.js';
import { redactValue } from '../util/redact.js';
import { printJson } from './output.js';

/** 0 consistent; 1 differences or anything unverified; 2 could not check. */
export function exitCodeForCheck(result: CheckResult): number {
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
