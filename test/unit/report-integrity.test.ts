import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunLocation } from '../../src/journal/runs.js';
import { loadJournal, loadReportModel, renderReport } from '../../src/report/index.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { writeSuccessfulRun } from '../fixtures/report-journals.js';

let tmp: string;
let n = 0;
beforeAll(() => {
  tmp = makeTempDir('report-integrity');
});
afterAll(() => removeDir(tmp));

/** A fresh copy of the successful run, its lines edited by `edit`. */
function tampered(edit: (lines: string[]) => string[]): RunLocation {
  const loc = writeSuccessfulRun(`${tmp}/runs${n++}`);
  const lines = readFileSync(loc.journalPath, 'utf8').split('\n').slice(0, -1);
  writeFileSync(loc.journalPath, edit(lines).join('\n') + '\n');
  return loc;
}

describe('journal integrity', () => {
  it('verifies an untouched journal', () => {
    const loc = writeSuccessfulRun(`${tmp}/clean`);
    expect(loadJournal(loc.journalPath).integrity).toEqual({
      verified: true,
      events: 24,
      breakAt: undefined,
      tornTail: false,
      corruptLines: [],
    });
  });

  it('breaks at the event after an edited one: a changed duration on line 7', () => {
    const loc = tampered((lines) => {
      // line 7 = event 6: stop-traffic finished; shave 3 minutes off it.
      expect(lines[6]).toContain('"type":"step-finished"');
      lines[6] = lines[6]!.replace('"durationMs":240000', '"durationMs":60000');
      return lines;
    });
    const { integrity } = loadJournal(loc.journalPath);
    expect(integrity.verified).toBe(false);
    expect(integrity.breakAt).toEqual({
      seq: 7,
      line: 8,
      reason: 'prev hash does not match the event before it (event 6 was altered)',
    });
  });

  it('breaks where an event was removed', () => {
    const loc = tampered((lines) => lines.filter((_, i) => i !== 12));
    const { integrity } = loadJournal(loc.journalPath);
    expect(integrity.breakAt).toMatchObject({ seq: 13, line: 13 });
    expect(integrity.breakAt!.reason).toContain('expected seq 12, found 13');
  });

  it('names the real file line when a garbage line sits in the middle', () => {
    const loc = tampered((lines) => [...lines.slice(0, 5), 'not json at all', ...lines.slice(5)]);
    const { integrity } = loadJournal(loc.journalPath);
    expect(integrity.verified).toBe(false);
    expect(integrity.corruptLines).toEqual([6]);
    expect(integrity.breakAt).toEqual({
      seq: -1,
      line: 6,
      reason: 'line is not a journal event (inserted or damaged)',
    });
  });

  it('accepts the start of an event torn by a crash between events (a resumed run)', () => {
    const loc = tampered((lines) => [
      ...lines.slice(0, 5),
      '{"seq":5,"ts":"2026-11-21T16:0',
      ...lines.slice(5),
    ]);
    expect(loadJournal(loc.journalPath).integrity).toMatchObject({
      verified: true,
      tornTail: true,
      corruptLines: [],
    });
  });

  it('accepts a torn last line (a crash mid-write) as intact, and says so', () => {
    const loc = writeSuccessfulRun(`${tmp}/torn`);
    appendFileSync(loc.journalPath, '{"seq":24,"ts":"2026-11-21T17:0');
    const { integrity } = loadJournal(loc.journalPath);
    expect(integrity).toMatchObject({ verified: true, events: 24, tornTail: true });
  });

  it('refuses to report a journal with no events, with a hint (exit 2)', () => {
    const loc = tampered(() => []);
    writeFileSync(loc.journalPath, '');
    expect(() => loadReportModel(loc)).toThrow(/has no events in its journal/);
  });

  it('still reports a broken journal, marked NOT VERIFIED with the place it breaks', () => {
    const loc = tampered((lines) => {
      lines[3] = lines[3]!.replace('all 14 teams on the bridge', 'all teams on the bridge');
      return lines;
    });
    const model = loadReportModel(loc);
    expect(model.integrity.verified).toBe(false);
    expect(model.steps).toHaveLength(8);
    expect(model.warnings[0]).toBe(
      'hash chain NOT VERIFIED (breaks at event 4, line 5: prev hash does not match the event before it (event 3 was altered))',
    );
    for (const format of ['console', 'md', 'html'] as const) {
      expect(renderReport(model, format)).toContain('NOT VERIFIED: hash chain breaks at event 4, line 5');
    }
    expect(JSON.parse(renderReport(model, 'json'))).toMatchObject({
      integrity: { verified: false, breakAt: { seq: 4, line: 5 } },
    });
  });
});
