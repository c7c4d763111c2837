import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalStepInfo } from '../../src/journal/events.js';
import { createRunDir, type RunLocation } from '../../src/journal/runs.js';
import {
  compareReports,
  loadReportModel,
  renderCompare,
  renderReport,
  type CompareModel,
  type ReportModel,
} from '../../src/report/index.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import {
  JournalScript,
  MIN,
  PLAN,
  SEC,
  gateResult,
  runStarted,
  writeSuccessfulRun,
} from '../fixtures/report-journals.js';

/**
 * The report of a `drctl switch --unplanned` run and its comparison with a planned one: the mode
 * of each run, the RPO verdict (proven / not proven with the funds in transit), the blacklist, the
 * steps that were skipped or replaced, and an unverified gate never shown as a pass.
 */
const UNPLANNED_ID = '20261122T030000000Z-eeee';
const ACCOUNTS = [
  { account: '7', transactions: 2, amounts: { '': '349.99' } },
  { account: '23', transactions: 1, amounts: { '': '1200.50' } },
  { account: '58', transactions: 1, amounts: { '': '75.25' } },
];
const TARGET = 'redis 127.0.0.1:6379#bcf.blacklist.accounts';

/** The same plan run unplanned: stop-traffic skipped, verify-core a replica-only gate, switch-redis replaced. */
function writeUnplannedRun(runsDir: string): RunLocation {
  const steps: JournalStepInfo[] = PLAN.map((s) =>
    s.id === 'stop-traffic'
      ? { ...s, unplanned: 'skipped' }
      : s.id === 'verify-core'
        ? {
            ...s,
            title: `${s.title} [unplanned: replica-only gate + reconcile]`,
            unplanned: 'replica-only-gate',
          }
        : s.id === 'switch-redis'
          ? { ...s, title: `${s.title} [unplanned: replaced]`, unplanned: 'replaced' }
          : s,
  );
  const s = new JournalScript(createRunDir(runsDir, UNPLANNED_ID));
  const started = runStarted(UNPLANNED_ID, { steps });
  if (started.type !== 'run-started') throw new Error('runStarted gave another event');
  s.emit(0, { ...started, unplanned: true });
  s.step('declare', 0, 1 * MIN);
  s.emit(1 * MIN, {
    type: 'step-skipped',
    step: 'stop-traffic',
    reason: 'unplanned: skipped (Main may be gone)',
  });
  s.step('verify-docs', 1 * MIN, 3 * MIN);
  s.emit(1 * MIN, { type: 'step-started', step: 'verify-core', attempt: 1 });
  s.emit(2 * MIN, {
    type: 'gate-result',
    step: 'verify-core',
    result: gateResult('unverified', 2 * MIN, {
      checker: 'mysql (unplanned)',
      ok: false,
      summary:
        'RPO not proven: 4 transactions, amount 1625.74 in transit, 3 accounts blacklisted (DR replica applied everything it received)',
      counts: { notApplied: 0, transactionsInTransit: 4, accountsInTransit: 3 },
      findings: [],
      evidence: {
        unplanned: true,
        replica: { ok: true, notApplied: [] },
        reconcile: [
          {
            resource: 'payments-log',
            status: 'in-transit',
            totals: { transactions: 4, accounts: 3, amounts: { '': '1625.74' } },
            accounts: ACCOUNTS,
            blacklists: [{ target: TARGET, size: 3, changes: 3 }],
          },
        ],
        rpo: 'RPO not proven: 4 transactions, amount 1625.74 in transit, 3 accounts blacklisted',
      },
    }),
  });
  s.emit(2 * MIN, {
    type: 'approval-requested',
    step: 'verify-core',
    role: 'HEAD-OPS',
    instructions: 'accept',
  });
  s.emit(4 * MIN, {
    type: 'approval',
    step: 'verify-core',
    decision: 'approved',
    by: 'head.ops',
    comment: 'data risk accepted',
    via: 'cli',
  });
  s.emit(4 * MIN, {
    type: 'step-finished',
    step: 'verify-core',
    status: 'succeeded',
    durationMs: 3 * MIN,
    attempts: 1,
  });
  s.step('switch-redis', 4 * MIN, 4 * MIN + 10 * SEC);
  s.step('switch-mysql', 4 * MIN, 5 * MIN);
  s.step('open-traffic', 5 * MIN, 6 * MIN);
  s.step('business-verified', 6 * MIN, 10 * MIN);
  s.emit(10 * MIN, { type: 'run-finished', status: 'succeeded', durationMs: 10 * MIN });
  return s.close();
}

let tmp: string;
let planned: ReportModel;
let unplanned: ReportModel;
let c: CompareModel;
beforeAll(() => {
  tmp = makeTempDir('report-unplanned');
  planned = loadReportModel(writeSuccessfulRun(`${tmp}/runs`));
  unplanned = loadReportModel(writeUnplannedRun(`${tmp}/runs`));
  c = compareReports(planned, unplanned);
});
afterAll(() => removeDir(tmp));

const NOT_PROVEN = 'RPO not proven: 4 transactions, amount 1625.74 in transit, 3 accounts blacklisted';

describe('the report of an unplanned run', () => {
  it('says the mode, the RPO not proven with the funds in transit, and the blacklist', () => {
    expect(unplanned.run.unplanned).toBe(true);
    expect(planned.run.unplanned).toBe(false);
    expect(unplanned.rpo).toEqual({
      status: 'not-proven',
      line: NOT_PROVEN,
      inTransit: { transactions: 4, amounts: { '': '1625.74' }, accounts: 3, blacklisted: 3 },
      blacklists: [{ resource: 'payments-log', target: TARGET, size: 3, accounts: ACCOUNTS }],
    });
    expect(planned.rpo).toMatchObject({
      status: 'proven',
      line: 'RPO = 0 proven by 2 gates',
      blacklists: [],
    });
    expect(unplanned.steps.find((s) => s.id === 'stop-traffic')).toMatchObject({
      status: 'skipped',
      unplanned: 'skipped',
    });
    const text = renderReport(unplanned, 'console');
    expect(text).toContain('[UNPLANNED]');
    expect(text).toContain(
      'RPO NOT PROVEN: 4 transactions, amount 1625.74 in transit, 3 accounts blacklisted',
    );
    expect(text).toMatch(
      /blacklist redis 127\.0\.0\.1:6379#bcf\.blacklist\.accounts \(payments-log\): 3 accounts/,
    );
    expect(text).toMatch(/ 7 {2}2 transactions {2}349\.99/);
    const md = renderReport(unplanned, 'md');
    expect(md).toContain('**RPO NOT PROVEN: 4 transactions');
    expect(md).toMatch(/\| 23 +\| +1 \| +1200\.50 \|/);
  });

  it('renders the unverified gate and RPO not proven in HTML as a failure, never as a pass', () => {
    const html = renderReport(unplanned, 'html');
    expect(html).toContain(
      `<div class="banner bad rpo">RPO NOT PROVEN: 4 transactions, amount 1625.74 in transit, 3 accounts blacklisted</div>`,
    );
    expect(html).not.toContain('banner ok rpo');
    const gate = html.slice(
      html.indexOf('<div class="gate'),
      html.indexOf('</div>', html.indexOf('<div class="gate')),
    );
    expect(gate).toContain('<div class="gate unverified">');
    expect(gate).toContain('<span class="badge unverified">UNVERIFIED</span>');
    expect(gate).toContain('not a pass');
    expect(gate).not.toMatch(/badge (consistent|succeeded|met)/);
    // The blacklist, account by account.
    for (const a of ACCOUNTS) expect(html).toContain(`<span class="mono">${a.account}</span>`);
    expect(html).toContain('1200.50');
    expect(html).toMatch(/<h1>[^<]*<span class="badge [^"]*">UNPLANNED<\/span><\/h1>/);
    // A planned run that proved RPO = 0 reads as such.
    const ok = renderReport(planned, 'html');
    expect(ok).toContain('<div class="banner ok rpo">RPO = 0 proven by 2 gates</div>');
    expect(ok).not.toContain('not a pass');
  });
});

describe('the step table of a gate that went on without a pass', () => {
  it('shows the gate verdict beside "succeeded" in every format, and not for a passed gate', () => {
    const step = unplanned.steps.find((x) => x.id === 'verify-core')!;
    expect(step.status).toBe('succeeded');
    expect(step.gateNotPassed).toMatchObject({ status: 'unverified' });
    expect(step.notes[0]).toMatch(/^gate UNVERIFIED, not a pass: /);
    expect(planned.steps.find((x) => x.id === 'verify-core')!.gateNotPassed).toBeUndefined();
    const row = (text: string) =>
      text.split('\n').find((l) => l.includes('verify-core') && l.includes('succeeded'));
    expect(row(renderReport(unplanned, 'console'))).toContain('succeeded, gate UNVERIFIED');
    expect(row(renderReport(unplanned, 'md'))).toContain('succeeded, gate UNVERIFIED');
    expect(renderReport(unplanned, 'html')).toContain(
      '<span class="badge unverified">succeeded, gate UNVERIFIED</span>',
    );
    expect(row(renderReport(planned, 'console'))).not.toContain('gate');
    expect(renderReport(unplanned, 'csv')).toMatch(/gate UNVERIFIED, not a pass/);
  });
});

describe('report --compare of a planned and an unplanned run', () => {
  it('gives each run its mode and RPO verdict', () => {
    expect(c.a).toMatchObject({
      mode: 'planned',
      rpo: { status: 'proven', line: 'RPO = 0 proven by 2 gates' },
    });
    expect(c.b).toMatchObject({ mode: 'unplanned', rpo: { status: 'not-proven', line: NOT_PROVEN } });
    expect(
      c.warnings.some((w) => w.includes('run A was planned and run B unplanned') && w.includes(NOT_PROVEN)),
    ).toBe(true);
  });

  it('lists the steps skipped or replaced in the unplanned run, and only those', () => {
    expect(c.modeSteps).toEqual([
      { id: 'stop-traffic', title: 'Drain the Main gateway', a: 'as written', b: 'skipped (unplanned)' },
      {
        id: 'verify-core',
        title: 'Verify core-banking MySQL [unplanned: replica-only gate + reconcile]',
        a: 'as written',
        b: 'replica-only gate + reconcile (unplanned)',
      },
      {
        id: 'switch-redis',
        title: 'Flip bcf.resource.target.redis to dr [unplanned: replaced]',
        a: 'as written',
        b: 'replaced (unplanned)',
      },
    ]);
    // Swapping the runs swaps the columns.
    expect(compareReports(unplanned, planned).modeSteps.map((s) => [s.id, s.a, s.b])[0]).toEqual([
      'stop-traffic',
      'skipped (unplanned)',
      'as written',
    ]);
    // Two planned runs: nothing differs by mode, and no RPO warning.
    const same = compareReports(planned, planned);
    expect(same.modeSteps).toEqual([]);
    expect(same.warnings.some((w) => w.includes('unplanned'))).toBe(false);
  });

  it('shows mode, RPO and the mode-only steps in every format', () => {
    const console = renderCompare(c, 'console');
    expect(console).toMatch(/^A: .*, planned, succeeded; RPO = 0 proven by 2 gates$/m);
    expect(console).toMatch(
      /^B: .*, unplanned, succeeded; RPO NOT PROVEN: 4 transactions, amount 1625\.74 in transit, 3 accounts blacklisted$/m,
    );
    expect(console).toMatch(/stop-traffic +as written +skipped \(unplanned\)/);
    const md = renderCompare(c, 'md');
    expect(md).toContain('## Mode and RPO');
    expect(md).toMatch(/\| B +\| unplanned +\| RPO NOT PROVEN: 4 transactions/);
    expect(md).toMatch(/\| switch-redis +\| as written +\| replaced \(unplanned\) +\|/);
    const html = renderCompare(c, 'html');
    expect(html).toContain(
      '<td>RPO NOT PROVEN: 4 transactions, amount 1625.74 in transit, 3 accounts blacklisted</td>',
    );
    expect(html).toContain(
      '<td>verify-core</td><td>as written</td><td>replica-only gate + reconcile (unplanned)</td>',
    );
    const csv = renderCompare(c, 'csv');
    expect(csv).toContain(`rpo,b,unplanned,not-proven,,"${NOT_PROVEN}",,\r\n`);
    expect(csv).toMatch(/^mode,stop-traffic,,as written,,skipped \(unplanned\),,\r$/m);
    expect(JSON.parse(renderCompare(c, 'json'))).toMatchObject({
      b: { mode: 'unplanned' },
      modeSteps: c.modeSteps,
    });
  });
});
