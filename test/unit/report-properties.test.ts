import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JournalEvent, JournalEventBody, JournalStepInfo } from '../../src/journal/events.js';
import { buildReportModel } from '../../src/report/index.js';
import { unionLength } from '../../src/report/group-totals.js';

const T0 = Date.parse('2026-11-21T16:00:00.000Z');
const ROLES = ['SRE', 'DBA', 'QA'];

interface SimStep {
  info: JournalStepInfo;
  start: number;
  end: number;
}

/** A random DAG run: each step starts `delay` seconds after its last need ended and runs `dur` seconds. */
const arbRun = fc
  .array(
    fc.record({
      needs: fc.array(fc.nat(), { maxLength: 3 }),
      delay: fc.nat({ max: 120 }),
      dur: fc.integer({ min: 1, max: 600 }),
      role: fc.nat({ max: ROLES.length - 1 }),
    }),
    { minLength: 1, maxLength: 25 },
  )
  .map((specs) => {
    const steps: SimStep[] = [];
    specs.forEach((spec, i) => {
      const needs = i === 0 ? [] : [...new Set(spec.needs.map((n) => n % i))].map((n) => `s${n}`);
      const ready = Math.max(0, ...needs.map((id) => steps.find((s) => s.info.id === id)!.end));
      const start = ready + spec.delay * 1000;
      steps.push({
        info: {
          id: `s${i}`,
          title: `Step ${i}`,
          owner: ROLES[spec.role]!,
          phase: `p${i % 2}`,
          kind: 'run',
          needs,
          estimateMs: 60_000,
        },
        start,
        end: start + spec.dur * 1000,
      });
    });
    return steps;
  });

function toEvents(steps: SimStep[]): JournalEvent[] {
  const timed: { at: number; order: number; body: JournalEventBody }[] = [];
  timed.push({
    at: 0,
    order: 0,
    body: {
      type: 'run-started',
      runId: 'prop',
      runbook: { name: 'prop', file: 'prop.yaml', sha256: '' },
      direction: 'switchover',
      drill: false,
      dryRun: false,
      who: { user: 'u', host: 'h', pid: 1, argv: [], version: 'test' },
      objectives: {},
      rto: {},
      steps: steps.map((s) => s.info),
    },
  });
  for (const s of steps) {
    timed.push({ at: s.start, order: 2, body: { type: 'step-started', step: s.info.id, attempt: 1 } });
    timed.push({
      at: s.end,
      order: 1,
      body: {
        type: 'step-finished',
        step: s.info.id,
        status: 'succeeded',
        durationMs: s.end - s.start,
        attempts: 1,
      },
    });
  }
  const last = Math.max(...steps.map((s) => s.end));
  timed.push({ at: last, order: 3, body: { type: 'run-finished', status: 'succeeded', durationMs: last } });
  timed.sort((a, b) => a.at - b.at || a.order - b.order);
  return timed.map((t, seq): JournalEvent => ({
    seq,
    ts: new Date(T0 + t.at).toISOString(),
    mono: t.at,
    prev: '',
    ...t.body,
  }));
}

const integrity = { verified: true, events: 0, breakAt: undefined, tornTail: false, corruptLines: [] };

describe('report model properties (random DAG runs)', () => {
  it('durations, critical path, idle gaps and totals stay consistent', () => {
    fc.assert(
      fc.property(arbRun, (steps) => {
        const m = buildReportModel({ runId: 'prop', events: toEvents(steps), integrity }, { minGapMs: 1 });
        const runEnd = Math.max(...steps.map((s) => s.end));
        expect(m.run.durationMs).toBe(runEnd);
        for (const s of steps) {
          const r = m.steps.find((x) => x.id === s.info.id)!;
          expect(r.durationMs).toBe(s.end - s.start);
          expect(r.startOffsetMs).toBe(s.start);
        }
        // The critical path is a chain through needs that ends when the run ends.
        const path = m.criticalPath.steps;
        expect(path.length).toBeGreaterThan(0);
        const byId = new Map(steps.map((s) => [s.info.id, s]));
        expect(byId.get(path.at(-1)!)!.end).toBe(runEnd);
        expect(byId.get(path[0]!)!.info.needs).toEqual([]);
        for (let i = 1; i < path.length; i++) {
          const cur = byId.get(path[i]!)!;
          expect(cur.info.needs).toContain(path[i - 1]);
          const latestNeed = Math.max(...cur.info.needs.map((n) => byId.get(n)!.end));
          expect(byId.get(path[i - 1]!)!.end).toBe(latestNeed);
        }
        expect(m.criticalPath.workMs + m.criticalPath.waitMs).toBe(runEnd - byId.get(path[0]!)!.start);
        // Idle gaps: nothing running inside them, a listed step was ready, and they add up with busy time.
        const busy = unionLength(steps.map((s) => ({ from: s.start, to: s.end })));
        const idle = m.idleGaps.reduce((sum, g) => sum + g.durationMs, 0);
        expect(idle + busy).toBeLessThanOrEqual(runEnd);
        for (const g of m.idleGaps) {
          expect(g.kind).toBe('nothing-running');
          const a = g.startOffsetMs;
          const b = a + g.durationMs;
          expect(steps.some((s) => s.start < b && s.end > a)).toBe(false);
          for (const id of g.steps) {
            const s = byId.get(id)!;
            expect(s.start).toBeGreaterThanOrEqual(b);
            expect(s.info.needs.every((n) => byId.get(n)!.end <= a)).toBe(true);
          }
        }
        // Every delay between a step being ready and starting while nothing else ran is an idle gap.
        const gapTotal = (from: number, to: number) =>
          m.idleGaps.reduce(
            (sum, g) =>
              sum +
              Math.max(0, Math.min(to, g.startOffsetMs + g.durationMs) - Math.max(from, g.startOffsetMs)),
            0,
          );
        for (const s of steps) {
          const ready = Math.max(0, ...s.info.needs.map((n) => byId.get(n)!.end));
          const covered = unionLength(
            steps
              .filter((o) => o !== s)
              .map((o) => ({ from: Math.max(o.start, ready), to: Math.min(o.end, s.start) })),
          );
          expect(gapTotal(ready, s.start) + covered).toBe(s.start - ready);
        }
        for (const g of [...m.roles, ...m.phases]) {
          expect(g.activeMs).toBeLessThanOrEqual(g.sumMs);
          expect(g.activeMs).toBeLessThanOrEqual(g.spanMs);
        }
        expect(m.roles.reduce((sum, r) => sum + r.steps, 0)).toBe(steps.length);
      }),
      { numRuns: 300 },
    );
  });
});
