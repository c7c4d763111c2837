import { userInfo } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal } from '../../src/journal/journal.js';
import { listRunDirs, runCli, spawnCli, writeRunbook, type CliResult } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;

beforeAll(() => {
  dir = makeTempDir('harden-approvals');
});
afterAll(() => removeDir(dir));

/** N manual gates waiting at once, each followed by a step that leaves a marker file. */
function gatesRunbook(name: string, n: number, out: string, hold = false): string {
  const steps: Record<string, unknown>[] = hold
    ? [{ id: 'hold', owner: 'SRE', manual: 'keep the run open' }]
    : [];
  for (let i = 0; i < n; i++) {
    steps.push({ id: `gate-${i}`, owner: 'QA', manual: `confirm case ${i}`, onFailure: 'continue' });
    steps.push({
      id: `after-${i}`,
      owner: 'SRE',
      needs: [`gate-${i}`],
      run: ['sh', '-c', `echo after-${i} >> ${out}`],
    });
  }
  return writeRunbook(dir, name, {
    environment: `${name}-env`,
    roles: { SRE: { members: [userInfo().username] }, QA: { members: ['alice', 'bob', 'carol'] } },
    steps,
  });
}

async function waitForApprovals(runs: string, n: number): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const id = listRunDirs(runs)[0];
    if (id && existsSync(join(runs, id, 'journal.jsonl'))) {
      const events = readJournal(join(runs, id, 'journal.jsonl')).events;
      if (events.filter((e) => e.type === 'approval-requested').length === n) return id;
    }
    await sleep(100);
  }
  throw new Error('the gates never asked for approval');
}

type Decision = Extract<JournalEvent, { type: 'approval' | 'approval-refused' }>;

describe('approvals from several terminals at once', () => {
  it(
    'a simultaneous approve and reject: both journaled, each command reports its own fate, the first wins',
    { timeout: 240_000 },
    async () => {
      const N = 6;
      const rounds = 2; // 12 races in all
      let journaledRefusals = 0;
      for (let round = 0; round < rounds; round++) {
        const runs = join(dir, `race-${round}`);
        const out = join(dir, `race-${round}.out`);
        const file = gatesRunbook(`race-${round}`, N, out);
        const switching = spawnCli(['switch', file, '--yes', '--runs-dir', runs]);
        const runId = await waitForApprovals(runs, N);
        const calls = [];
        for (let i = 0; i < N; i++) {
          const base = ['latest', `gate-${i}`, '--runs-dir', runs];
          // Alternate who starts first so either order is exercised.
          const a = runCli(['approve', ...base, '--as', 'alice']);
          const r = runCli(['reject', ...base, '--as', 'carol', '--comment', 'NO']);
          calls.push(i % 2 === 0 ? [a, r] : [r, a]);
        }
        const results = await Promise.all(calls.map((pair) => Promise.all(pair)));
        const done = await switching;
        const events = readJournal(join(runs, runId, 'journal.jsonl')).events;
        const ran = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : [];
        for (let i = 0; i < N; i++) {
          const step = `gate-${i}`;
          const decisions = events.filter(
            (e): e is JournalEvent & Decision =>
              (e.type === 'approval' || e.type === 'approval-refused') && e.step === step,
          );
          // Every submitted decision is in the journal exactly once: one decides; the other is
          // journaled as refused, or (when it read the journal after the winner was recorded)
          // refused before submitting, naming the decision that stands.
          const winner = decisions.find((d) => d.type === 'approval')!;
          expect(winner, step).toBeDefined();
          expect(
            decisions.filter((d) => d.type === 'approval'),
            step,
          ).toHaveLength(1);
          const [approveRes, rejectRes] = (i % 2 === 0 ? results[i]! : [results[i]![1], results[i]![0]]) as [
            CliResult,
            CliResult,
          ];
          const mine = winner.decision === 'approved' ? approveRes : rejectRes;
          const theirs = winner.decision === 'approved' ? rejectRes : approveRes;
          expect(mine.exitCode, mine.stderr).toBe(0);
          expect(mine.stdout).toMatch(new RegExp(`${step} ${winner.decision} by ${winner.by}: recorded`));
          expect(theirs.exitCode, `${step} ${JSON.stringify(theirs)} ${JSON.stringify(decisions)}`).toBe(2);
          expect(theirs.stdout).not.toMatch(/recorded/);
          expect(theirs.stderr).toMatch(
            new RegExp(`already ${winner.decision} by ${winner.by}.*first decision stands`),
          );
          const loser = decisions.find((d) => d.type === 'approval-refused');
          if (loser !== undefined) {
            journaledRefusals += 1;
            expect(decisions, step).toHaveLength(2);
            expect(loser.reason).toMatch(
              /already (approved|rejected) by (alice|carol).*first decision stands/,
            );
            expect(theirs.stderr).toMatch(/was not taken/);
            // Deterministic: the request submitted first (lower inbox number) decides.
            expect(Number(winner.request) < Number(loser.request), step).toBe(true);
          } else {
            expect(decisions, step).toHaveLength(1);
          }
          // The decision that won is the one that acted.
          expect(ran.includes(`after-${i}`), step).toBe(winner.decision === 'approved');
        }
        const rejected = events.filter((e) => e.type === 'approval' && e.decision === 'rejected').length;
        expect(done.exitCode).toBe(rejected > 0 ? 1 : 0);
      }
      // The interesting case (both submitted before either was recorded) must actually happen.
      expect(journaledRefusals).toBeGreaterThan(0);
    },
  );

  it('a simultaneous double approve keeps both approvers', { timeout: 180_000 }, async () => {
    const N = 5;
    const runs = join(dir, 'double');
    const out = join(dir, 'double.out');
    const file = gatesRunbook('double', N, out, true);
    const switching = spawnCli(['switch', file, '--yes', '--runs-dir', runs]);
    const runId = await waitForApprovals(runs, N + 1);
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        Promise.all(
          ['alice', 'bob'].map((who) =>
            runCli(['approve', 'latest', `gate-${i}`, '--as', who, '--runs-dir', runs]),
          ),
        ),
      ),
    );
    const held = await runCli(['approve', 'latest', 'hold', '--runs-dir', runs]);
    expect(held.exitCode, held.stderr).toBe(0);
    const done = await switching;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    const events = readJournal(join(runs, runId, 'journal.jsonl')).events;
    for (let i = 0; i < N; i++) {
      const approvals = events.filter((e) => e.type === 'approval' && e.step === `gate-${i}`);
      expect(approvals.map((e) => e.type === 'approval' && e.by).sort()).toEqual(['alice', 'bob']);
      expect(approvals.filter((e) => e.type === 'approval' && e.concurring)).toHaveLength(1);
      for (const r of results[i]!) {
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/recorded/);
      }
    }
    expect(readFileSync(out, 'utf8').trim().split('\n').sort()).toHaveLength(N);
    const report = await runCli(['report', runId, '--format', 'json', '--runs-dir', runs]);
    expect(report.exitCode, report.stderr).toBe(0);
    expect(report.stdout).toContain('"bob"');
    expect(report.stdout).toContain('"alice"');
  });
});
