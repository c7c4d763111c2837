import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { submitApproval } from '../../engine/approvals.js';
import { openRun, processLiveness } from '../../engine/inspect.js';
import { UsageError } from '../../errors.js';
import { readJournal } from '../../journal/journal.js';
import { printLine } from '../output.js';

/** How long `approve` waits for the running executor to journal its answer. */
const ANSWER_WAIT_MS = 60_000;

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
      .option(
        '--as <name>',
        "who decides: a member of the step's owner or approvers role (default: the login user); your OS user and host are recorded beside it",
      )
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
  const concurring = decision === 'approved' && step.approval?.decision === 'approved';
  if (step.state !== 'waiting-approval' && !(concurring && live === true)) {
    if (step.approval !== undefined) {
      throw new UsageError(
        `step ${stepId} was already ${step.approval.decision} by ${step.approval.by}; the first decision stands (it is ${step.state})`,
        { hint: `see drctl status ${view.runId}` },
      );
    }
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
  const req = submitApproval(loc.dir, {
    step: stepId,
    decision,
    by,
    ...(opts.comment ? { comment: opts.comment } : {}),
  });
  // The executor owns the journal; wait until it has answered this request (and only this one:
  // another terminal may have decided the same step a moment earlier). A live executor answers
  // within its poll interval; a busy host can take longer, so wait while it lives (bounded).
  const deadline = Date.now() + ANSWER_WAIT_MS;
  while (Date.now() < deadline) {
    const ev = readJournal(loc.journalPath).events.find(
      (e, i) =>
        i >= view.events && (e.type === 'approval' || e.type === 'approval-refused') && e.request === req.id,
    );
    if (ev?.type === 'approval') {
      if (ev.count !== undefined && ev.needed !== undefined && ev.count < ev.needed) {
        printLine(
          `${stepId} approved by ${ev.by}: recorded in run ${view.runId} (event ${ev.seq}) as approval ${ev.count} of ${ev.needed}; the step waits for ${ev.needed - ev.count} more from other people`,
        );
        return;
      }
      printLine(
        ev.concurring
          ? `${stepId} approved by ${ev.by}: recorded in run ${view.runId} (event ${ev.seq}) as a concurring approval; the step had already been approved`
          : `${stepId} ${ev.decision} by ${ev.by}: recorded in run ${view.runId} (event ${ev.seq})`,
      );
      return;
    }
    if (ev?.type === 'approval-refused') {
      throw new UsageError(
        `your ${decision === 'approved' ? 'approval' : 'rejection'} of ${stepId} was not taken: ${ev.reason}`,
        { hint: `it is journaled as refused (event ${ev.seq}); see drctl status ${view.runId}` },
      );
    }
    if (live === true && !processLiveness(view.who)) {
      throw new UsageError(
        `${stepId}: your decision (request ${req.id}) was submitted, but the drctl process running the run (pid ${view.who.pid}) ended before answering it`,
        { hint: `it decides nothing now; see drctl status ${view.runId} and resume the run to decide again` },
      );
    }
    await sleep(100);
  }
  throw new UsageError(
    `${stepId}: your decision (request ${req.id}) was submitted but the executor has not answered it in ${ANSWER_WAIT_MS / 1000} s`,
    {
      hint: `it is not recorded yet; check drctl status ${view.runId} (a running drctl answers every request in its journal)`,
    },
  );
}
