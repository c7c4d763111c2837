import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal, verifyChain } from '../../src/journal/journal.js';
import { runDemoIn } from './cli-helpers.js';

const runDemo = (args: string[]) => runDemoIn('demo', args);

function journals(dir: string): JournalEvent[][] {
  const runs = join(dir, 'drctl', 'runs');
  return readdirSync(runs)
    .filter((id) => existsSync(join(runs, id, 'journal.jsonl')))
    .sort()
    .map((id) => {
      const j = readJournal(join(runs, id, 'journal.jsonl'));
      expect(verifyChain(j).ok).toBe(true);
      return j.events;
    });
}

const finished = (events: JournalEvent[]) =>
  new Map(events.flatMap((e) => (e.type === 'step-finished' ? [[e.step, e.status] as const] : [])));
const gates = (events: JournalEvent[]) => events.flatMap((e) => (e.type === 'gate-result' ? [e] : []));

describe('npm run demo (real servers, the real CLI)', () => {
  it('switches the demo bank to DR and back with RPO = 0 proven by mysql, s3 and es gates', async () => {
    const { code, output, dir } = await runDemo([]);
    expect(code, output).toBe(0);
    const [over, back] = journals(dir);
    for (const [events, target] of [
      [over!, 'dr'],
      [back!, 'live'],
    ] as const) {
      const run = events.find((e) => e.type === 'run-finished');
      expect(run, output).toMatchObject({ status: 'succeeded' });
      const status = finished(events);
      for (const id of [
        'declare',
        'stop-traffic',
        'gate-core-banking',
        'gate-documents',
        'gate-search',
        'gate-config',
        'flip-mysql',
        'health-check',
        'qa-verify',
        'open-traffic',
        'business-verified',
      ]) {
        expect(status.get(id), `${id} in ${target} run`).toBe('succeeded');
      }
      expect(
        gates(events)
          .map((g) => [g.result.checker, g.result.status])
          .sort(),
      ).toEqual([
        ['es', 'consistent'],
        ['mysql', 'consistent'],
        ['redis', 'consistent'],
        ['s3', 'consistent'],
      ]);
      // The QA approval came through the bridge, from the demo's logged-in user qa.
      const approval = events.find((e) => e.type === 'approval');
      expect(approval).toMatchObject({
        step: 'qa-verify',
        decision: 'approved',
        by: 'qa',
        role: 'QA',
        via: 'bridge',
        address: '127.0.0.1',
      });
      expect(JSON.stringify(approval)).toContain('approved on the bridge');
    }
    // The bridge URL and where the login is were printed; the bridge is gone after the demo.
    const bridge =
      /bridge: (http:\/\/127\.0\.0\.1:\d+) +\(drctl serve, pid (\d+)\); log in as qa \(role QA\)[^\n]* in (\S+)/.exec(
        output,
      );
    expect(bridge, output).not.toBeNull();
    const [, url, pid, loginFile] = bridge!;
    expect(output).toMatch(/QA approval for qa-verify: given on the bridge as user qa/);
    expect(loginFile).toBe(join(dir, 'bridge-login.txt'));
    expect(statSync(loginFile!).mode & 0o777).toBe(0o600);
    const password = /^qa \(role QA\): (\S+)$/m.exec(readFileSync(loginFile!, 'utf8'))![1]!;
    expect(output, 'the QA password is in the file, not in the output').not.toContain(password);
    expect(() => process.kill(Number(pid), 0), `drctl serve (pid ${pid}) still runs`).toThrow(/ESRCH/);
    await expect(fetch(`${url}/login`)).rejects.toThrow();
    expect(output).toMatch(/drctl switch exited 0; app uses mysql=dr/);
    expect(output).toMatch(/drctl switch exited 0; app uses mysql=live/);
    // Secrets of the demo never reach the journal.
    for (const events of [over!, back!]) {
      const text = JSON.stringify(events);
      expect(text).not.toContain('demo-check-pw-91c2');
      expect(text).not.toContain('replpass');
      expect(text).not.toContain(password);
    }
    expect(existsSync(join(dir, 'report-switchover.html'))).toBe(true);
    expect(existsSync(join(dir, 'pids.json')), 'every process the demo started is stopped').toBe(false);
    expect(existsSync(join(dir, 'bridge.pid'))).toBe(false);
  }, 420_000);

  it('stops before promotion when a transaction never reached DR', async () => {
    const { code, output, dir } = await runDemo(['--data-loss', '--no-s3', '--no-es']);
    expect(code, output).toBe(0);
    const [run] = journals(dir);
    const status = finished(run!);
    expect(status.get('gate-core-banking')).toBe('failed');
    expect(status.has('promote-dr')).toBe(false);
    expect(run!.some((e) => e.type === 'step-started' && e.step === 'promote-dr')).toBe(false);
    const gate = gates(run!).find((g) => g.step === 'gate-core-banking');
    expect(gate!.result.status).toBe('different');
    expect(gate!.result.counts.missingTransactions).toBeGreaterThan(0);
    expect(gate!.result.findings.some((f) => f.kind.includes('gtid') || f.kind === 'missing')).toBe(true);
    expect(run!.find((e) => e.type === 'run-finished')).toMatchObject({ status: 'failed' });
    expect(output).toContain('as intended: the mysql gate found transactions missing on DR');
    expect(existsSync(join(dir, 'pids.json'))).toBe(false);
  }, 300_000);
});
