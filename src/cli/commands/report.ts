import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ExitCode, UsageError } from '../../errors.js';
import { JournalIntegrityError, openJournalChecked } from '../../journal/journal.js';
import { resolveRun, resolveRunsDir } from '../../journal/runs.js';
import {
  compareReports,
  loadReportModel,
  parseReportFormat,
  renderCompare,
  renderReport,
  type ReportFormat,
} from '../../report/index.js';
import { processLiveness } from '../../engine/inspect.js';
import type { ReportModel } from '../../report/model.js';
import { printError } from '../output.js';

interface ReportOptions {
  format: string;
  output?: string;
  runsDir?: string;
  compare?: boolean;
  force?: boolean;
}

/** `drctl report <run|latest>`: the timing report and RPO evidence, from the run's journal alone. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'timing report of a run from its journal: every step, RTO clocks, phase/role totals, critical path, idle gaps, RPO evidence, integrity',
    )
    .argument(
      '[runs...]',
      'run id (or unique prefix, "latest", or a path to a run directory or journal.jsonl); two with --compare',
    )
    .option('--format <format>', 'console | html | md | csv | json', 'console')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option(
      '--runs-dir <dir>',
      'directory holding the run directories (default $DRCTL_HOME/runs or .drctl/runs)',
    )
    .option('--force', 'write the report (marked NOT VERIFIED) even when the journal does not verify')
    .option('--compare', 'compare two runs: drctl report --compare <runA> <runB> (deltas are B − A)')
    .addHelpText(
      'after',
      `
Examples:
  drctl report latest                                  summary on the terminal
  drctl report latest --format html -o night.html      self-contained HTML with the Gantt timeline
  drctl report 20261122T0215 --format csv -o steps.csv a row per step for spreadsheets
  drctl report --compare <rehearsal-run> <night-run> --format md

Exit codes: 0 report written · 1 written with --force, but the journal's hash chain did NOT verify · 2 unknown run or format, or a journal that does not verify (without --force)`,
    )
    .action((runs: string[], opts: ReportOptions) => {
      const format = parseReportFormat(opts.format);
      const runsDir = resolveRunsDir(opts.runsDir);
      let text: string;
      let verified: boolean;
      if (opts.compare) {
        if (runs.length !== 2) {
          throw new UsageError(`--compare needs exactly two runs, got ${runs.length}`, {
            hint: 'drctl report --compare <runA> <runB> (for example a rehearsal and the real night)',
          });
        }
        const a = loadChecked(runsDir, runs[0]!, opts.force);
        const b = loadChecked(runsDir, runs[1]!, opts.force);
        text = renderCompare(compareReports(a, b), format);
        verified = a.integrity.verified && b.integrity.verified;
      } else {
        if (runs.length > 1) {
          throw new UsageError(`expected one run, got ${runs.length}`, {
            hint: 'to compare two runs add --compare: drctl report --compare <runA> <runB>',
          });
        }
        const model = loadChecked(runsDir, runs[0] ?? 'latest', opts.force);
        text = renderReport(model, format);
        verified = model.integrity.verified;
      }
      emit(text, opts.output, format);
      if (!verified) {
        printError(
          'the journal hash chain did NOT verify: the report is marked NOT VERIFIED (see drctl verify)',
          'warning',
        );
        process.exitCode = ExitCode.failed;
      }
    });
}

/** Clocks still open run to now; a live run's open steps too. */
function now(): { now: number; liveness: typeof processLiveness } {
  return { now: Date.now(), liveness: processLiveness };
}

/**
 * The report model of a run whose journal verifies (head included). With --force, of any run;
 * a journal damaged so badly that no report can be built from it is still a clear error.
 */
function loadChecked(runsDir: string, arg: string, force: boolean | undefined): ReportModel {
  const run = resolveRun(runsDir, arg);
  const { chain } = openJournalChecked(run.journalPath, { force, run: run.id });
  if (chain.ok) return loadReportModel(run, now());
  try {
    return loadReportModel(run, now());
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new JournalIntegrityError(
      `no report can be built from the journal of run ${run.id}, even with --force: ${(err as Error).message}`,
      { hint: `drctl verify ${run.id} shows where the journal was damaged` },
    );
  }
}

function emit(text: string, output: string | undefined, format: ReportFormat): void {
  if (output === undefined || output === '-') {
    process.stdout.write(text);
    return;
  }
  const path = resolve(output);
  try {
    writeFileSync(path, text);
  } catch (err) {
    throw new UsageError(`cannot write the report to ${path}: ${(err as Error).message}`, {
      hint: 'check that the directory exists and is writable',
    });
  }
  process.stderr.write(`wrote ${format} report to ${path}\n`);
}
