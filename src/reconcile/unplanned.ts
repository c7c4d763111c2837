import { UsageError } from '../errors.js';
import type { LoadedRunbook } from '../runbook/load.js';

/**
 * `drctl switch --unplanned`: the runbook as it runs when Main may be gone. Pure.
 * - a step with `unplanned: skip` is skipped (journaled as such), `{ replace: … }` runs the
 *   replacement action, `run` (the default) runs as written;
 * - a MySQL check gate, which needs Main, becomes a replica-only gate followed by the reconcile of
 *   the runbook's remote-log resources and an approval by the data-risk role
 *   (src/steps/unplanned-gate.ts).
 */
export function applyUnplanned(runbook: LoadedRunbook): LoadedRunbook {
  const remoteLogs = Object.entries(runbook.resources)
    .filter(([, r]) => r.kind === 'remote-log')
    .map(([name]) => name);
  const gates = runbook.steps.filter(
    (s) =>
      s.action.kind === 'check' &&
      s.action.check.kind === 'mysql' &&
      s.unplanned?.mode !== 'skip' &&
      s.unplanned?.mode !== 'action',
  );
  const approver = runbook.dataRiskRole;
  if (gates.length > 0 && approver === undefined) {
    throw new UsageError(
      `an unplanned switch turns the MySQL gates (${gates.map((s) => s.id).join(', ')}) into replica-only gates that need an approval for the data at risk, and the runbook names no dataRiskRole`,
      { hint: 'add `dataRiskRole: <role>` (a declared role, e.g. the head of operations) to the runbook' },
    );
  }
  if (approver !== undefined && !(approver in runbook.roles)) {
    throw new UsageError(`dataRiskRole "${approver}" is not a declared role`, {
      hint: `declare it under roles:, or use one of: ${Object.keys(runbook.roles).join(', ')}`,
    });
  }
  const steps = runbook.steps.map((s) => {
    if (s.unplanned?.mode === 'action') {
      return {
        ...s,
        action: s.unplanned.action,
        timeoutMs: s.unplanned.timeoutMs ?? s.timeoutMs,
        title: `${s.title} [unplanned: replaced]`,
      };
    }
    if (gates.includes(s)) {
      return {
        ...s,
        title: `${s.title} [unplanned: replica-only gate${remoteLogs.length ? ' + reconcile' : ''}]`,
        unplannedGate: { remoteLogs, approver: approver! },
      };
    }
    return s;
  });
  return { ...runbook, unplanned: true, steps };
}
