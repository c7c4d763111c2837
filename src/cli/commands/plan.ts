import type { Command } from 'commander';
import chalk from 'chalk';
import { formatDiagnostic } from '../../errors.js';
import { buildPlan } from '../../plan/plan.js';
import type { Plan } from '../../plan/types.js';
import { loadRunbook, type LoadedRunbook } from '../../runbook/load.js';
import type { Direction } from '../../runbook/schema.js';
import { formatDuration } from '../../util/duration.js';
import { readRunHistory, type RunHistory } from '../../journal/history.js';
import { collectVar, parseDirection, requireFile } from '../options.js';
import { printError, printJson, printLine } from '../output.js';

interface PlanOptions {
  direction?: Direction;
  drill?: boolean;
  var?: Record<string, string>;
  json?: boolean;
  history?: string;
}

/** `drctl plan <runbook>`: the DAG in execution order, critical path and RTO forecast. */
export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('show the execution plan: waves, roles, critical path, RTO forecast against the objectives')
    .argument('<runbook>', 'runbook file')
    .option(
      '--direction <direction>',
      "switchover or switchback (default: the runbook's direction:, else switchover)",
      parseDirection,
    )
    .option('--drill', 'plan the rehearsal variant')
    .option('--var <name=value>', 'set a var (repeatable)', collectVar)
    .option(
      '--history <run>',
      'forecast from the actual durations of a previous run (run dir or journal.jsonl)',
    )
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      '\nExamples:\n  drctl plan runbooks/id-bank/switchover.yaml\n  drctl plan runbooks/id-bank/switchback.yaml --direction switchback --history .drctl/runs/<id>\n',
    )
    .action((file: string, opts: PlanOptions) => {
      requireFile(file);
      const rb = loadRunbook(file, {
        ...(opts.direction ? { direction: opts.direction } : {}),
        ...(opts.drill ? { drill: true } : {}),
        vars: opts.var ?? {},
        lenientSecrets: true,
      });
      const history = opts.history ? readRunHistory(opts.history) : undefined;
      const plan = buildPlan(rb, { history: history?.durations });
      if (history) plan.warnings.unshift(...history.warnings);
      if (opts.json) printJson({ ...(planToJson(rb, plan) as object), history: historyJson(history, plan) });
      else printPlan(rb, plan, history);
    });
}

export function planToJson(rb: LoadedRunbook, plan: Plan): unknown {
  return {
    runbook: rb.name,
    file: rb.file,
    direction: plan.direction,
    drill: plan.drill,
    objectives: rb.objectives,
    rto: plan.rto,
    makespanMs: plan.makespanMs,
    criticalPath: plan.criticalPath,
    waves: plan.waves,
    phases: plan.phases,
    roles: plan.roles,
    steps: plan.steps.map((p) => ({
      id: p.step.id,
      title: p.step.title,
      owner: p.step.owner,
      phase: p.step.phase,
      module: p.step.module,
      kind: p.step.action.kind,
      needs: p.step.needs,
      wave: p.wave,
      estimateMs: p.step.estimateMs,
      forecastStartMs: p.forecastStartMs,
      forecastEndMs: p.forecastEndMs,
      critical: p.onCriticalPath,
    })),
    excluded: rb.excluded,
    warnings: [...plan.warnings, ...rb.warnings.map(formatDiagnostic)],
  };
}

/** Which run the forecast's durations came from, and for how many steps. */
function historyJson(h: RunHistory | undefined, plan: Plan): unknown {
  if (h === undefined) return undefined;
  const used = plan.steps.filter((p) => h.durations.has(p.step.id)).length;
  return {
    runId: h.runId,
    runbook: h.runbook,
    status: h.status,
    startedAt: h.startedAt,
    drill: h.drill,
    stepsFromHistory: used,
    stepsFromEstimates: plan.steps.length - used,
  };
}

function historyLine(h: RunHistory, plan: Plan): string {
  const used = plan.steps.filter((p) => h.durations.has(p.step.id)).length;
  return `Durations from run ${h.runId} (${h.runbook}, ${h.status}${h.drill ? ', drill' : ''}, started ${h.startedAt}) for ${used} of ${plan.steps.length} steps; the rest from estimates`;
}

function clockLine(name: string, c: Plan['rto']['technical']): string {
  if (!c) return `${name} RTO: no clock (add rto.${name.toLowerCase()}: { from, to })`;
  const obj = c.objectiveMs === undefined ? 'no objective' : `objective ${formatDuration(c.objectiveMs)}`;
  const verdict = c.met === undefined ? '' : c.met ? chalk.green(' ✓ within') : chalk.red(' ✗ over');
  return `${name} RTO forecast ${formatDuration(c.forecastMs)} (${c.from} → ${c.to}), ${obj}${verdict}`;
}

function printPlan(rb: LoadedRunbook, plan: Plan, history: RunHistory | undefined): void {
  for (const w of rb.warnings) printError(formatDiagnostic(w), 'warning');
  printLine(
    chalk.bold(`Plan ${rb.name}`) +
      ` · ${plan.direction}${plan.drill ? ' (drill)' : ''} · ${plan.steps.length} steps in ${plan.waves.length} waves · ${rb.modules.length} module${rb.modules.length === 1 ? '' : 's'} · forecast ${formatDuration(plan.makespanMs)}`,
  );
  if (history) printLine(historyLine(history, plan));
  printLine(clockLine('Technical', plan.rto.technical));
  printLine(clockLine('Compliance', plan.rto.compliance));
  const idWidth = Math.min(48, Math.max(...plan.steps.map((p) => p.step.id.length), 4));
  plan.waves.forEach((ids, i) => {
    printLine();
    printLine(chalk.bold(`Wave ${i}`) + ` (${ids.length} step${ids.length === 1 ? '' : 's'})`);
    for (const id of ids) {
      const p = plan.byId.get(id)!;
      const est = p.step.estimateMs === undefined ? '   -  ' : formatDuration(p.step.estimateMs).padStart(6);
      const mark = p.onCriticalPath ? chalk.red('*') : ' ';
      printLine(
        ` ${mark} ${id.padEnd(idWidth)} ${p.step.owner.padEnd(8)} ${p.step.action.kind.padEnd(6)} est ${est}  ${formatDuration(p.forecastStartMs)} → ${formatDuration(p.forecastEndMs)}`,
      );
    }
  });
  printLine();
  printLine(
    chalk.bold(`Critical path (${formatDuration(plan.criticalPath.durationMs)}, marked *):`) +
      ` ${plan.criticalPath.steps.join(' → ')}`,
  );
  printLine();
  printLine(chalk.bold('Roles'));
  for (const r of plan.roles) {
    const conc = r.concurrency === undefined ? 'unlimited' : String(r.concurrency);
    printLine(
      `  ${r.role.padEnd(10)} ${String(r.steps).padStart(4)} steps  work ${formatDuration(r.estimateMs).padStart(7)}  widest ${r.maxParallel} at once (concurrency ${conc})`,
    );
  }
  printLine(chalk.bold('Phases'));
  for (const ph of plan.phases)
    printLine(
      `  ${ph.name.padEnd(24)} ${String(ph.steps.length).padStart(4)} steps  work ${formatDuration(ph.estimateMs)}`,
    );
  if (rb.excluded.length) printLine(`Left out by when: ${rb.excluded.map((e) => e.id).join(', ')}`);
  for (const w of plan.warnings) printError(w, 'warning');
}
