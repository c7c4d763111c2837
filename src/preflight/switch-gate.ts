import type { Users } from '../engine/users.js';
import { userInfo } from 'node:os';
import { DrctlError, ExitCode, UsageError } from '../errors.js';
import type { PreflightRecord } from '../journal/events.js';
import { loadRunbook, type LoadedRunbook } from '../runbook/load.js';
import type { Direction } from '../runbook/schema.js';
import { runPreflight } from './preflight.js';
import { renderConsole } from './render.js';

export interface SwitchPreflightInput {
  file: string;
  runbook: LoadedRunbook;
  selected: ReadonlySet<string> | undefined;
  vars: Record<string, string>;
  dryRun: boolean;
  /** `--skip-preflight`. */
  skip: boolean;
  /** `--reason`: required with --skip-preflight, journaled. */
  reason: string | undefined;
  print: (line: string) => void;
  warn: (line: string) => void;
  /** The users file's users: with the runbook's members, who may approve the manual steps. */
  users?: Users | undefined;
}

const MAX_PROBLEMS = 50;

/**
 * The preflight `drctl switch` runs before it asks for confirmation, on the resources and steps
 * it will run. A fail refuses the start (exit 1, nothing started) unless the operator skips it
 * with a reason; a dry run shows the result and goes on. Returns what the journal records.
 */
export async function preflightBeforeSwitch(input: SwitchPreflightInput): Promise<PreflightRecord> {
  const { runbook } = input;
  if (input.skip) {
    const reason = input.reason?.trim() ?? '';
    if (reason === '')
      throw new UsageError('--skip-preflight needs --reason "…": why the switch may start unchecked', {
        hint: 'e.g. --skip-preflight --reason "INC-4711: Main is down, DR must open now" (it is journaled)',
      });
    const by = userInfo().username;
    input.warn(`preflight skipped by ${by}: ${reason} (journaled)`);
    return { status: 'skipped', skipped: { reason, by } };
  }
  if (input.reason !== undefined)
    throw new UsageError('--reason goes with --skip-preflight', {
      hint: 'drop --reason, or add --skip-preflight',
    });
  const report = await runPreflight({
    directions: [runbook.direction],
    load: (d: Direction) =>
      d === runbook.direction
        ? runbook
        : loadRunbook(input.file, {
            direction: d,
            drill: runbook.drill,
            vars: input.vars,
            lenientSecrets: true,
          }),
    selected: (rb) => (rb === runbook ? input.selected : undefined),
    users: input.users,
  });
  for (const l of renderConsole(report, { quietOk: true })) input.print(l);
  const problems = report.lines
    .filter((l) => l.status !== 'ok')
    .slice(0, MAX_PROBLEMS)
    .map((l) => ({
      status: l.status as 'warning' | 'fail',
      group: l.group,
      item: l.item,
      message: l.message,
    }));
  const record: PreflightRecord = {
    status: report.counts.fail > 0 ? 'failed' : report.counts.warning > 0 ? 'warnings' : 'ready',
    counts: report.counts,
    durationMs: report.durationMs,
    ...(problems.length > 0 ? { problems } : {}),
  };
  if (report.counts.fail > 0 && !input.dryRun) {
    throw new DrctlError(
      `preflight found ${report.counts.fail} fail${report.counts.fail === 1 ? '' : 's'}; the ${runbook.direction} was not started`,
      {
        exitCode: ExitCode.failed,
        hint: 'fix what the lines above say and run again (drctl preflight shows the same), or start anyway with --skip-preflight --reason "…" (journaled)',
      },
    );
  }
  return record;
}
