import { UsageError } from '../errors.js';
import type { Action, Runbook, Step } from '../runbook/schema.js';
import { COMPLETED_STATES, danglingSteps, partiallyCommittedSteps, type RunView } from './state.js';

/** What the operator decided for steps whose effect is unknown. */
export interface ResumeDecisions {
  retryUnknown: boolean;
  /** step id → reason, from `--mark-done <id> --reason …`. */
  markDone: Map<string, string>;
  by: string;
}

export interface ResumePlan {
  view: RunView;
  /** Steps that were running when drctl stopped, and what happens to each. */
  dangling: { id: string; decision: 'mark-done' | 'retry'; reason: string; automatic: boolean }[];
  /** Steps marked done that were not dangling (failed, cancelled or never run). */
  markDone: { id: string; reason: string }[];
  /** Failed or cancelled steps that run again (the operator asked for the resume). */
  rerun: string[];
}

/** A step that only reads or waits: repeating it changes nothing in the world. */
export function isRepeatable(action: Action): boolean {
  return (
    action.kind === 'manual' ||
    action.kind === 'check' ||
    (action.kind === 'wait' && action.until.kind !== 'run')
  );
}

/**
 * Checks that a run can be resumed with this runbook and these decisions, before anything is
 * written. A step that was running when drctl died is never re-run silently: it needs
 * `--retry-unknown` or `--mark-done`, unless it only reads (manual, check, read-only wait).
 */
export function prepareResume(view: RunView, runbook: Runbook, decisions: ResumeDecisions): ResumePlan {
  if (view.dryRun) {
    throw new UsageError(`run ${view.runId} was a dry run; there is nothing to resume`, {
      hint: 'start a new run with drctl switch',
    });
  }
  if (view.finished?.status === 'succeeded') {
    throw new UsageError(
      `run ${view.runId} already finished successfully at ${view.finished.at}; there is nothing to resume`,
      {
        hint: 'see it with `drctl status ' + view.runId + '`; start a new run with drctl switch',
      },
    );
  }
  if (view.rolledBack) {
    throw new UsageError(`run ${view.runId} was rolled back; it cannot be resumed`, {
      hint: 'start a new run with drctl switch',
    });
  }
  if (runbook.sha256 !== view.runbook.sha256) {
    throw new UsageError(`the runbook ${view.runbook.file} changed since run ${view.runId} started`, {
      hint: "resume with the runbook files as they were (see the run directory's runbook.json), or start a new run",
    });
  }
  const byId = new Map<string, Step>(runbook.steps.map((s) => [s.id, s]));
  const journalIds = view.steps.filter((s) => s.rollbackOf === undefined).map((s) => s.id);
  const missing = journalIds.filter((id) => !byId.has(id));
  if (missing.length > 0 || journalIds.length !== runbook.steps.length) {
    throw new UsageError(
      `the runbook's steps differ from those of run ${view.runId} (${missing.slice(0, 3).join(', ') || 'different count'})`,
      {
        hint: 'resume with the same --direction, --drill and --var values as the original run',
      },
    );
  }
  for (const id of decisions.markDone.keys()) {
    const s = view.byId.get(id);
    if (s === undefined || s.rollbackOf !== undefined) {
      throw new UsageError(`--mark-done ${id}: no such step in run ${view.runId}`, {
        hint: `steps: ${journalIds.slice(0, 5).join(', ')}…`,
      });
    }
    if (COMPLETED_STATES.has(s.state)) {
      throw new UsageError(`--mark-done ${id}: the step is already ${s.state}`, {
        hint: 'only steps that did not complete can be marked done',
      });
    }
    if (!decisions.markDone.get(id)?.trim()) {
      throw new UsageError(`--mark-done ${id} needs --reason "…"`, {
        hint: 'say why, e.g. --reason "verified by hand: replica promoted"',
      });
    }
  }
  const dangling: ResumePlan['dangling'] = [];
  const undecided: string[] = [];
  for (const s of danglingSteps(view)) {
    const step = byId.get(s.id)!;
    const reason = decisions.markDone.get(s.id);
    if (reason !== undefined) dangling.push({ id: s.id, decision: 'mark-done', reason, automatic: false });
    else if (isRepeatable(step.action))
      dangling.push({
        id: s.id,
        decision: 'retry',
        reason: `${step.action.kind} step only reads; safe to repeat`,
        automatic: true,
      });
    else if (decisions.retryUnknown)
      dangling.push({ id: s.id, decision: 'retry', reason: '--retry-unknown', automatic: false });
    else undecided.push(s.id);
  }
  if (undecided.length > 0) {
    throw new UsageError(
      `step${undecided.length > 1 ? 's' : ''} ${undecided.join(', ')} ${undecided.length > 1 ? 'were' : 'was'} running when drctl stopped: ${undecided.length > 1 ? 'their' : 'its'} effect is unknown`,
      {
        hint: `check by hand, then resume with --mark-done ${undecided[0]} --reason "…" (it happened) or --retry-unknown (run it again)`,
      },
    );
  }
  // A failed step that committed part of its work (a sql statement outside a transaction, a
  // COMMIT that completed late) is like an unknown one: re-running it repeats that work.
  const partial: string[] = [];
  for (const s of partiallyCommittedSteps(view)) {
    const reason = decisions.markDone.get(s.id);
    if (reason !== undefined) dangling.push({ id: s.id, decision: 'mark-done', reason, automatic: false });
    else if (decisions.retryUnknown)
      dangling.push({
        id: s.id,
        decision: 'retry',
        reason: `--retry-unknown: re-run although it committed ${s.committed!.join('; ')}`,
        automatic: false,
      });
    else partial.push(`${s.id} (${s.committed!.join('; ')})`);
  }
  if (partial.length > 0) {
    throw new UsageError(
      `step${partial.length > 1 ? 's' : ''} ${partial.join(', ')} failed after part of ${partial.length > 1 ? 'their' : 'its'} work committed: running ${partial.length > 1 ? 'them' : 'it'} again would repeat that work`,
      {
        hint: `check by hand, then resume with --mark-done <id> --reason "…" (finish it by hand) or --retry-unknown (run every statement again)`,
      },
    );
  }
  const danglingIds = new Set(dangling.map((d) => d.id));
  const markDone = [...decisions.markDone]
    .filter(([id]) => !danglingIds.has(id))
    .map(([id, reason]) => ({ id, reason }));
  const rerun = view.steps
    .filter((s) => (s.state === 'failed' || s.state === 'cancelled') && !decisions.markDone.has(s.id))
    .map((s) => s.id);
  return { view, dangling, markDone, rerun };
}
