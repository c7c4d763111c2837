import { describe, expect, it } from 'vitest';
import { assignRoleColours, renderGanttSvg } from '../../src/report/gantt-svg.js';
import { loadReportModel } from '../../src/report/index.js';
import type { ReportModel } from '../../src/report/index.js';
import { writeSuccessfulRun } from '../fixtures/report-journals.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * The Gantt is scaled to the run: a 10-minute objective against a 2-second run used to set the
 * axis, and every bar was a sliver (issue 16). Now an objective far beyond the run's end is a
 * marker at the edge, and one close to it still draws its line.
 */
function barsSpan(svg: string): number {
  const bars = [...svg.matchAll(/<rect class="bar [^"]*"[^>]* x="([\d.]+)"[^>]* width="([\d.]+)"/g)].map(
    (m) => [Number(m[1]), Number(m[1]) + Number(m[2])],
  );
  return Math.max(...bars.map((b) => b[1]!)) - Math.min(...bars.map((b) => b[0]!));
}

function withObjective(m: ReportModel, objectiveMs: number): ReportModel {
  return { ...m, rto: { ...m.rto, technical: { ...m.rto.technical, startOffsetMs: 0, objectiveMs } } };
}

describe('the Gantt scales to the run', () => {
  const dir = makeTempDir('bridge-gantt');
  const model = loadReportModel(writeSuccessfulRun(dir));
  removeDir(dir);
  const runEnd = Math.max(model.run.durationMs, ...model.steps.map((s) => s.endOffsetMs ?? 0));
  const CHART_W = 1100 - 230 - 20;

  it('an objective 100x beyond the run: bars fill the chart, the objective is marked at the edge', () => {
    const svg = renderGanttSvg(withObjective(model, runEnd * 100), assignRoleColours(model));
    expect(barsSpan(svg)).toBeGreaterThan(0.9 * CHART_W);
    expect(svg).toMatch(/objective-beyond objective-technical[^>]*>[\s\S]*beyond this axis/);
    expect(svg).not.toMatch(/<line class="objective objective-technical"/);
  });

  it('an objective just after the run still draws its line, inside the chart', () => {
    const svg = renderGanttSvg(withObjective(model, runEnd * 1.1), assignRoleColours(model));
    expect(svg).toMatch(/<line class="objective objective-technical" x1="([\d.]+)"/);
    const x = Number(/<line class="objective objective-technical" x1="([\d.]+)"/.exec(svg)![1]);
    expect(x).toBeLessThanOrEqual(1100 - 20);
    expect(svg).not.toMatch(/beyond this axis/);
    expect(barsSpan(svg)).toBeGreaterThan(0.8 * CHART_W);
  });
});
