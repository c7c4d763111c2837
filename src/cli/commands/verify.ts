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
      const { integrity } = loadJournal(run.journalPath);
      if (opts.json) {
        printJson({ run: run.id, journal: run.journalPath, ...integrity });
      } else if (integrity.verified) {
        printLine(`run ${run.id}: hash chain intact (${integrity.events} events)`);
        if (integrity.tornTail) {
          printLine(
            'note: the last line was cut short by a crash while it was written; it is ignored, not a break',
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
