import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { readJournal } from './journal.js';
import { replayRun } from './replay.js';

/** Step durations of a previous run, for `drctl plan --history`, and where they came from. */
export interface RunHistory {
  /** ms by step id: for each step that succeeded, its last session (last step-started → step-finished). */
  durations: Map<string, number>;
  runId: string;
  runbook: string;
  status: string;
  startedAt: string;
  drill: boolean;
  /** Things a forecast reader must know (a failed or unfinished run, a drill). */
  warnings: string[];
}

/**
 * Reads a previous run's journal (a run dir or the journal.jsonl itself) through the one replay.
 * A dry run is refused: nothing ran, so it has no durations (exit 2).
 */
export function readRunHistory(path: string): RunHistory {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'journal.jsonl') : path;
  if (!existsSync(file)) {
    throw new UsageError(`--history ${path}: no journal there`, {
      hint: 'give a run directory (.drctl/runs/<id>) or its journal.jsonl',
    });
  }
  const replay = replayRun(readJournal(file).events);
  const started = replay.started;
  if (started === undefined) {
    throw new UsageError(`--history ${path}: the journal has no run-started event`, {
      hint: 'give the journal of a run that started',
    });
  }
  if (started.dryRun) {
    throw new UsageError(
      `--history ${path}: run ${started.runId} was a dry run; nothing ran, so it has no durations`,
      {
        hint: 'give a run that executed its steps (a rehearsal or a real switch)',
      },
    );
  }
  const durations = new Map<string, number>();
  for (const t of replay.tracks.values()) {
    const last = t.starts.at(-1);
    if (
      t.info.rollbackOf !== undefined ||
      t.status !== 'succeeded' ||
      last === undefined ||
      t.end === undefined
    )
      continue;
    durations.set(t.info.id, t.end - last);
  }
  const status = replay.finished?.status ?? 'in-progress';
  const warnings: string[] = [];
  if (status !== 'succeeded') {
    warnings.push(
      `history run ${started.runId} ${status === 'in-progress' ? 'did not finish' : `ended ${status}`}: only its ${durations.size} succeeded steps give durations`,
    );
  }
  if (started.drill) {
    warnings.push(
      `history run ${started.runId} was a drill: drill variants and skipped steps may not take the real time`,
    );
  }
  return {
    durations,
    runId: started.runId,
    runbook: started.runbook.name,
    status,
    startedAt: started.ts,
    drill: started.drill,
    warnings,
  };
}
