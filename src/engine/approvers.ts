import type { Action, Runbook, Step } from '../runbook/schema.js';
import type { Users } from './users.js';

/**
 * Who may decide a manual step: members of its owner role or of its `approvers:` roles, where a
 * role's members are the runbook's `roles.<r>.members` plus the users file's users with that role.
 * Nobody else, and nobody at all when no role has members: an approval by a name nobody declared
 * is refused, never taken on trust.
 */
export interface ApprovalPolicy {
  /** The roles whose members may decide (owner first). */
  roles: string[];
  /** Members declared in the runbook for those roles (the users file adds more at decision time). */
  members: string[];
  /** Distinct people who must approve (1 unless `minApprovals:`). */
  minApprovals: number;
}

/** The policy of `action` (the step's action, or its rollback or drill action) run as `step`. */
export function approvalPolicy(
  runbook: Pick<Runbook, 'roles'>,
  step: Pick<Step, 'owner'>,
  action: Action,
): ApprovalPolicy {
  const approvers = action.kind === 'manual' ? action.approvers : [];
  const roles = [...new Set([step.owner, ...approvers])];
  const members = [...new Set(roles.flatMap((r) => runbook.roles[r]?.members ?? []))];
  const minApprovals = action.kind === 'manual' ? (action.minApprovals ?? 1) : 1;
  return { roles, members, minApprovals };
}

export type Authorization = { ok: true; role: string } | { ok: false; reason: string };

/** Whether `by` may decide under `policy`, given the runbook's roles and the users file. */
export function authorizeApprover(
  by: string,
  policy: Pick<ApprovalPolicy, 'roles'>,
  runbook: Pick<Runbook, 'roles'>,
  users: Users,
): Authorization {
  for (const role of policy.roles) {
    if (runbook.roles[role]?.members?.includes(by) || users.get(by)?.roles.includes(role)) {
      return { ok: true, role };
    }
  }
  const anyone = policy.roles.some(
    (r) =>
      (runbook.roles[r]?.members?.length ?? 0) > 0 || [...users.values()].some((u) => u.roles.includes(r)),
  );
  return {
    ok: false,
    reason: anyone
      ? `${by} is not a member of ${policy.roles.join(' or ')}`
      : `${by} is not a member of ${policy.roles.join(' or ')}: no one is (declare members: under roles: in the runbook, or drctl users add <name> --roles ${policy.roles[0]})`,
  };
}
