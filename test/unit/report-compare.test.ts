import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareReports, loadReportModel, renderCompare, type CompareModel } from '../../src/report/index.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { MIN, SEC, writeResumedRun, writeSuccessfulRun } from '../fixtures/report-journals.js';

let tmp: string;
let c: CompareModel;
beforeAll(() => {
  tmp = makeTempDir('report-compare');
  const a = loadReportModel(writeSuccessfulRun(`${tmp}/runs`));
  const b = loadReportModel(writeResumedRun(`${tmp}/runs`));
  c = compareReports(a, b);
});
afterAll(() => removeDir(tmp));

describe('compare two runs', () => {
  it('gives per-step deltas (B − A)', () => {
    const d = (id: string) => c.steps.find((s) => s.id === id)!;
    expect(d('stop-traffic')).toMatchObject({
      a: { durationMs: 4 * MIN },
      b: { durationMs: 9 * MIN },
      deltaMs: 5 * MIN,
    });
    expect(d('business-verified').deltaMs).toBe(-26 * MIN);
    expect(d('switch-redis').deltaMs).toBe(0);
    expect(d('verify-docs')).toMatchObject({ b: { status: 'done-by-override' }, deltaMs: -1 * MIN });
    expect(c.steps).toHaveLength(8);
  });

  it('gives per-phase, per-role, total and RTO clock deltas', () => {
    expect(c.total).toEqual({ name: 'run', a: 60 * MIN, b: 30 * MIN, deltaMs: -30 * MIN });
    expect(c.rto.technical).toEqual({
      name: 'technical',
      a: 20 * MIN,
      b: 16 * MIN,
      deltaMs: -4 * MIN,
      aStatus: 'met',
      bStatus: 'met',
    });
    expect(c.rto.compliance).toEqual({
      name: 'compliance',
      a: 60 * MIN,
      b: 30 * MIN,
      deltaMs: -30 * MIN,
      aStatus: 'missed',
      bStatus: 'met',
    });
    expect(c.phases.find((p) => p.name === 'cutover')).toEqual({
      name: 'cutover',
      a: 20 * MIN,
      b: 16 * MIN,
      deltaMs: -4 * MIN,
    });
    expect(c.roles.find((p) => p.name === 'MW-SRE')).toEqual({
      name: 'MW-SRE',
      a: 30 * SEC,
      b: 30 * SEC,
      deltaMs: 0,
    });
  });

  it('renders in every format', () => {
    expect(renderCompare(c, 'console')).toContain('stop-traffic');
    expect(renderCompare(c, 'md')).toContain(
      '| stop-traffic | cutover | succeeded | 4m00s | succeeded | 9m00s | +5m00s |',
    );
    expect(renderCompare(c, 'csv')).toContain(
      'step,stop-traffic,cutover,succeeded,240,succeeded,540,300\r\n',
    );
    expect(JSON.parse(renderCompare(c, 'json'))).toEqual(JSON.parse(JSON.stringify(c)));
    expect(renderCompare(c, 'html')).toContain('<td>+5m00s</td>');
  });
});
