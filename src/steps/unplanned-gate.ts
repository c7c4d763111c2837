import type { CheckResult } from '../../checkers/types.js';
import { describeChange } from '../reconcile/render.js';
import { waitForReplicaApplied } from '../reconcile/replica-gate.js';
import { formatAmounts, rpoEvidence, runReconcile, type ReconcileReport } from '../reconcile/run.js';
import { resolveSpec } from '../reconcile/spec.js';
import type { Action } from '../runbook/schema.js';
import { redact } from '../util/redact.js';
import type { StepContext, StepOutcome } from './types.js';

type CheckAction = Extract<Action, { kind: 'check' }>;

/**
 * A MySQL check gate in an unplanned switch: Main may be gone, so RPO = 0 cannot be proved.
 * 1. replica-only gate: the DR replica applied everything it received, SQL thread idle;
 * 2. the remote log reconciled against the ledger, accounts in transit blacklisted (every
 *    change journaled as a step effect);
 * 3. the evidence "RPO not proven: …" kept as the gate result, and an approval by the
 *    data-risk role, the totals in the prompt, before the switch goes on.
 */
export async function runUnplannedGate(
  { check }: CheckAction,
  gate: { remoteLogs: string[]; approver: string },
  ctx: StepContext,
): Promise<StepOutcome> {
  const started = new Date();
  const res = ctx.resources[check.resource];
  if (res?.kind !== 'mysql')
    return { ok: false, retryable: false, error: `resource "${check.resource}" is not a mysql resource` };
  let replica;
  try {
    replica = await waitForReplicaApplied(res.replica, { signal: ctx.signal, log: (line) => ctx.log(line) });
  } catch (err) {
    return { ok: false, error: redact(`replica-only gate could not run: ${(err as Error).message}`) };
  }
  const reports: { name: string; report: ReconcileReport }[] = [];
  if (replica.ok) {
    for (const name of gate.remoteLogs) {
      const r = ctx.resources[name];
      if (r?.kind !== 'remote-log') continue;
      const { kind: _k, description: _d, concurrency: _c, owner: _o, ...fields } = r;
      try {
        const spec = resolveSpec(fields, (f) => `resources.${name}.${f}`);
        const report = await runReconcile(spec, {
          signal: ctx.signal,
          progress: (n) => ctx.log(`reconcile ${name}: ${n} entries`),
        });
        reports.push({ name, report });
        for (const b of report.blacklists)
          for (const c of b.changes)
            ctx.recordEffect({
              target: `blacklist ${b.target}`,
              outcome: 'committed',
              detail: redact(describeChange(b.target, c, false)),
            });
      } catch (err) {
        return {
          ok: false,
          error: redact(
            `reconcile of ${name} could not run (nothing blacklisted): ${(err as Error).message}`,
          ),
        };
      }
    }
  }
  const evidence = reports.length
    ? reports.map((r) => rpoEvidence(r.report)).join('; ')
    : 'RPO not proven: no remote log to reconcile';
  const finished = new Date();
  const result: CheckResult = {
    checker: 'mysql (unplanned)',
    ok: false,
    status: replica.ok ? 'unverified' : 'different',
    summary: replica.ok ? `${evidence} (${replica.summary})` : replica.summary,
    counts: {
      notApplied: replica.notApplied.length,
      transactionsInTransit: reports.reduce((n, r) => n + r.report.totals.transactions, 0),
      accountsInTransit: reports.reduce((n, r) => n + r.report.totals.accounts, 0),
    },
    findings: [],
    findingsOmitted: 0,
    evidence: {
      unplanned: true,
      replica,
      reconcile: reports.map((r) => ({
        resource: r.name,
        status: r.report.status,
        window: r.report.window,
        totals: r.report.totals,
        accounts: r.report.accounts
          .slice(0, 100)
          .map((a) => ({ account: a.account, transactions: a.transactions, amounts: a.amounts })),
        blacklists: r.report.blacklists.map((b) => ({
          target: b.target,
          size: b.size,
          changes: b.changes.length,
        })),
      })),
      rpo: evidence,
    },
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
  };
  ctx.recordGate(result);
  if (!replica.ok)
    return { ok: false, retryable: false, error: redact(`replica-only gate: ${replica.summary}`) };
  const accounts = reports
    .flatMap((r) => r.report.accounts)
    .slice(0, 20)
    .map((a) => `${a.account} ${formatAmounts(a.amounts)}`);
  const decision = await ctx.requestApproval(
    redact(
      `${evidence}. ${accounts.length ? `Accounts in transit: ${accounts.join('; ')}. ` : ''}Approve as ${gate.approver} to promote DR and accept this data risk.`,
    ),
    gate.approver,
  );
  if (decision.decision !== 'approved')
    return {
      ok: false,
      retryable: false,
      error: `data risk not accepted by ${decision.by} (${gate.approver})`,
    };
  return { ok: true };
}
