import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal, verifyChain } from '../../src/journal/journal.js';
import { removeDir } from '../harness/process.js';
import { drctl, runDemoIn } from './cli-helpers.js';

/**
 * `npm run demo -- --unplanned` on real servers (Main, DR and the remote-log MariaDB, Redis, the
 * bank app) through the built CLI: the DR link is cut, payments commit on Main only, Main is
 * SIGKILLed, `drctl switch --unplanned` promotes DR and blacklists exactly the accounts with
 * payments in transit; after Main's recovery `drctl reconcile` empties the blacklist.
 */
const runDemo = (args: string[]) => runDemoIn('demo-unplanned', args);

interface Summary {
  mainOnly: { account: number; amount: number; txn: string }[];
  affected: string[];
  amountInTransit: string;
  switchExit: number;
  runId: string;
  blacklistAfterSwitch: string[];
  onDr: { blacklistedRefused: boolean; otherServed: boolean };
  recovered: number;
  reconcileExit: number;
  blacklistAfterRecovery: string[];
  problems: string[];
}

const byNumber = (a: string, b: string) => Number(a) - Number(b);

describe('npm run demo -- --unplanned (real servers, the real CLI)', () => {
  it('fails over with Main killed, blacklists exactly the accounts in transit, and clears them after recovery', async () => {
    const { code, output, dir } = await runDemo(['--unplanned', '--no-s3', '--no-es']);
    try {
      expect(code, output).toBe(0);
      const summary = JSON.parse(readFileSync(join(dir, 'unplanned-summary.json'), 'utf8')) as Summary;
      expect(summary.problems, output).toEqual([]);
      // The accounts at risk are the ones whose payments the app confirmed on Main after the cut.
      expect(summary.mainOnly.length).toBeGreaterThan(1);
      expect(summary.mainOnly.every((p) => typeof p.txn === 'string')).toBe(true);
      const affected = [...new Set(summary.mainOnly.map((p) => String(p.account)))].sort(byNumber);
      const total = summary.mainOnly.reduce((s, p) => s + Math.round(p.amount * 100), 0);
      const amount = `${Math.floor(total / 100)}.${String(total % 100).padStart(2, '0')}`;
      expect(summary.blacklistAfterSwitch).toEqual(affected);
      expect(summary.onDr).toEqual({ blacklistedRefused: true, otherServed: true });
      expect(summary.recovered).toBe(summary.mainOnly.length);
      expect(summary.reconcileExit).toBe(0);
      expect(summary.blacklistAfterRecovery).toEqual([]);

      const runs = join(dir, 'drctl', 'runs');
      const [runId] = readdirSync(runs).filter((d) => existsSync(join(runs, d, 'journal.jsonl')));
      expect(runId).toBe(summary.runId);
      const journal = readJournal(join(runs, runId!, 'journal.jsonl'));
      expect(verifyChain(journal).ok).toBe(true);
      const events = journal.events;
      const of = <T extends JournalEvent['type']>(t: T) =>
        events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === t);
      const [started] = of('run-started');
      // The unplanned preflight ran: Main's link being down is a warning there, not a fail.
      expect(started).toMatchObject({ unplanned: true, preflight: { status: 'warnings' } });
      const problems = (
        started as { preflight?: { problems?: { status: string; item: string; message: string }[] } }
      ).preflight?.problems;
      expect(problems?.every((p) => p.status === 'warning')).toBe(true);
      expect(
        problems?.some(
          (p) => p.item === 'replica replication' && /expected when Main is gone/.test(p.message),
        ),
      ).toBe(true);
      expect(started!.steps.find((s) => s.id === 'freeze-main')?.unplanned).toBe('skipped');
      expect(started!.steps.find((s) => s.id === 'replicate-back-to-main')?.unplanned).toBe('replaced');
      expect(started!.steps.find((s) => s.id === 'gate-core-banking')?.unplanned).toBe('replica-only-gate');
      expect(of('step-skipped').map((e) => [e.step, e.reason])).toEqual([
        ['freeze-main', 'unplanned: skipped (Main may be gone)'],
        ['drain-in-flight', 'unplanned: skipped (Main may be gone)'],
      ]);
      // The replica-only gate passed, the reconcile found the payments in transit: not a pass.
      const gate = of('gate-result').find((g) => g.step === 'gate-core-banking')!.result;
      const line = `RPO not proven: ${summary.mainOnly.length} transactions, amount ${amount} in transit, ${affected.length} accounts blacklisted`;
      expect(gate).toMatchObject({ checker: 'mysql (unplanned)', ok: false, status: 'unverified' });
      expect(gate.summary).toContain(line);
      expect(gate.evidence).toMatchObject({
        unplanned: true,
        replica: { ok: true, notApplied: [] },
        reconcile: [
          {
            resource: 'payments-log',
            totals: {
              transactions: summary.mainOnly.length,
              accounts: affected.length,
              missing: summary.mainOnly.length,
              amounts: { '': amount },
            },
          },
        ],
      });
      // Every blacklist change journaled as an effect of the gate: exactly the affected accounts.
      const added = of('step-effect')
        .filter((e) => e.step === 'gate-core-banking' && e.target.startsWith('blacklist redis'))
        .map((e) => /^add (\S+) to blacklist/.exec(e.detail ?? '')?.[1] ?? `?${e.detail}`)
        .sort(byNumber);
      expect(added).toEqual(affected);
      // The data-risk approval: asked of HEAD-OPS with the totals, given by its member.
      const asked = of('approval-requested').find((e) => e.step === 'gate-core-banking')!;
      expect(asked.role).toBe('HEAD-OPS');
      expect(asked.instructions).toContain(line);
      expect(of('approval').find((e) => e.step === 'gate-core-banking')).toMatchObject({
        decision: 'approved',
        by: 'demo-head-of-ops',
      });
      const finished = new Map(of('step-finished').map((e) => [e.step, e.status]));
      for (const id of [
        'gate-core-banking',
        'promote-dr',
        'replicate-back-to-main',
        'flip-mysql',
        'open-traffic',
      ])
        expect(finished.get(id), id).toBe('succeeded');
      expect(of('run-finished')[0]).toMatchObject({ status: 'succeeded' });
      const text = JSON.stringify(events);
      expect(text).not.toContain('demo-check-pw-91c2');
      expect(text).not.toContain('demo-app-pw-7f3a');

      // The report: the RPO section with the verdict and the blacklist.
      const report = await drctl(['report', runId!, '--runs-dir', runs]);
      expect(report.code, report.stderr).toBe(0);
      expect(report.stdout).toContain('[UNPLANNED]');
      expect(report.stdout).toContain(line.replace('RPO not proven', 'RPO NOT PROVEN'));
      expect(report.stdout).toMatch(
        new RegExp(
          `blacklist redis 127\\.0\\.0\\.1:\\d+#bcf\\.blacklist\\.accounts \\(payments-log\\): ${affected.length} accounts`,
        ),
      );
      for (const a of affected)
        expect(report.stdout).toMatch(new RegExp(`^ {6}${a} {2}\\d+ transactions?`, 'm'));
      const html = readFileSync(join(dir, 'report-unplanned.html'), 'utf8');
      expect(html).toContain(
        `<div class="banner bad rpo">${line.replace('RPO not proven', 'RPO NOT PROVEN')}</div>`,
      );
      expect(html).toContain('<span class="badge unverified">UNVERIFIED</span>');
      expect(output).toContain('unplanned demo finished');
      expect(existsSync(join(dir, 'pids.json')), 'every process the demo started is stopped').toBe(false);
    } finally {
      removeDir(dir);
    }
  }, 180_000);
});
