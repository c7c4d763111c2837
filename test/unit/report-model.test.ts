import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunLocation } from '../../src/journal/runs.js';
import type { ReportModel, StepReport } from '../../src/report/index.js';
import { loadReportModel } from '../../src/report/index.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { createRunDir } from '../../src/journal/runs.js';
import {
  JournalScript,
  MIN,
  PLAN,
  runStarted,
  SEC,
  T0,
  writeFailedRun,
  writeResumedRun,
  writeRunningRun,
  writeSuccessfulRun,
} from '../fixtures/report-journals.js';

const iso = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();
let tmp: string;
let ok: ReportModel;
let failed: ReportModel;
let resumed: ReportModel;
let running: ReportModel;

beforeAll(() => {
  tmp = makeTempDir('report-model');
  const runsDir = `${tmp}/runs`;
  const load = (loc: RunLocation) => loadReportModel(loc);
  ok = load(writeSuccessfulRun(runsDir));
  failed = load(writeFailedRun(runsDir));
  resumed = load(writeResumedRun(runsDir));
  running = load(writeRunningRun(runsDir));
});
afterAll(() => removeDir(tmp));

const step = (m: ReportModel, id: string): StepReport => {
  const s = m.steps.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no step ${id}`);
  return s;
};

describe('successful run', () => {
  it('describes the run', () => {
    expect(ok.run).toMatchObject({
      id: '20261121T160000000Z-aaaa',
      runbook: { name: 'id-bank-switchover' },
      direction: 'switchover',
      status: 'succeeded',
      startedAt: iso(0),
      endedAt: iso(60 * MIN),
      durationMs: 60 * MIN,
      startedBy: 'sre.lead@bastion-main',
      resumes: [],
    });
    expect(ok.integrity).toMatchObject({ verified: true, events: 24, tornTail: false });
    expect(ok.warnings).toEqual([]);
  });

  it('reports every step field by field', () => {
    expect(ok.steps.map((s) => s.id)).toEqual([
      'declare',
      'stop-traffic',
      'verify-core',
      'verify-docs',
      'switch-mysql',
      'switch-redis',
      'open-traffic',
      'business-verified',
    ]);
    expect(step(ok, 'declare')).toMatchObject({
      title: 'Announce the drill on the bridge',
      owner: 'PM',
      phase: 'prepare',
      status: 'succeeded',
      startedAt: iso(0),
      finishedAt: iso(2 * MIN),
      durationMs: 2 * MIN,
      estimateMs: 5 * MIN,
      varianceMs: -3 * MIN,
      attempts: 1,
      ranBy: 'sre.lead@bastion-main',
      approvedBy: 'pm.lee',
      critical: true,
    });
    expect(step(ok, 'declare').notes).toContain('approved by pm.lee via cli: all 14 teams on the bridge');
    const mysql = step(ok, 'switch-mysql');
    expect(mysql).toMatchObject({
      startedAt: iso(16 * MIN),
      finishedAt: iso(17 * MIN),
      durationMs: MIN,
      attempts: 1,
    });
    expect(mysql.approvedBy).toBeUndefined();
    expect(mysql.notes).toEqual([]);
    expect(step(ok, 'declare').notes).toEqual([
      'waited 1m55s for approval',
      'approved by pm.lee via cli: all 14 teams on the bridge',
    ]);
    expect(step(ok, 'switch-redis')).toMatchObject({
      durationMs: 30 * SEC,
      critical: false,
      startOffsetMs: 14 * MIN,
    });
    expect(step(ok, 'business-verified')).toMatchObject({
      durationMs: 38 * MIN,
      varianceMs: 8 * MIN,
      approvedBy: 'qa.wu',
    });
  });

  it('measures both RTO clocks against the objectives', () => {
    expect(ok.rto.technical).toMatchObject({
      fromStep: 'stop-traffic',
      toStep: 'open-traffic',
      status: 'met',
      elapsedMs: 20 * MIN,
      objectiveMs: 30 * MIN,
      marginMs: -10 * MIN,
      startedAt: iso(2 * MIN),
      endedAt: iso(22 * MIN),
    });
    expect(ok.rto.technical.verdict).toBe('20m00s against 30m00s: met with 10m00s to spare');
    expect(ok.rto.compliance).toMatchObject({ status: 'missed', elapsedMs: 60 * MIN, marginMs: 15 * MIN });
    expect(ok.rto.compliance.verdict).toBe('1h00m00s against 45m00s: missed by 15m00s');
  });

  it('follows the binding predecessors for the critical path', () => {
    expect(ok.criticalPath).toEqual({
      steps: ['declare', 'stop-traffic', 'verify-core', 'switch-mysql', 'open-traffic', 'business-verified'],
      startOffsetMs: 0,
      endOffsetMs: 60 * MIN,
      // Work is attempt time: declare's 5 s before its approval was requested, then 4 + 8 + 1 + 2
      // minutes; both approval waits (1m55s and 38m) are waiting, like the gaps between steps.
      workMs: 15 * MIN + 5 * SEC,
      waitMs: 44 * MIN + 55 * SEC,
    });
    expect(ok.steps.filter((s) => s.critical).map((s) => s.id)).toEqual(ok.criticalPath.steps);
  });

  it('finds the approval waits and the times nothing ran though a step was ready', () => {
    expect(ok.idleGaps).toEqual([
      {
        kind: 'awaiting-approval',
        startedAt: iso(5 * SEC),
        endedAt: iso(2 * MIN),
        startOffsetMs: 5 * SEC,
        durationMs: 115 * SEC,
        steps: ['declare'],
        reason: 'waiting for approval of declare',
      },
      {
        kind: 'nothing-running',
        startedAt: iso(14 * MIN + 30 * SEC),
        endedAt: iso(16 * MIN),
        startOffsetMs: 14 * MIN + 30 * SEC,
        durationMs: 90 * SEC,
        steps: ['switch-mysql'],
        reason: 'nothing running although switch-mysql could have started',
      },
      {
        kind: 'nothing-running',
        startedAt: iso(17 * MIN),
        endedAt: iso(20 * MIN),
        startOffsetMs: 17 * MIN,
        durationMs: 3 * MIN,
        steps: ['open-traffic'],
        reason: 'nothing running although open-traffic could have started',
      },
      {
        kind: 'awaiting-approval',
        startedAt: iso(22 * MIN),
        endedAt: iso(60 * MIN),
        startOffsetMs: 22 * MIN,
        durationMs: 38 * MIN,
        steps: ['business-verified'],
        reason: 'waiting for approval of business-verified',
      },
    ]);
  });

  it('totals per role and per phase', () => {
    const role = (name: string) => ok.roles.find((r) => r.name === name)!;
    expect(ok.roles.map((r) => r.name)).toEqual(['PM', 'SRE', 'DBA', 'MW-SRE', 'QA']);
    expect(role('SRE')).toMatchObject({
      steps: 3,
      sumMs: 7 * MIN,
      activeMs: 7 * MIN,
      spanMs: 20 * MIN,
      estimateMs: 9 * MIN,
    });
    // verify-core (8m) and verify-docs (3m) overlap: 11m of work in 8m of wall time.
    expect(role('DBA')).toMatchObject({ steps: 2, sumMs: 11 * MIN, activeMs: 8 * MIN, spanMs: 8 * MIN });
    // business-verified spent its 38 minutes awaiting QA's sign-off: waiting, not work.
    expect(role('QA')).toMatchObject({ sumMs: 0, startedAt: iso(22 * MIN), endedAt: iso(60 * MIN) });
    const phase = (name: string) => ok.phases.find((p) => p.name === name)!;
    expect(ok.phases.map((p) => p.name)).toEqual(['prepare', 'cutover', 'verify']);
    expect(phase('cutover')).toMatchObject({
      steps: 4,
      sumMs: 7.5 * 60 * SEC,
      spanMs: 20 * MIN,
      failed: 0,
      notRun: 0,
    });
    expect(phase('verify')).toMatchObject({
      steps: 3,
      // verify-core 8m + verify-docs 3m (overlapping: 8m active); business-verified only waited.
      sumMs: 11 * MIN,
      activeMs: 8 * MIN,
      spanMs: 54 * MIN,
    });
  });

  it('keeps every gate result as RPO evidence with its time', () => {
    expect(ok.gates).toHaveLength(2);
    expect(ok.gates[1]).toMatchObject({
      step: 'verify-core',
      at: iso(14 * MIN),
      checker: 'mysql',
      status: 'consistent',
      ok: true,
      summary: '3 tables, 120,000 rows: consistent',
      counts: { rowsSource: 120000, rowsTarget: 120000 },
      evidence: { sourceGtid: '0-1-5012', targetGtid: '0-1-5012' },
      durationMs: 7 * MIN,
    });
    expect(ok.gates[1]!.keyEvidence).toEqual([
      { key: 'sourceGtid', value: '0-1-5012' },
      { key: 'targetGtid', value: '0-1-5012' },
      { key: 'serverVersion', value: '10.11.6-MariaDB' },
    ]);
    expect(ok.gates[0]).toMatchObject({
      step: 'verify-docs',
      checker: 's3',
      counts: { objectsSource: 48210 },
    });
  });
});

describe('a journal read under another run id', () => {
  it('keeps the id the journal records and warns', () => {
    const loc = writeSuccessfulRun(`${tmp}/copied`, '20261121T160000000Z-aaaa');
    const m = loadReportModel({ ...loc, id: '20261122T000000000Z-copy' });
    expect(m.run.id).toBe('20261121T160000000Z-aaaa');
    expect(m.warnings).toEqual([
      'the journal records run 20261121T160000000Z-aaaa but was read as run 20261122T000000000Z-copy (a copied or renamed run directory?)',
    ]);
  });
});

describe('a failed run that rolled back', () => {
  it('keeps the rollback out of the critical path and reports it', () => {
    const id = '20261121T220000000Z-roll';
    const steps = [
      ...PLAN,
      {
        id: 'rollback/stop-traffic',
        title: 'Roll back: Drain the Main gateway',
        owner: 'SRE',
        kind: 'run',
        needs: [],
        rollbackOf: 'stop-traffic',
      },
    ];
    const s = new JournalScript(createRunDir(`${tmp}/roll`, id));
    s.emit(0, runStarted(id, { steps }));
    s.step('declare', 0, MIN);
    s.step('stop-traffic', MIN, 2 * MIN);
    s.step('verify-core', 2 * MIN, 4 * MIN, { status: 'failed', error: 'gate failed' });
    s.emit(4 * MIN, {
      type: 'rollback-started',
      reason: 'step verify-core failed (onFailure: rollback)',
      steps: ['rollback/stop-traffic'],
    });
    s.step('rollback/stop-traffic', 4 * MIN, 5 * MIN);
    s.emit(5 * MIN, { type: 'rollback-finished', status: 'succeeded' });
    s.emit(5 * MIN, { type: 'run-finished', status: 'failed', durationMs: 5 * MIN, error: 'rolled back' });
    const m = loadReportModel(s.close());
    expect(m.criticalPath.steps).toEqual(['declare', 'stop-traffic', 'verify-core']);
    expect(m.run.rollback).toEqual({
      startedAt: iso(4 * MIN),
      reason: 'step verify-core failed (onFailure: rollback)',
      steps: ['rollback/stop-traffic'],
      finishedAt: iso(5 * MIN),
      status: 'succeeded',
    });
    expect(step(m, 'rollback/stop-traffic')).toMatchObject({
      status: 'succeeded',
      durationMs: MIN,
      rollbackOf: 'stop-traffic',
    });
    expect(step(m, 'rollback/stop-traffic').notes).toEqual(['rollback of stop-traffic']);
  });
});

describe('failed run', () => {
  it('marks the failure, the retry and the steps that never ran', () => {
    expect(failed.run).toMatchObject({
      status: 'failed',
      error: 'step verify-core failed',
      durationMs: 12 * MIN,
    });
    expect(step(failed, 'stop-traffic')).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      durationMs: 4 * MIN,
    });
    expect(step(failed, 'stop-traffic').notes).toEqual([
      'attempt 1 failed exit 1: gateway returned 503 (retry in 1.00s)',
    ]);
    expect(step(failed, 'verify-core')).toMatchObject({
      status: 'failed',
      error: 'gate failed: 2 missing rows on target',
      durationMs: 7 * MIN,
      critical: true,
    });
    for (const id of ['switch-mysql', 'switch-redis', 'open-traffic', 'business-verified']) {
      const s = step(failed, id);
      expect(s).toMatchObject({ status: 'not-run', attempts: 0 });
      expect([s.startedAt, s.finishedAt, s.durationMs]).toEqual([undefined, undefined, undefined]);
    }
  });

  it('says the RTO clocks were not reached and counts failures per role', () => {
    expect(failed.rto.technical).toMatchObject({
      status: 'not-reached',
      elapsedMs: 11 * MIN,
      marginMs: -19 * MIN,
    });
    expect(failed.rto.technical.verdict).toContain('step open-traffic never ran');
    expect(failed.criticalPath.steps).toEqual(['declare', 'stop-traffic', 'verify-core']);
    expect(failed.roles.find((r) => r.name === 'DBA')).toMatchObject({ failed: 1, succeeded: 1 });
    const qa = failed.roles.find((r) => r.name === 'QA')!;
    expect(qa).toMatchObject({ notRun: 1, sumMs: 0, spanMs: 0 });
    expect(qa.startedAt).toBeUndefined();
    // Only the PM's sign-off of declare: nothing else could run while it was awaited.
    expect(failed.idleGaps.map((g) => [g.kind, g.startOffsetMs, g.durationMs, g.steps])).toEqual([
      ['awaiting-approval', 0, MIN, ['declare']],
    ]);
  });

  it('keeps the differences the gate found', () => {
    expect(failed.gates).toHaveLength(1);
    expect(failed.gates[0]).toMatchObject({
      status: 'different',
      ok: false,
      counts: { missing: 2, rowsTarget: 119998 },
      evidence: { sourceGtid: '0-1-5012', targetGtid: '0-1-5010' },
    });
    expect(failed.gates[0]!.findings.map((f) => f.message)).toEqual([
      'id=1041 missing on target',
      'id=1042 missing on target',
    ]);
  });
});

describe('resumed run', () => {
  it('records the resume, the overrides and who ran each step', () => {
    expect(resumed.run.drill).toBe(true);
    expect(resumed.run.resumes).toEqual([{ at: iso(10 * MIN), by: 'sre.kim@bastion-dr' }]);
    expect(resumed.integrity.verified).toBe(true);
    const stop = step(resumed, 'stop-traffic');
    expect(stop).toMatchObject({
      status: 'succeeded',
      startedAt: iso(2 * MIN),
      finishedAt: iso(11 * MIN),
      durationMs: 9 * MIN,
      attempts: 2,
      ranBy: 'sre.kim@bastion-dr',
      drill: true,
    });
    expect(stop.overrides).toEqual([
      {
        at: iso(10 * MIN + 5 * SEC),
        action: 'retry-unknown',
        by: 'sre.kim',
        reason: 'gateway drain is idempotent',
      },
    ]);
    expect(stop.notes).toContain('override retry-unknown by sre.kim: gateway drain is idempotent');
    expect(stop.notes).toContain('was running when drctl stopped; re-run after resume');
    expect(stop.notes).toContain('drill');
    const docs = step(resumed, 'verify-docs');
    expect(docs).toMatchObject({ status: 'done-by-override', finishedAt: iso(13 * MIN), exitCode: 2 });
    expect(docs.notes).toContain(
      'override mark-done by dba.chen: counts checked by hand in the Ceph console: equal',
    );
  });

  it('shows the time drctl was down as an idle gap and keeps the RTO clock running through it', () => {
    expect(resumed.idleGaps.map((g) => [g.kind, g.startedAt, g.durationMs])).toEqual([
      ['awaiting-approval', iso(0), 2 * MIN],
      ['process-down', iso(3 * MIN), 7 * MIN],
      ['awaiting-approval', iso(18 * MIN), 12 * MIN],
    ]);
    expect(resumed.idleGaps[1]!.reason).toBe(
      'drctl was not running (the run was interrupted and later resumed)',
    );
    expect(resumed.rto.technical).toMatchObject({ status: 'met', elapsedMs: 16 * MIN });
    expect(resumed.rto.compliance).toMatchObject({ status: 'met', elapsedMs: 30 * MIN });
  });
});

describe('run still in progress', () => {
  it('reports the running step and a clock already past its objective', () => {
    expect(running.run).toMatchObject({ status: 'in-progress', durationMs: 40 * MIN });
    const open = step(running, 'open-traffic');
    expect(open).toMatchObject({
      status: 'running',
      startedAt: iso(6 * MIN),
      endOffsetMs: 40 * MIN,
      attempts: 1,
    });
    expect([open.finishedAt, open.durationMs]).toEqual([undefined, undefined]);
    expect(running.rto.technical).toMatchObject({
      status: 'not-reached',
      elapsedMs: 39 * MIN,
      marginMs: 9 * MIN,
    });
    expect(running.rto.technical.verdict).toContain('already over the objective by 9m00s (missed)');
    expect(running.criticalPath.steps.at(-1)).toBe('open-traffic');
  });
});
