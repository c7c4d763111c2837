import { describe, expect, it } from 'vitest';
import { journalSteps } from '../../src/engine/executor.js';
import { prepareResume } from '../../src/engine/resume.js';
import { replayJournal } from '../../src/engine/state.js';
import type { JournalEvent, JournalEventBody } from '../../src/journal/events.js';
import { makeRunbook, makeStep, runAction } from '../fixtures/engine-runbook.js';

const runbook = makeRunbook([
  makeStep('a', runAction(['true']), { rollback: { action: runAction(['true']) } }),
  makeStep('b', runAction(['true']), { needs: ['a'] }),
  makeStep(
    'gate',
    { kind: 'check', check: { kind: 'mysql', resource: 'core', options: {} } },
    { needs: ['a'] },
  ),
  makeStep('c', runAction(['true']), { needs: ['b', 'gate'] }),
]);

function journal(...bodies: JournalEventBody[]): JournalEvent[] {
  const start: JournalEventBody = {
    type: 'run-started',
    runId: 'r1',
    runbook: { name: runbook.name, file: runbook.file, sha256: runbook.sha256 },
    direction: 'switchover',
    drill: false,
    dryRun: false,
    who: { user: 'u', host: 'h', pid: 1, argv: [], version: '0' },
    objectives: {},
    rto: {},
    steps: journalSteps(runbook),
  };
  return [start, ...bodies].map((b, seq) => ({
    seq,
    ts: `2026-11-22T00:00:${String(seq).padStart(2, '0')}.000Z`,
    mono: seq,
    prev: '',
    ...b,
  }));
}

const decisions = { retryUnknown: false, markDone: new Map<string, string>(), by: 'carol' };
const started = (step: string): JournalEventBody => ({ type: 'step-started', step, attempt: 1 });
const finished = (step: string, status: 'succeeded' | 'failed' = 'succeeded'): JournalEventBody => ({
  type: 'step-finished',
  step,
  status,
  durationMs: 1,
  attempts: 1,
});

describe('replayJournal and prepareResume', () => {
  it('lists rollback steps in the journal but never as steps to run', () => {
    const view = replayJournal(journal());
    expect(view.byId.get('rollback/a')).toMatchObject({ rollbackOf: 'a', state: 'pending' });
    expect(prepareResume(view, runbook, decisions).rerun).toEqual([]);
  });

  it('re-runs failed steps, keeps completed ones, and repeats read-only steps that were running', () => {
    const view = replayJournal(
      journal(started('a'), finished('a'), started('b'), finished('b', 'failed'), started('gate')),
    );
    const plan = prepareResume(view, runbook, decisions);
    expect(plan.rerun).toEqual(['b']);
    expect(plan.dangling).toEqual([
      { id: 'gate', decision: 'retry', reason: 'check step only reads; safe to repeat', automatic: true },
    ]);
  });

  it('refuses an unknown step without a decision, and accepts either decision', () => {
    const view = replayJournal(journal(started('a')));
    expect(() => prepareResume(view, runbook, decisions)).toThrow(
      /a was running when drctl stopped: its effect is unknown/,
    );
    expect(prepareResume(view, runbook, { ...decisions, retryUnknown: true }).dangling[0]).toMatchObject({
      id: 'a',
      decision: 'retry',
    });
    expect(
      prepareResume(view, runbook, { ...decisions, markDone: new Map([['a', 'by hand']]) }).dangling[0],
    ).toMatchObject({ id: 'a', decision: 'mark-done' });
  });

  it('refuses finished, rolled back, dry and changed runs, and bad --mark-done', () => {
    expect(() =>
      prepareResume(
        replayJournal(journal({ type: 'run-finished', status: 'succeeded', durationMs: 1 })),
        runbook,
        decisions,
      ),
    ).toThrow(/already finished successfully/);
    expect(() =>
      prepareResume(
        replayJournal(journal({ type: 'rollback-started', reason: 'x', steps: [] })),
        runbook,
        decisions,
      ),
    ).toThrow(/rolled back/);
    expect(() =>
      prepareResume(replayJournal(journal()), { ...runbook, sha256: '0'.repeat(64) }, decisions),
    ).toThrow(/changed since/);
    expect(() =>
      prepareResume(replayJournal(journal()), { ...runbook, steps: runbook.steps.slice(1) }, decisions),
    ).toThrow(/steps differ/);
    expect(() =>
      prepareResume(replayJournal(journal(started('a'), finished('a'))), runbook, {
        ...decisions,
        markDone: new Map([['a', 'x']]),
      }),
    ).toThrow(/already succeeded/);
    expect(() =>
      prepareResume(replayJournal(journal()), runbook, { ...decisions, markDone: new Map([['zz', 'x']]) }),
    ).toThrow(/no such step/);
    const failedRun = replayJournal(journal({ type: 'run-finished', status: 'failed', durationMs: 1 }));
    expect(prepareResume(failedRun, runbook, decisions).rerun).toEqual([]);
  });

  it('tracks approvals and waiting state', () => {
    const view = replayJournal(
      journal(started('a'), { type: 'approval-requested', step: 'a', role: 'QA', instructions: 'go' }),
    );
    expect(view.byId.get('a')!.state).toBe('waiting-approval');
    const decided = replayJournal(
      journal(
        started('a'),
        { type: 'approval-requested', step: 'a', role: 'QA', instructions: 'go' },
        { type: 'approval', step: 'a', decision: 'approved', by: 'bob', via: 'cli' },
      ),
    );
    expect(decided.byId.get('a')).toMatchObject({
      state: 'running',
      approval: { decision: 'approved', by: 'bob' },
    });
  });
});
