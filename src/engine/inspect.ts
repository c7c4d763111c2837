import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { openJournalChecked } from '../journal/journal.js';
import { resolveRun, resolveRunsDir, type RunLocation } from '../journal/runs.js';
import { isProcessAlive } from './lock.js';
import { replayJournal, type RunView } from './state.js';

export interface OpenedRun {
  loc: RunLocation;
  view: RunView;
  /** Whether a drctl process is executing the run now (same host: by pid; other host: unknown). */
  live: boolean | 'unknown';
}

/**
 * Finds a run by id/prefix/latest/path and replays its journal. Unknown ids are usage errors; a
 * journal whose hash chain or head does not verify is refused (exit 2) unless `force`.
 */
export function openRun(
  runsDirOption: string | undefined,
  idOrLatest: string,
  options: { force?: boolean } = {},
): OpenedRun {
  const loc = resolveRun(resolveRunsDir(runsDirOption), idOrLatest);
  const { journal } = openJournalChecked(loc.journalPath, { force: options.force, run: loc.id });
  if (journal.events.length === 0) {
    throw new UsageError(`run ${loc.id} has an empty journal`, {
      hint: 'the run did not get as far as its first event',
    });
  }
  let view: RunView;
  try {
    view = replayJournal(journal.events);
  } catch (err) {
    throw new UsageError(`run ${loc.id}: ${(err as Error).message}`, { hint: `look at ${loc.journalPath}` });
  }
  return { loc, view, live: liveness(view) };
}

export function liveness(view: RunView): boolean | 'unknown' {
  if (view.finished) return false;
  return processLiveness(view.who);
}

/** Whether the drctl process `who` still runs (same host: by pid; another host: unknown). */
export function processLiveness(who: { host: string; pid: number }): boolean | 'unknown' {
  if (who.host !== hostname()) return 'unknown';
  return who.pid !== process.pid && isProcessAlive(who.pid);
}
