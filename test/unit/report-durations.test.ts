import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, formatDurationAgainst, parseDuration } from '../../src/util/duration.js';

/** Issue 12 defect 10: seconds at ≥ 1 h, never rounded up across a unit or across an objective. */
describe('formatDuration (defect 10)', () => {
  it('shows seconds at an hour and above, truncated', () => {
    expect(formatDuration(5_399_000)).toBe('1h29m59s');
    expect(formatDuration(5_399_999)).toBe('1h29m59s');
    expect(formatDuration(5_458_000)).toBe('1h30m58s');
    expect(formatDuration(3_600_000)).toBe('1h00m00s');
  });
  it('never rounds up across a unit', () => {
    expect(formatDuration(59_960)).toBe('59.9s');
    expect(formatDuration(9_999)).toBe('9.99s');
    expect(formatDuration(999.7)).toBe('999ms');
    expect(formatDuration(3_599_999)).toBe('59m59s');
    expect(formatDuration(-59_960)).toBe('-59.9s');
  });
  it('the text never exceeds the value, and parses back to within the shown precision', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 * 3_600_000 }), (ms) => {
        const back = parseDuration(formatDuration(ms))!;
        expect(back).toBeLessThanOrEqual(ms);
        const precision = ms < 1000 ? 1 : ms < 10_000 ? 10 : ms < 60_000 ? 100 : 1000;
        expect(ms - back).toBeLessThan(precision);
      }),
      { seed: 12_10, numRuns: 2000 },
    );
  });
  it('against an objective, the elapsed text differs from the objective text whenever the values differ', () => {
    expect(formatDurationAgainst(60_040, 60_000)).toEqual({ value: '1m00.040s', objective: '1m00.000s' });
    expect(formatDurationAgainst(59_960, 60_000)).toEqual({ value: '59.9s', objective: '1m00s' });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 * 3_600_000 }),
        fc.integer({ min: 1, max: 10 * 3_600_000 }),
        (e, o) => {
          const t = formatDurationAgainst(e, o);
          if (e !== o) expect(t.value).not.toBe(t.objective);
          // The order of the texts as durations is the order of the values.
          const pe = parseDuration(t.value)!;
          const po = parseDuration(t.objective)!;
          if (e > o) expect(pe).toBeGreaterThan(po);
          if (e < o) expect(pe).toBeLessThan(po);
        },
      ),
      { seed: 12_11, numRuns: 2000 },
    );
  });
});
