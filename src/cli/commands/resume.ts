import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { openRun } from '../../engine/inspect.js';
import { isRepeatable, prepareResume } from '../../engine/resume.js';
import { acquireRunLock } from '../../engine/run-lock.js';
import { readInvocation } from '../../engine/run-dir.js';
import { danglingSteps, partiallyCommittedSteps, type RunView } from '../../engine/state.js';
import { killGroup, stillRunning, waitForGroup } from '../../engine/step-process.js';
import { readJournal } from '../../journal/journal.js';
import { runSession } from '../../engine/session.js';
import { resolveUsersFile } from '../../engine/users.js';
import { UsageError, formatDiagnostic } from '../../errors.js';
import { resolveRunsDir } from '../../journal/runs.js';
import { buildPlan } from '../../plan/plan.js';
import { applyUnplanned } from '../../reconcile/unplanned.js';
import { loadRunbook } from '../../runbook/load.js';
import type { Runbook } from '../../runbook/schema.js';
import { redact } from '../../util/redact.js';
import { collectVar } from '../options.js';
import { printError, printLine } from '../output.js';
import { confirmByName, parseConcurrency, printOutcome } from './switch.js';

interface ResumeOptions {
  retryUnknown?: boolean;
  killRunning?: boolean;
  markDone?: string[];
  reason?: string;
  as?: string;
  yes?: boolean;
  concurrency?: number;
  runsDir?: string;
  var?: Record<string, string>;
  users?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

/**
 * The steps other than those still running that a resume cannot continue without a decision:
 * running when drctl stopped (and not only reading), or failed after part of their work committed.
 */
function undecidedSteps(
  view: RunView,
  runbook: Runbook,
  markDone: Map<string, string>,
  running: { step: string }[],
): string[] {
  const skip = new Set([...markDone.keys(), ...running.map((r) => r.step)]);
  const byId = new Map(runbook.steps.map((s) => [s.id, s]));
  const unknown = danglingSteps(view)
    .filter((s) => !skip.has(s.id))
    .filter((s) => {
      const step = byId.get(s.id);
      return step === undefined || !isRepeatable(step.action);
    })
    .map((s) => s.id);
  const partial = partiallyCommittedSteps(view)
    .filter((s) => !skip.has(s.id))
    .map((s) => `${s.id} (${s.committed!.join('; ')})`);
  const out: string[] = [];
  if (unknown.length > 0) {
    out.push(
      `step${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ${unknown.length > 1 ? 'were' : 'was'} running when drctl stopped: ${unknown.length > 1 ? 'their' : 'its'} effect is unknown`,
    );
  }
  if (partial.length > 0) {
    out.push(
      `step${partial.length > 1 ? 's' : ''} ${partial.join(', ')} failed after part of ${partial.length > 1 ? 'their' : 'its'} work committed`,
    );
  }
  return out;
}

/** `drctl resume <run>`: continue after a crash, an abort or a failure; done steps never run again. */
export function registerResume(program: Command): void {
  program
    .command('resume')
    .description(
      'continue a run: completed steps are not run again; steps whose effect is unknown need a decision',
    )
    .argument('<run>', 'run id, unique prefix, "latest", or run directory')
    .option(
      '--retry-unknown',
      'run again the steps that were running when drctl stopped; one whose process still runs is waited for first',
    )
    .option(
      '--kill-running',
      'with --retry-unknown: terminate (SIGTERM, then SIGKILL after 5 s) a step process that still runs instead of waiting for it',
    )
    .option(
      '--mark-done <id>',
      'record a step as done by hand instead of running it (repeatable; needs --reason)',
      collect,
    )
    .option('--reason <text>', 'why the steps given to --mark-done are done')
    .option('--as <name>', 'who decides (default: the login user)')
    .option('--yes', 'continue without typing the runbook name to confirm')
    .option('--concurrency <n>', 'steps running at once in the whole run', parseConcurrency)
    .option('--runs-dir <dir>', 'where runs are recorded (default $DRCTL_HOME/runs or .drctl/runs)')
    .option('--users <file>', 'users file whose roles may approve (default: the one the run started with)')
    .option('--var <name=value>', 'give again a secret var of the original run (stored masked)', collectVar)
    .addHelpText(
      'after',
      '\nExamples:\n  drctl resume latest\n  drctl resume 20261122T0215 --mark-done promote-db --reason "checked by hand: replica promoted"\n  drctl resume latest --retry-unknown --yes\n',
    )
    .action(async (run: string, opts: ResumeOptions) => {
      const { loc, view, live } = openRun(opts.runsDir, run);
      if (live === true) {
        throw new UsageError(`run ${view.runId} is still running (pid ${view.who.pid} on ${view.who.host})`, {
          hint: `follow it with drctl status ${view.runId} --follow`,
        });
      }
      const inv = readInvocation(loc.dir);
      if (inv === undefined)
        throw new UsageError(`run ${view.runId} has no invocation.json; it cannot be resumed`, {
          hint: 'start a new run',
        });
      if (opts.reason !== undefined && (opts.markDone ?? []).length === 0) {
        throw new UsageError('--reason goes with --mark-done <id>', {
          hint: 'e.g. --mark-done promote-db --reason "done by hand"',
        });
      }
      const by = opts.as ?? userInfo().username;
      const markDone = new Map((opts.markDone ?? []).map((id) => [id, opts.reason ?? '']));
      // Secret vars are stored masked in invocation.json: the operator gives them again.
      const vars = { ...inv.vars, ...opts.var };
      const masked = Object.keys(vars).filter((k) => vars[k] === '***');
      if (masked.length > 0) {
        throw new UsageError(
          `run ${view.runId} was started with secret var${masked.length > 1 ? 's' : ''} ${masked.join(', ')}, stored masked`,
          {
            hint: `give ${masked.length > 1 ? 'them' : 'it'} again: drctl resume ${view.runId} ${masked.map((k) => `--var ${k}=…`).join(' ')}`,
          },
        );
      }
      const loaded = loadRunbook(inv.file, { direction: inv.direction, drill: inv.drill, vars });
      // An unplanned switch resumes unplanned: the journal says so, the operator need not.
      const unplanned = view.unplanned || inv.unplanned === true;
      const runbook = unplanned ? applyUnplanned(loaded) : loaded;
      for (const w of runbook.warnings) printError(redact(formatDiagnostic(w)), 'warning');
      // A step whose process outlived drctl is still running: never start a second copy beside it.
      const running = stillRunning(
        readJournal(loc.journalPath).events,
        danglingSteps(view).map((s) => s.id),
      );
      const blocked = running.filter((r) => markDone.has(r.step) || !opts.retryUnknown);
      if (blocked.length > 0) {
        const lines = blocked.map((r) => {
          const what = `step ${r.step} is still running: its process group ${r.process.pgid} (pid ${r.members.join(', ')}) outlived drctl`;
          return markDone.has(r.step) ? `${what}; it cannot be marked done while it runs` : what;
        });
        // Name every other step that needs a decision too: an operator who waits for the running
        // one should not learn of the others only on the next resume.
        const undecided = opts.retryUnknown ? [] : undecidedSteps(view, runbook, markDone, running);
        if (undecided.length > 0) lines.push(...undecided);
        const waitOnly = blocked.every((r) => markDone.has(r.step));
        throw new UsageError(lines.join('\n'), {
          hint: waitOnly
            ? `wait for it to end (drctl status ${view.runId}), then resume again`
            : `wait for it to end and resume again; or resume with --retry-unknown (waits for it, then runs it again) or --retry-unknown --kill-running (terminates it first)${undecided.length > 0 ? '; for the others: --mark-done <id> --reason "…" (it happened) or --retry-unknown (run it again)' : ''}`,
        });
      }
      if (opts.killRunning && !opts.retryUnknown) {
        throw new UsageError('--kill-running goes with --retry-unknown', {
          hint: 'drctl resume <run> --retry-unknown --kill-running',
        });
      }
      const plan = prepareResume(view, runbook, { retryUnknown: opts.retryUnknown ?? false, markDone, by });
      const done = view.steps.filter(
        (s) =>
          s.rollbackOf === undefined &&
          (s.state === 'succeeded' || s.state === 'skipped' || s.state === 'done-by-override'),
      ).length;
      printLine(
        `resume run ${view.runId}: ${runbook.name} ${runbook.direction}${runbook.drill ? ' (drill)' : ''}${unplanned ? ' (unplanned)' : ''}; ${done} of ${runbook.steps.length} steps already complete`,
      );
      for (const d of plan.dangling)
        printLine(
          `  ${d.id}: was running when drctl stopped → ${d.decision === 'mark-done' ? 'marked done' : 'run again'} (${d.reason})`,
        );
      for (const m of plan.markDone) printLine(`  ${m.id}: marked done (${m.reason})`);
      if (plan.rerun.length > 0) printLine(`  run again (failed or cancelled): ${plan.rerun.join(', ')}`);
      if (!opts.yes) await confirmByName(runbook.name, 'continue the run');
      const lock = await acquireRunLock(runbook, view.runId, resolveRunsDir(opts.runsDir));
      for (const note of lock.notes) printError(note, 'warning');
      try {
        for (const r of running) {
          if (opts.killRunning) {
            printLine(`  ${r.step}: terminating its process group ${r.process.pgid} before running it again`);
            await killGroup(r.process);
          } else {
            printLine(
              `  ${r.step}: waiting for its process group ${r.process.pgid} to end before running it again`,
            );
            await waitForGroup(r.process, (m) =>
              printLine(`  ${r.step}: still waiting for pid ${m.join(', ')} (--kill-running terminates it)`),
            );
          }
        }
        const result = await runSession({
          runbook,
          runId: view.runId,
          runDir: loc.dir,
          journalPath: loc.journalPath,
          dryRun: false,
          plan: buildPlan(runbook, { concurrency: opts.concurrency ?? inv.concurrency }),
          resume: { ...plan, by },
          lock,
          usersFile: resolveUsersFile(opts.users ?? inv.usersFile),
          tty: process.stdout.isTTY === true,
        });
        printOutcome(view.runId, result.status, result.durationMs, result.error);
        process.exitCode = result.exitCode;
      } finally {
        // runSession releases it too; this covers a failure before the session starts.
        await lock.release();
      }
    });
}
