import { describe, expect, it } from 'vitest';
import { approvalPolicy, authorizeApprover } from '../../src/engine/approvers.js';
import type { Users } from '../../src/engine/users.js';
import { roleLines } from '../../src/preflight/steps.js';
import type { Runbook, Step } from '../../src/runbook/schema.js';
import { makeRunbook, makeStep } from '../fixtures/engine-runbook.js';

/**
 * Preflight says a manual step can be approved exactly when the executor would take enough
 * approvals for it: the same roles, members, users file and minApprovals (fail closed).
 */
const manual = (id: string, approvers: string[], minApprovals?: number): Step =>
  makeStep(id, {
    kind: 'manual',
    instructions: 'sign',
    approvers,
    ...(minApprovals === undefined ? {} : { minApprovals }),
  });
const users = (entries: [string, string[]][]): Users =>
  new Map(entries.map(([name, roles]) => [name, { name, roles } as never]));

function statusOf(rb: Runbook, u: Users): string[] {
  return roleLines(rb, rb.steps, 'switchover', u).map((l) => `${l.item} ${l.status}`);
}

/** How many distinct people the executor would accept for the step (by its own rule). */
function acceptable(rb: Runbook, step: Step, u: Users, candidates: string[]): number {
  const policy = approvalPolicy(rb, step, step.action);
  return candidates.filter((c) => authorizeApprover(c, policy, rb, u).ok).length;
}

describe('preflight: who may approve', () => {
  it('a role nobody is in fails; runbook members or the users file make it ok', () => {
    const rb = makeRunbook([manual('qa', ['QA'])], { roles: { SRE: {}, QA: {} } });
    expect(statusOf(rb, new Map())).toEqual(['role SRE or QA fail']);
    expect(statusOf(rb, users([['ann', ['QA']]]))).toEqual(['role SRE or QA ok']);
    const withMembers = makeRunbook([manual('qa', ['QA'])], { roles: { SRE: {}, QA: { members: ['bob'] } } });
    expect(statusOf(withMembers, new Map())).toEqual(['role SRE or QA ok']);
  });

  it('minApprovals: 2 with one person is a fail, with two an ok', () => {
    const rb = makeRunbook([manual('four-eyes', ['QA'], 2)], {
      roles: { SRE: {}, QA: { members: ['bob'] } },
    });
    const one = roleLines(rb, rb.steps, 'switchover', new Map());
    expect(one.map((l) => l.status)).toEqual(['fail']);
    expect(one[0]!.message).toMatch(/needs 2 distinct approvers from SRE or QA; only 1 may approve/);
    expect(statusOf(rb, users([['ann', ['SRE']]]))).toEqual(['role SRE or QA ok']);
  });

  it('agrees with the executor on every small case', () => {
    const people = ['ann', 'bob', 'cy'];
    const roleSets: string[][] = [[], ['QA'], ['DBA'], ['QA', 'DBA']];
    let cases = 0;
    for (const need of [1, 2, 3])
      for (const approvers of roleSets)
        for (let mask = 0; mask < 8; mask++)
          for (let umask = 0; umask < 8; umask++) {
            const members = people.filter((_, i) => (mask >> i) & 1);
            const u = users(people.filter((_, i) => (umask >> i) & 1).map((p) => [p, ['DBA']]));
            const step = manual('m', approvers, need);
            const rb = makeRunbook([step], { roles: { SRE: {}, QA: { members }, DBA: {} } });
            const ok = acceptable(rb, step, u, people) >= need;
            expect(
              roleLines(rb, rb.steps, 'switchover', u)[0]!.status,
              JSON.stringify({ need, approvers, members, umask }),
            ).toBe(ok ? 'ok' : 'fail');
            cases++;
          }
    expect(cases).toBe(768);
  });
});
