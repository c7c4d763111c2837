import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal, verifyChain } from '../../src/journal/journal.js';
import { makeTempDir } from '../harness/process.js';
import { drctl } from './cli-helpers.js';

/**
 * `drctl resume` of a run started with `drctl switch --unplanned`: the mode comes back from the
 * journal's run-started event, so a step that is skipped or replaced in an unplanned switch stays
 * skipped or replaced after a crash, without the operator repeating the flag.
 */
function runbook(dir: string): string {
  const file = join(dir, 'rb.yaml');
  // Each step appends its name to trail.txt: the trail shows exactly what ran, in which form.
  const mark = (what: string) => `[sh, -c, 'echo ${what} >> ${join(dir, 'trail.txt')}']`;
  writeFileSync(
    file,
    `apiVersion: drctl/v1
kind: Runbook
name: unplanned-resume
roles: { ops: null }
steps:
  - { id: declare, owner: ops, run: ${mark('declare')} }
  - id: stop-traffic-on-main
    owner: ops
    needs: [declare]
    run: ${mark('stop-traffic-on-main')}
    unplanned: skip
  - id: replicate-back
    owner: ops
    needs: [stop-traffic-on-main]
    run: ${mark('replicate-back-planned')}
    unplanned: { replace: { run: ${mark('replicate-back-replaced')} } }
  - { id: open-traffic, owner: ops, needs: [replicate-back], run: ${mark('open-traffic')} }
`,
  );
  return file;
}

function events(runsDir: string): { id: string; events: JournalEvent[] } {
  const [id] = readdirSync(runsDir).filter((d) => existsSync(join(runsDir, d, 'journal.jsonl')));
  const j = readJournal(join(runsDir, id!, 'journal.jsonl'));
  expect(verifyChain(j).ok).toBe(true);
  return { id: id!, events: j.events };
}

describe('drctl resume of an unplanned switch', () => {
  it('keeps the unplanned variants after a kill -9 mid-run: skipped stays skipped, replaced stays replaced', async () => {
    const dir = makeTempDir('unplanned-resume');
    const file = runbook(dir);
    const runsDir = join(dir, 'runs');
    const env = { DRCTL_HOME: join(dir, 'home'), DRCTL_FAILPOINT: 'exit-after:declare', VITEST: '1' };
    const first = await drctl(['switch', file, '--unplanned', '--yes', '--runs-dir', runsDir], { env });
    expect(first.code, first.stdout + first.stderr).not.toBe(0);
    const before = events(runsDir);
    expect(before.events[0]).toMatchObject({ type: 'run-started', unplanned: true });
    expect(before.events.some((e) => e.type === 'run-finished')).toBe(false);
    expect(readFileSync(join(dir, 'trail.txt'), 'utf8')).toBe('declare\n');

    const resumed = await drctl(['resume', before.id, '--yes', '--runs-dir', runsDir], {
      env: { DRCTL_HOME: join(dir, 'home') },
    });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resume run .*\(unplanned\)/);
    expect(readFileSync(join(dir, 'trail.txt'), 'utf8')).toBe(
      'declare\nreplicate-back-replaced\nopen-traffic\n',
    );
    const after = events(runsDir).events;
    expect(after.find((e) => e.type === 'step-skipped' && e.step === 'stop-traffic-on-main')).toMatchObject({
      reason: expect.stringContaining('unplanned') as unknown,
    });
    expect(after.find((e) => e.type === 'run-finished')).toMatchObject({ status: 'succeeded' });
    // The report of the resumed run still says it was unplanned.
    const report = await drctl(['report', before.id, '--runs-dir', runsDir, '--format', 'json']);
    expect(report.code, report.stderr).toBe(0);
    expect((JSON.parse(report.stdout) as { run: { unplanned?: boolean } }).run.unplanned).toBe(true);
  }, 60_000);
});
