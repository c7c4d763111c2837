import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { submitApproval } from '../../src/engine/approvals.js';
import { writeUsers, type Users } from '../../src/engine/users.js';
import type { JournalEvent } from '../../src/journal/events.js';
import type { Action } from '../../src/runbook/schema.js';
import { buildReportModel } from '../../src/report/index.js';
import { execRunbook } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep } from '../fixtures/engine-runbook.js';
import { makeTempDir } from '../harness/process.js';

/**
 * Approvals with roles and minApprovals, decided by the executor (the one place every decision
 * passes, whatever terminal or browser sent it): a name that is not a member of an allowed role
 * never decides a step, and a four-eyes step needs two different people.
 */

type Req = { by: string; decision: 'approved' | 'rejected' };

const manual = (minApprovals?: number, approvers: string[] = []): Action => ({
  kind: 'manual',
  instructions: 'Confirm',
  approvers,
  ...(minApprovals === undefined ? {} : { minApprovals }),
});

const ROLES = {
  SRE: { members: ['sam'] },
  QA: { members: ['alice', 'bob'] },
  DBA: {},
  LOCAL: {},
};

function usersFile(dir: string, entries: Record<string, string[]>): string {
  const path = join(dir, 'users.yaml');
  const users: Users = new Map(
    Object.entries(entries).map(([name, roles]) => [name, { roles, password: 'scrypt$1$1$1$AA==$AA==' }]),
  );
  writeUsers(path, users);
  return path;
}

/** Runs one step, submitting `reqs` to the inbox the moment it asks for approval. */
async function decideStep(
  action: Action,
  reqs: Req[],
  opts: { owner?: string; users?: Record<string, string[]> } = {},
): Promise<{ events: JournalEvent[]; state: string; dir: string }> {
  const dir = makeTempDir('bridge-authz');
  const rb = makeRunbook([makeStep('gate', action, { owner: opts.owner ?? 'QA', onFailure: 'continue' })], {
    roles: ROLES,
  });
  const run = await execRunbook(rb, {
    dir,
    approvalPollMs: 10,
    usersFile: usersFile(dir, opts.users ?? { carol: ['QA'], mallory: ['DBA'] }),
    onExecutor: (ex) => {
      // Ends a run whose step no submission decides (nothing else would end it).
      setTimeout(() => ex.interrupt(), 500).unref();
    },
    observer: {
      onEvent: (ev) => {
        if (ev.type !== 'approval-requested') return;
        for (const r of reqs) submitApproval(dir, { step: ev.step, decision: r.decision, by: r.by });
      },
    },
  });
  return { events: run.events, state: run.view.byId.get('gate')!.state, dir };
}

const decisions = (events: JournalEvent[]): string[] =>
  events.flatMap((e) =>
    e.type === 'approval'
      ? [
          `${e.by} ${e.decision}${e.count !== undefined ? ` ${e.count}/${e.needed}` : ''}${e.concurring ? ' concurring' : ''}`,
        ]
      : e.type === 'approval-refused'
        ? [`${e.by} refused ${e.code}`]
        : [],
  );

describe('approvals: roles and minApprovals', () => {
  it('a four-eyes step: outsiders refused and journaled, the same person twice counts once, two people decide', async () => {
    const { events, state } = await decideStep(manual(2), [
      { by: 'mallory', decision: 'approved' }, // a DBA in the users file: not QA
      { by: 'eve', decision: 'approved' }, // nobody
      { by: 'alice', decision: 'approved' },
      { by: 'alice', decision: 'approved' },
      { by: 'carol', decision: 'approved' }, // QA through the users file
    ]);
    expect(decisions(events)).toEqual([
      'mallory refused not-allowed',
      'eve refused not-allowed',
      'alice approved 1/2',
      'alice refused duplicate',
      'carol approved 2/2',
    ]);
    expect(state).toBe('succeeded');
    const requested = events.find((e) => e.type === 'approval-requested');
    expect(requested).toMatchObject({ approvers: ['QA'], members: ['alice', 'bob'], minApprovals: 2 });
    const refused = events.find((e) => e.type === 'approval-refused' && e.by === 'mallory');
    expect(refused).toMatchObject({
      reason: expect.stringMatching(/mallory is not a member of QA/) as unknown,
    });
    // The report lists each approver.
    const model = buildReportModel({
      runId: 'test-run',
      events,
      integrity: {
        verified: true,
        events: events.length,
        breakAt: undefined,
        tornTail: false,
        corruptLines: [],
      },
    });
    const step = model.steps.find((s) => s.id === 'gate')!;
    expect(step.approvals.map((a) => a.by)).toEqual(['alice', 'carol']);
  });

  it('one approval short: the step still waits (an interrupt ends it, not approved)', async () => {
    const { events, state } = await decideStep(manual(2), [{ by: 'alice', decision: 'approved' }]);
    expect(decisions(events)).toEqual(['alice approved 1/2']);
    expect(state).toBe('cancelled');
  });

  it('a reject by any allowed person rejects, even after an approval', async () => {
    const { events, state } = await decideStep(manual(2), [
      { by: 'alice', decision: 'approved' },
      { by: 'sam', decision: 'rejected' }, // SRE: not allowed to reject a QA step either
      { by: 'bob', decision: 'rejected' },
    ]);
    expect(decisions(events)).toEqual(['alice approved 1/2', 'sam refused not-allowed', 'bob rejected']);
    expect(state).toBe('failed');
  });

  it('the owner role and the approvers roles may both decide', async () => {
    const a = await decideStep(manual(undefined, ['DBA']), [{ by: 'mallory', decision: 'approved' }]);
    expect(decisions(a.events)).toEqual(['mallory approved']);
    expect(a.events.find((e) => e.type === 'approval')).toMatchObject({ role: 'DBA', via: 'cli' });
    const b = await decideStep(manual(undefined, ['DBA']), [{ by: 'bob', decision: 'approved' }]);
    expect(decisions(b.events)).toEqual(['bob approved']);
  });

  it('a role nobody is a member of: every approval is refused, saying how to add members', async () => {
    const { events, state } = await decideStep(manual(), [{ by: 'anyone', decision: 'approved' }], {
      owner: 'LOCAL',
    });
    expect(decisions(events)).toEqual(['anyone refused not-allowed']);
    expect(events.find((e) => e.type === 'approval-refused')).toMatchObject({
      reason: expect.stringMatching(/no one is.*drctl users add <name> --roles LOCAL/) as unknown,
    });
    expect(state).toBe('cancelled');
  });

  it('the OS user and host of the submitter are journaled beside the name', async () => {
    const { events } = await decideStep(manual(), [{ by: 'alice', decision: 'approved' }]);
    const ev = events.find((e) => e.type === 'approval');
    expect(ev).toMatchObject({
      by: 'alice',
      osUser: expect.any(String) as unknown,
      host: expect.any(String) as unknown,
    });
  });

  it('a broken users file refuses (never opens) the approval', async () => {
    const dir = makeTempDir('bridge-authz-broken');
    const path = join(dir, 'users.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, 'users: [not, a, map]\n');
    const rb = makeRunbook([makeStep('gate', manual(), { owner: 'QA' })], { roles: ROLES });
    const run = await execRunbook(rb, {
      dir,
      approvalPollMs: 10,
      usersFile: path,
      onExecutor: (ex) => setTimeout(() => ex.interrupt(), 800).unref(),
      observer: {
        onEvent: (ev) => {
          if (ev.type === 'approval-requested')
            submitApproval(dir, { step: 'gate', decision: 'approved', by: 'alice' });
        },
      },
    });
    expect(decisions(run.events)).toEqual(['alice refused not-allowed']);
    expect(run.view.byId.get('gate')!.state).toBe('cancelled');
  });

  it('property: whatever the submissions, only members decide and approval needs N distinct members', async () => {
    const allowed = new Set(['alice', 'bob', 'carol']);
    const names = ['alice', 'bob', 'carol', 'mallory', 'eve', 'sam'];
    const seed = 16_2026;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.record({
            by: fc.constantFrom(...names),
            decision: fc.constantFrom<'approved' | 'rejected'>(
              'approved',
              'approved',
              'approved',
              'rejected',
            ),
          }),
          { minLength: 1, maxLength: 7 },
        ),
        async (n, reqs) => {
          // The reference: the rules of issue 16, one submission at a time.
          let outcome: 'waiting' | 'approved' | 'rejected' = 'waiting';
          const by = new Set<string>();
          const want: string[] = [];
          for (const r of reqs) {
            if (!allowed.has(r.by)) want.push(`${r.by} refused not-allowed`);
            else if (outcome === 'waiting' && r.decision === 'rejected') {
              outcome = 'rejected';
              want.push(`${r.by} rejected`);
            } else if (outcome === 'waiting' && by.has(r.by)) want.push(`${r.by} refused duplicate`);
            else if (outcome === 'waiting') {
              by.add(r.by);
              if (by.size === n) outcome = 'approved';
              want.push(`${r.by} approved${n > 1 ? ` ${by.size}/${n}` : ''}`);
            } else if (outcome === 'approved' && r.decision === 'approved')
              want.push(`${r.by} approved concurring`);
            else want.push(`${r.by} refused not-waiting`);
          }
          const { events, state } = await decideStep(manual(n === 1 ? undefined : n), reqs);
          expect(decisions(events)).toEqual(want);
          expect(state).toBe(
            outcome === 'approved' ? 'succeeded' : outcome === 'rejected' ? 'failed' : 'cancelled',
          );
          for (const e of events) if (e.type === 'approval') expect(allowed.has(e.by)).toBe(true);
        },
      ),
      { seed, numRuns: 12, interruptAfterTimeLimit: 25_000 },
    );
  }, 60_000);
});
