import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { submitApproval } from '../../engine/approvals.js';
import { openRun } from '../../engine/inspect.js';
import { UsageError } from '../../errors.js';
import { readJournal } from '../../journal/journal.js';
import { printLine } from '../output.js';

interface ApproveOptions {
  as?: string;
  comment?: string;
  runsDir?: string;
  wait?: string;
}

/** `drctl approve|reject <run> <step>`: decide a manual step from any terminal. */
export function registerApprove(program: Command): void {
  for (const decision of ['approved', 'rejected'] as const) {
    const name = decision === 'approved' ? 'approve' : 'reject';
    program
      .command(name)
      .description(`${name} a manual step that is waiting for approval in a running switch`)
      .argument('<run>', 'run id, unique prefix, "latest", or run directory')
      .argument('<step>', 'the step id')
      .option('--as <name>', 'who decides (default: the login user)')
      .option('--comment <text>', 'recorded in the journal with the decision')
      .option('--runs-dir <dir>', 'where runs are recorded (default $DRCTL_HOME/runs or .drctl/runs)')
      .addHelpText(
        'after',
        `\nExample:\n  drctl ${name} latest business-verified --as alice --comment "200 cases passed"\n`,
      )
      .action(async (run: string, stepId: string, opts: ApproveOptions) => {
        await decide(run, stepId, decision, opts);
      });
  }
}

async function decide(
  run: string,
  stepId: string,
  decision: 'approved' | 'rejected',
  opts: ApproveOptions,
): Promise<void> {
  const { loc, view, live } = openRun(opts.runsDir, run);
  const step = view.byId.get(stepId);
  if (step === undefined) {
    throw new UsageError(`run ${view.runId} has no step "${stepId}"`, {
      hint: `steps waiting for approval: ${
        view.steps
          .filter((s) => s.state === 'waiting-approval')
          .map((s) => s.id)
          .join(', ') || 'none'
      }`,
    });
  }
  if (step.state !== 'waiting-approval') {
    throw new UsageError(`step ${stepId} is not waiting for approval (it is ${step.state})`, {
      hint: `see drctl status ${view.runId}; only a manual step that has started and asked for approval can be decided`,
    });
  }
  if (live === false) {
    throw new UsageError(
      `run ${view.runId} is not running (drctl pid ${view.who.pid} is gone), so nothing would pick the decision up`,
      {
        hint: `resume it first: drctl resume ${view.runId}`,
      },
    );
  }
  const by = opts.as ?? userInfo().username;
  submitApproval(loc.dir, { step: stepId, decision, by, ...(opts.comment ? { comment: opts.comment } : {}) });
  // The executor owns the journal; wait until it has recorded the decision.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ev = readJournal(loc.journalPath).events.find(
      (e, i) => i >= view.events && e.type === 'approval' && e.step === stepId,
    );
    if (ev && ev.type === 'approval') {
      printLine(`${stepId} ${ev.decision} by ${ev.by}: recorded in run ${view.runId} (event ${ev.seq})`);
      return;
    }
    await sleep(100);
  }
  printLine(
    `${stepId}: decision submitted; the executor has not recorded it yet (check drctl status ${view.runId})`,
  );
}
