import { describe, expect, it } from 'vitest';
import { stepRow } from '../../src/bridge/pages.js';
import type { StepView } from '../../src/engine/state.js';

/**
 * The bridge's live step table says what the report says: a step that succeeded although its
 * gate did not pass (an unplanned switch's gate after the data-risk approval, or an override)
 * is "succeeded, gate UNVERIFIED", never a plain success.
 */
function step(state: StepView['state'], gate?: StepView['gate']): StepView {
  return {
    id: 'gate-ledger',
    title: 'ledger',
    owner: 'DBA',
    kind: 'check',
    needs: [],
    state,
    attempts: 1,
    gate,
  };
}
const cell = (row: string): string => /<td class="state[^"]*">([^<]*)<\/td>/.exec(row)![1]!;

describe('bridge step row: a gate that did not pass', () => {
  it('succeeded with an unverified or different gate is marked, with the gate status on the row', () => {
    for (const status of ['unverified', 'different', 'error'] as const) {
      const row = stepRow(step('succeeded', { ok: false, status, summary: 'Main unreachable' }), new Map());
      expect(cell(row)).toBe(`succeeded, gate ${status.toUpperCase()}`);
      expect(row).toContain(`data-gate="${status}"`);
      expect(row).toContain('gate-not-passed');
    }
  });

  it('a passed gate, no gate, or a step that did not succeed shows its plain state', () => {
    expect(
      cell(stepRow(step('succeeded', { ok: true, status: 'consistent', summary: 'ok' }), new Map())),
    ).toBe('succeeded');
    expect(cell(stepRow(step('succeeded'), new Map()))).toBe('succeeded');
    const failed = stepRow(step('failed', { ok: false, status: 'different', summary: '3 rows' }), new Map());
    expect(cell(failed)).toBe('failed');
    expect(failed).not.toContain('gate-not-passed');
  });
});
