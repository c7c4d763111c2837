import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { resolveRun, resolveRunsDir } from '../../journal/runs.js';
import { loadJournal } from '../../report/index.js';
import { printJson, printLine } from '../output.js';

interface VerifyOptions {
  runsDir?: string;
  json?: boolean;
}

/** `drctl verify <run>`: checks the journal's sha-256 hash chain. */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description("check a run journal's sha-256 hash chain (exit 0 intact, 1 broken, 2 unknown run)")
    .argument(
      '[run]',
      'run id (or unique prefix, "latest", or a path to a run directory or journal.jsonl)',
      'latest',
    )
    .option(
      '--runs-dir <dir>',
      'directory holding the run directories (default $DRCTL_HOME/runs or .drctl/runs)',
    )
    .option('--json', 'print one JSON document')
    .action((runArg: string, opts: VerifyOptions) => {
      const run = resolveRun(resolveRunsDir(opts.runsDir), runArg);
      // The chain says every event follows from the one before; the head file says where the
      // journal ends, so that an edited or removed last event, or a line appended by hand, shows.
      const loaded = loadJournal(run.journalPath);
      const { chain } = loaded;
      const integrity =
        loaded.integrity.verified && !chain.ok
          ? { ...loaded.integrity, verified: false, breakAt: chain.breakAt }
          : loaded.integrity;
      const anchor = chain.anchor;
      if (opts.json) {
        printJson({ run: run.id, journal: run.journalPath, ...integrity, anchor });
      } else if (integrity.verified) {
        printLine(`run ${run.id}: hash chain intact (${integrity.events} events)`);
        if (integrity.tornTail) {
          printLine(
            'note: the last line was cut short by a crash while it was written; it is ignored, not a break',
          );
        }
        if (anchor === 'one-behind') {
          printLine(
            'note: the last event is chained but not anchored in journal.head (drctl stopped between writing the two)',
          );
        } else if (anchor === 'writing') {
          printLine(
            'note: drctl was appending to this journal while it was read; the events after its head are chained and will be anchored as it goes on',
          );
        } else if (anchor === 'no-head') {
          printLine(
            'note: no journal.head: the last event is not protected (a run recorded before heads existed)',
          );
        }
      } else {
        const b = integrity.breakAt;
        printLine(`run ${run.id}: hash chain BROKEN`);
        if (b !== undefined) {
          printLine(`  at ${b.seq >= 0 ? `event ${b.seq}, ` : ''}line ${b.line} of ${run.journalPath}`);
          printLine(`  why: ${b.reason}`);
        }
        printLine(
          `  ${integrity.events} events read${integrity.corruptLines.length ? `; unreadable lines: ${integrity.corruptLines.join(', ')}` : ''}`,
        );
      }
      process.exitCode = integrity.verified ? ExitCode.ok : ExitCode.failed;
    });
}
