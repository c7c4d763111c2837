import { JournalWriter } from '../journal/journal.js';
import type { Runbook } from '../runbook/schema.js';
import { Executor, type EngineObserver, type ExecutorOptions, type RunResult } from './executor.js';
import type { RunLock } from './run-lock.js';
import { createLineRenderer } from './render-lines.js';

export interface SessionOptions extends Omit<ExecutorOptions, 'journal' | 'observer'> {
  journalPath: string;
  /** The switch locks (host, and the runbook's shared lock); released at the end. */
  lock: RunLock | undefined;
  /** listr2 on a TTY, timestamped lines otherwise. */
  tty: boolean;
}

/**
 * Runs the executor with a renderer, Ctrl-C handling (first: stop starting steps; second:
 * terminate running ones) and the lock released at the end whatever happens.
 */
export async function runSession(opts: SessionOptions): Promise<RunResult> {
  const journal = JournalWriter.open(opts.journalPath);
  // listr2 only on a terminal: a detached or logged run does not load it.
  const view = opts.tty
    ? new (await import('./render-listr.js')).ListrView(visibleSteps(opts.runbook))
    : undefined;
  const observer: EngineObserver = view ?? createLineRenderer();
  const executor = new Executor({ ...opts, journal, observer, lockGuard: opts.lock });
  const onSignal = (sig: NodeJS.Signals): void =>
    executor.interrupt(sig === 'SIGTERM' || sig === 'SIGHUP' ? sig : 'SIGINT');
  // A dropped SSH session sends SIGHUP and takes the terminal with it: handle it like SIGTERM,
  // and let writes to the dead terminal fail quietly rather than end the run (the journal is
  // the record; docs/operations.md says how to run detached so that this never matters).
  const ignoreStreamError = (): void => undefined;
  process.stdout.on('error', ignoreStreamError);
  process.stderr.on('error', ignoreStreamError);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    view?.start();
    return await executor.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    await view?.finish();
    journal.close();
    await opts.lock?.release();
  }
}

function visibleSteps(runbook: Runbook): Runbook['steps'] {
  return runbook.steps;
}
