import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { formatEventLine } from '../../engine/format-event.js';
import { liveness, openRun, processLiveness } from '../../engine/inspect.js';
import { replayJournal, viewOfReplay, visibleSteps, type RunView } from '../../engine/state.js';
import type { JournalEvent } from '../../journal/events.js';
import { openJournalChecked, readJournal } from '../../journal/journal.js';
import { replayRun } from '../../journal/replay.js';
import { buildReportModel, type ReportModel } from '../../report/index.js';
import { rtoLabel } from '../../report/format-values.js';
import { formatDuration } from '../../util/duration.js';
import { redact, redactValue } from '../../util/redact.js';
import { printError, printJson, printLine } from '../output.js';

interface StatusOptions {
  follow?: boolean;
  json?: boolean;
  runsDir?: string;
  force?: boolean;
}

/** `drctl status <run> [--follow]`: every step's state from the journal, from any terminal. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("show a run's steps from its journal; --follow prints events live until the run ends")
    .argument('<run>', 'run id, unique prefix, "latest", or run directory')
    .option('-f, --follow', 'print events as they are journaled until the run finishes and its drctl exits')
    .option('--json', 'print one JSON document')
    .option('--runs-dir <dir>', 'where runs are recorded (default $DRCTL_HOME/runs or .drctl/runs)')
    .option('--force', 'show the run even when its journal does not verify (see drctl verify)')
    .addHelpText('after', '\nExamples:\n  drctl status latest\n  drctl status 20261122T0215 --follow\n')
    .action(async (run: string, opts: StatusOptions) => {
      const opened = openRun(opts.runsDir, run, { force: opts.force });
      if (opts.follow) {
        await follow(opened.loc.journalPath);
      }
      const { view, model, verified } = readStatus(opened.loc.journalPath, opened.loc.id, {
        force: opts.force,
      });
      if (!verified)
        printError(
          'the journal does NOT verify (see drctl verify): shown up to the break because of --force',
          'warning',
        );
      if (opts.json) printJson(redactValue(statusJson(view, model)));
      else printStatus(view, model);
    });
}

/** How long `--follow` waits after run-finished for the executor's last words (its notify grace). */
const POST_FINISH_WAIT_MS = 10 * 60_000;

async function follow(path: string): Promise<void> {
  let offset = 0;
  let partial = '';
  let stop = false;
  const onSig = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSig);
  /** The process that last started or resumed the run; whether its run-finished was read. */
  let writer: { host: string; pid: number } | undefined;
  let finished = false;
  let lastEventAt = 0;
  const writerAlive = (): boolean => writer !== undefined && processLiveness(writer) === true;
  try {
    let idle = 0;
    while (!stop) {
      const size = statSync(path).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        const fd = openSync(path, 'r');
        readSync(fd, buf, 0, buf.length, offset);
        closeSync(fd);
        offset = size;
        const lines = (partial + buf.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') continue;
          let ev: JournalEvent;
          try {
            ev = JSON.parse(line) as JournalEvent;
          } catch {
            continue;
          }
          printLine(formatEventLine(ev));
          lastEventAt = Date.parse(ev.ts);
          if (ev.type === 'run-started' || ev.type === 'run-resumed') {
            writer = ev.who;
            finished = false;
          } else if (ev.type === 'run-finished') {
            // The executor journals what its notifications did after run-finished (the grace):
            // follow until it exits, unless it runs on another host (that cannot be told).
            finished = true;
          }
        }
        idle = 0;
      } else {
        idle += 1;
        if (finished) {
          // Its process gone, the journal is complete: what it wrote last was printed. A process
          // that still has its pid 10 min after the last event is not in its grace (pid reuse).
          const quiet = Date.now() - lastEventAt > POST_FINISH_WAIT_MS;
          if ((quiet || !writerAlive()) && statSync(path).size <= offset) return;
        } else if (idle % 10 === 0) {
          // Every few seconds, check the executor is still alive; a crashed run never writes run-finished.
          const view = replayJournal(readJournal(path).events);
          if (liveness(view) === false) {
            printLine(
              `drctl (pid ${view.who.pid} on ${view.who.host}) is no longer running; the run did not finish`,
            );
            return;
          }
        }
        await sleep(300);
      }
    }
  } finally {
    process.off('SIGINT', onSig);
  }
}

/**
 * The run as `status` shows it: the one replay of the journal, and the report model built from
 * the same events, so status and report give the same numbers. A live run's open steps and
 * clocks run to now.
 */
export function readStatus(
  journalPath: string,
  runId: string,
  /** `now`: where open clocks end (default the current time). */
  options: { force?: boolean | undefined; now?: number | undefined } = {},
): { view: RunView; model: ReportModel; verified: boolean } {
  // Refuses a journal that does not verify unless forced: never act on a tampered record.
  const { journal, chain } = openJournalChecked(journalPath, { force: options.force, run: runId });
  // Forced past a broken chain: only the events before the break (openJournalChecked).
  const events = journal.events;
  const now = options.now ?? Date.now();
  // One replay for the view and the report. Liveness reads only run-finished and who, which do
  // not depend on where open clocks end; a run that is not live (a crash) ends them at its last
  // event instead, so it is replayed again without them (a finished run ignores openUntil).
  let replay = replayRun(events, { openUntil: now });
  let view = viewOfReplay(events, replay);
  const live = liveness(view) !== false;
  if (!live && replay.finished === undefined) {
    replay = replayRun(events);
    view = viewOfReplay(events, replay);
  }
  const model = buildReportModel(
    {
      runId,
      events,
      integrity: {
        verified: chain.ok,
        events: events.length,
        breakAt: undefined,
        tornTail: false,
        corruptLines: [],
      },
    },
    { now, live, replay },
  );
  return { view, model, verified: chain.ok };
}

export function statusJson(view: RunView, model: ReportModel): unknown {
  return {
    runId: view.runId,
    runbook: view.runbook,
    direction: view.direction,
    drill: view.drill,
    dryRun: view.dryRun,
    startedAt: view.startedAt,
    status: model.run.status,
    /** First event → run-finished (or now while running): wall time across every resume. */
    durationMs: model.run.durationMs,
    finished: view.finished,
    resumes: model.run.resumes,
    live: liveness(view),
    rto: model.rto,
    steps: visibleSteps(view).map(({ finishedSeq: _f, ...s }) => s),
  };
}

export function printStatus(view: RunView, model: ReportModel): void {
  const live = liveness(view);
  const resumed = model.run.resumes.length;
  const across = resumed === 0 ? '' : ` (wall time across ${resumed + 1} sessions)`;
  const state = view.finished
    ? `${view.finished.status} in ${formatDuration(model.run.durationMs)}${across}`
    : live === true
      ? `running (pid ${view.who.pid} on ${view.who.host})`
      : live === 'unknown'
        ? `running on ${view.who.host} (pid ${view.who.pid}; cannot check from here)`
        : `stopped without finishing (pid ${view.who.pid} is gone): drctl resume ${view.runId}`;
  printLine(
    `run ${view.runId}: ${view.runbook.name} ${view.direction}${view.drill ? ' drill' : ''}${view.dryRun ? ' [dry run]' : ''}, started ${view.startedAt}`,
  );
  printLine(`status: ${state}`);
  for (const c of [model.rto.technical, model.rto.compliance]) {
    if (c.status !== 'not-defined') printLine(`${c.name} RTO: ${rtoLabel(c)} ${c.verdict}`);
  }
  const steps = visibleSteps(view);
  const counts = new Map<string, number>();
  for (const s of steps) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  printLine(`steps: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`);
  const width = Math.min(40, Math.max(...steps.map((s) => s.id.length), 4));
  for (const s of steps) {
    const shown =
      (s.state === 'running' || s.state === 'waiting-approval') && live === false ? 'unknown?' : s.state;
    const dur = s.durationMs === undefined ? '' : formatDuration(s.durationMs);
    const note =
      s.error ??
      s.skipReason ??
      (s.state === 'waiting-approval' ? `drctl approve ${view.runId} ${s.id} --as <name>` : undefined) ??
      (s.approval ? `${s.approval.decision} by ${s.approval.by}` : undefined) ??
      s.gate?.summary ??
      '';
    printLine(
      redact(`  ${s.id.padEnd(width)}  ${shown.padEnd(16)} ${s.owner.padEnd(8)} ${dur.padStart(8)}  ${note}`),
    );
  }
}
