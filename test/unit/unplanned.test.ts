import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
import { applyUnplanned } from '../../src/reconcile/unplanned.js';
import { loadErrors, loadOk, writeTree } from './runbook-helpers.js';

/** `drctl switch --unplanned` as a pure transform of the loaded runbook, and its schema. */
const RUNBOOK = (extra = '') => `apiVersion: drctl/v1
kind: Runbook
name: bank
${extra}
roles: { dba: null, ops: null, head: null }
resources:
  core: { kind: mysql, primary: 'mysql://u@main:3306', replica: 'mysql://u@dr:3306' }
  payments-log:
    kind: remote-log
    log: mysql://r@log:3306
    logTable: bank_log.remote_log
    ledger: mysql://r@dr:3306
    ledgerTable: bank.ledger
steps:
  - { id: stop-main, owner: ops, run: ['true'], unplanned: skip }
  - { id: fence, owner: ops, run: ['fence-main.sh'], unplanned: { replace: { run: ['fence-dr-side.sh'], timeout: 30s } } }
  - { id: gate, owner: dba, needs: [stop-main, fence], check: { kind: mysql, resource: core } }
  - { id: promote, owner: dba, needs: [gate], run: ['promote.sh'] }
`;

function load(extra = '') {
  const dir = writeTree({ 'rb.yaml': RUNBOOK(extra) });
  return loadOk(join(dir, 'rb.yaml'));
}

describe('applyUnplanned', () => {
  it('skips, replaces, and turns the MySQL gate into a replica-only gate + reconcile approved by the data-risk role', () => {
    const rb = applyUnplanned(load('dataRiskRole: head'));
    expect(rb.unplanned).toBe(true);
    const byId = new Map(rb.steps.map((s) => [s.id, s]));
    expect(byId.get('fence')!.action).toMatchObject({ kind: 'run', argv: ['fence-dr-side.sh'] });
    expect(byId.get('fence')!.timeoutMs).toBe(30_000);
    expect(byId.get('gate')!.unplannedGate).toEqual({ remoteLogs: ['payments-log'], approver: 'head' });
    expect(byId.get('gate')!.title).toContain('replica-only gate + reconcile');
    expect(byId.get('promote')!.unplannedGate).toBeUndefined();
    // The skipped step takes no time and does not hold its dependents back.
    expect(buildPlan(rb, {}).schedule.instant).toEqual(new Set(['stop-main']));
    // The planned runbook is untouched.
    expect(buildPlan(load('dataRiskRole: head'), {}).schedule.instant).toEqual(new Set());
  });

  it('refuses a MySQL gate without a data-risk role, or with an undeclared one (exit 2)', () => {
    expect(() => applyUnplanned(load())).toThrow(/names no dataRiskRole/);
    expect(() => applyUnplanned(load('dataRiskRole: cfo'))).toThrow(
      /dataRiskRole "cfo" is not a declared role/,
    );
  });

  it('reports a bad unplanned: value at its line', () => {
    const dir = writeTree({ 'rb.yaml': RUNBOOK().replace('unplanned: skip', 'unplanned: later') });
    const errors = loadErrors(join(dir, 'rb.yaml'));
    expect(errors.join('\n')).toMatch(/rb\.yaml:\d+:\d+ .*unplanned/);
  });
});
