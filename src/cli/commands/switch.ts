import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { acquireRunLock } from '../../engine/run-lock.js';
import { createRun } from '../../engine/run-dir.js';
import { selectSteps } from '../../engine/select.js';
import { runSession } from '../../engine/session.js';
import { readUsers, resolveUsersFile } from '../../engine/users.js';
import { ConfigError, DrctlError, ExitCode, UsageError, formatDiagnostic } from '../../errors.js';
import { makeRunId, resolveRunsDir } from '../../journal/runs.js';
import { buildPlan } from '../../plan/plan.js';
import type { Plan } from '../../plan/types.js';
import { preflightBeforeSwitch } from '../../preflight/switch-gate.js';
import { loadRunbook, type LoadedRunbook } from '../../runbook/load.js';
import type { Direction } from '../../runbook/schema.js';
import { applyUnplanned } from '../../reconcile/unplanned.js';
import { formatDuration } from '../../util/duration.js';
import { redact } from '../../util/redact.js';
import { nodeSupportNotice } from '../node-support.js';
import { collectVar, parseDirection, requireFile } from '../options.js';
import { printError, printLine } from '../output.js';

interface SwitchOptions {
  direction?: Direction;
  drill?: boolean;
  unplanned?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  only?: string;
  from?: string;
  concurrency?: number;
  var?: Record<string, string>;
  runsDir?: string;
  skipPreflight?: boolean;
  reason?: string;
  users?: string;
}

export function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) {
    throw new UsageError(`--concurrency must be a whole number of at least 1, got ${JSON.stringify(value)}`, {
      hint: 'e.g. --concurrency 8',
    });
  }
  return n;
}

/** `drctl switch <runbook>`: run the switchover (or switchback) as a DAG, journaled. */
export function registerSwitch(program: Command): void {
  program
    .command('switch')
    .description(
      'run a runbook: DAG execution with a journal, approvals, retries and rollback (exit 0 ok, 1 a step failed, 2 bad input, 130 interrupted)',
    )
    .argument('<runbook>', 'runbook file')
    .option(
      '--direction <direction>',
      "switchover or switchback (default: the runbook's direction:, else switchover)",
      parseDirection,
    )
    .option('--drill', "rehearsal: run each step's drill variant (skip, same or another action)")
    .option(
      '--unplanned',
      "Main may be gone: steps run their unplanned: variant, MySQL gates become replica-only gates + reconcile + the data-risk role's approval (docs/reconcile.md)",
    )
    .option('--dry-run', 'change nothing: show what each step would do')
    .option('--yes', 'start without typing the runbook name to confirm')
    .option('--only <ids>', 'run only these steps (comma-separated ids or globs such as switch-*)')
    .option('--from <id>', 'run this step and everything that depends on it')
    .option(
      '--concurrency <n>',
      "steps running at once in the whole run (default: the runbook's, else unlimited)",
      parseConcurrency,
    )
    .option('--var <name=value>', 'set a var (repeatable)', collectVar)
    .option('--runs-dir <dir>', 'where runs are recorded (default $DRCTL_HOME/runs or .drctl/runs)')
    .option('--skip-preflight', 'start without the preflight (needs --reason; journaled)')
    .option('--reason <text>', 'why the preflight is skipped (with --skip-preflight)')
    .option(
      '--users <file>',
      'users file whose roles may approve manual steps, with the runbook members (default $DRCTL_USERS or $DRCTL_HOME/users.yaml)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  drctl switch runbooks/id-bank/switchover.yaml\n  drctl switch runbooks/id-bank/switchover.yaml --drill --yes\n  drctl switch runbooks/id-bank/switchback.yaml --direction switchback --dry-run\n  drctl switch rb.yaml --only "switch-*" --var wave=2\n\nFollow it from another terminal: drctl status latest --follow\nApprove a manual step:          drctl approve latest <step> --as <name>\n',
    )
    .action(async (file: string, opts: SwitchOptions) => {
      requireFile(file);
      const notice = process.stderr.isTTY ? nodeSupportNotice() : undefined;
      if (notice) printError(notice, 'warning');
      const vars = opts.var ?? {};
      const dryRun = opts.dryRun ?? false;
      // A preview needs no production secrets: a missing one becomes a visible placeholder.
      const loaded = loadRunbook(file, {
        ...(opts.direction ? { direction: opts.direction } : {}),
        ...(opts.drill ? { drill: true } : {}),
        vars,
        lenientSecrets: dryRun,
      });
      const runbook = opts.unplanned ? applyUnplanned(loaded) : loaded;
      printLoadWarnings(runbook);
      if (runbook.placeholders.length > 0 && !dryRun) {
        // Only a literal placeholder in the file gets here (a strict load refuses a missing secret).
        throw new ConfigError(`runbook holds placeholders for secrets: ${runbook.placeholders.join(', ')}`, {
          hint: 'replace them with ${env:NAME} or ${file:path}; --dry-run previews without the secrets',
        });
      }
      const selected = selectSteps(runbook.steps, opts.only, opts.from);
      const plan = buildPlan(runbook, { concurrency: opts.concurrency, selected });
      printPlanSummary(runbook, plan, selected, dryRun);
      const usersFile = resolveUsersFile(opts.users);
      // A broken users file stops the run before it starts, not at its first approval.
      const users = readUsers(usersFile);
      // Live, read-only probes of what the selected steps use: a fail refuses the start.
      const preflight = await preflightBeforeSwitch({
        users,
        file,
        runbook,
        selected,
        vars,
        dryRun,
        skip: opts.skipPreflight ?? false,
        reason: opts.reason,
        print: printLine,
        warn: (w) => printError(w, 'warning'),
      });
      if (!dryRun && !opts.yes)
        await confirmByName(runbook.name, `start the ${runbook.direction}${runbook.drill ? ' drill' : ''}`);
      const runsDir = resolveRunsDir(opts.runsDir);
      const runId = makeRunId();
      // A dry run changes nothing, so it may preview while a real switch holds the lock.
      const lock = dryRun ? undefined : await acquireRunLock(runbook, runId, runsDir);
      for (const note of lock?.notes ?? []) printError(note, 'warning');
      try {
        const loc = createRun(runsDir, runId, runbook, {
          file: resolve(file),
          direction: runbook.direction,
          drill: runbook.drill,
          ...(opts.unplanned ? { unplanned: true } : {}),
          dryRun,
          environment: runbook.environment,
          vars,
          only: opts.only,
          from: opts.from,
          concurrency: opts.concurrency,
          usersFile,
        });
        printLine(`run ${loc.id}: journal ${loc.journalPath}`);
        const result = await runSession({
          runbook,
          runId,
          runDir: loc.dir,
          journalPath: loc.journalPath,
          dryRun,
          plan,
          lock,
          preflight,
          usersFile,
          tty: process.stdout.isTTY === true,
        });
        printOutcome(loc.id, result.status, result.durationMs, result.error);
        process.exitCode = result.exitCode;
      } catch (err) {
        await lock?.release();
        throw err;
      }
    });
}

/**
 * The loader's warnings; a dry run's missing secrets are said once, in one line listing them all
 * (each secret's own warning would repeat it per name; `drctl validate` shows where each is used).
 */
function printLoadWarnings(runbook: LoadedRunbook): void {
  const missing = runbook.placeholders.map((p) =>
    p.startsWith('env:') ? `environment variable ${p.slice(4)} ` : `\${${p}}`,
  );
  for (const w of runbook.warnings) {
    if (missing.some((m) => w.message.includes(m))) continue;
    printError(redact(formatDiagnostic(w)), 'warning');
  }
  if (runbook.placeholders.length === 0) return;
  const n = runbook.placeholders.length;
  printError(
    `dry run with placeholders for ${n} missing secret${n === 1 ? '' : 's'}: ${runbook.placeholders.join(', ')} (shown as <unset:env:NAME> / <unreadable:file:PATH>; a real switch refuses to start without them)`,
    'warning',
  );
}

export function printPlanSummary(
  runbook: LoadedRunbook,
  plan: Plan,
  selected: ReadonlySet<string> | undefined,
  dryRun: boolean,
): void {
  const mode = [runbook.direction, runbook.drill ? 'drill' : undefined, dryRun ? 'dry run' : undefined]
    .filter(Boolean)
    .join(', ');
  printLine(`${runbook.name} (${mode}) environment ${runbook.environment}`);
  const count = selected
    ? `${selected.size} of ${runbook.steps.length} steps selected`
    : `${runbook.steps.length} steps`;
  printLine(
    `  ${count} in ${plan.waves.length} waves; roles: ${plan.roles.map((r) => `${r.role} ${r.steps}`).join(', ')}`,
  );
  printLine(
    `  critical path ${formatDuration(plan.criticalPath.durationMs)}: ${plan.criticalPath.steps.slice(0, 6).join(' → ')}${plan.criticalPath.steps.length > 6 ? ' → …' : ''}`,
  );
  printLine(`  forecast makespan ${formatDuration(plan.makespanMs)}`);
  for (const [name, c] of Object.entries(plan.rto)) {
    if (!c) continue;
    const obj =
      c.objectiveMs === undefined
        ? ''
        : ` (objective ${formatDuration(c.objectiveMs)}: ${c.met ? 'met' : 'AT RISK'})`;
    printLine(`  ${name} RTO forecast ${formatDuration(c.forecastMs)}${obj}`);
  }
  for (const w of plan.warnings) printError(w, 'warning');
}

/** The operator types the runbook name; with no TTY, `--yes` is required. */
export async function confirmByName(name: string, what: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UsageError(`confirmation needed to ${what}, and there is no terminal to ask`, {
      hint: 'pass --yes to start without typing the runbook name (or --dry-run to preview)',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const interrupted = new Promise<never>((_, reject) =>
    rl.once('SIGINT', () =>
      reject(
        new DrctlError('interrupted at the confirmation; nothing was started', {
          exitCode: ExitCode.interrupted,
        }),
      ),
    ),
  );
  try {
    const answer = await Promise.race([
      rl.question(`Type the runbook name (${name}) to ${what}: `),
      interrupted,
    ]);
    if (answer.trim() !== name) {
      throw new UsageError('confirmation did not match the runbook name; nothing was started', {
        hint: `type ${name} exactly, or pass --yes`,
      });
    }
  } finally {
    rl.close();
  }
}

export function printOutcome(
  runId: string,
  status: string,
  durationMs: number,
  error: string | undefined,
): void {
  printLine(redact(`run ${runId} ${status} in ${formatDuration(durationMs)}${error ? `: ${error}` : ''}`));
  if (status !== 'succeeded') printLine(`  details: drctl status ${runId}   continue: drctl resume ${runId}`);
}
