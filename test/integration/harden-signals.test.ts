import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveGroupMembers } from '../../src/engine/step-process.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal } from '../../src/journal/journal.js';
import { listRunDirs, spawnCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;
beforeAll(() => {
  dir = makeTempDir('harden-signals');
});
afterAll(() => removeDir(dir));

async function runAndSignal(
  name: string,
  signals: NodeJS.Signals[],
): Promise<{ exitCode: number | undefined; events: JournalEvent[]; log: string }> {
  const runs = join(dir, name);
  const log = join(dir, `${name}.log`);
  const file = writeRunbook(dir, name, {
    environment: `${name}-env`,
    roles: { SRE: {} },
    steps: [
      { id: 'busy', owner: 'SRE', run: ['sh', '-c', `echo start >> ${log}; sleep 3; echo end >> ${log}`] },
      { id: 'next', owner: 'SRE', needs: ['busy'], run: ['sh', '-c', `echo next >> ${log}`] },
    ],
  });
  const child = spawnCli(['switch', file, '--yes', '--runs-dir', runs]);
  const deadline = Date.now() + 60_000;
  while (!(existsSync(log) && readFileSync(log, 'utf8').includes('start')) && Date.now() < deadline) {
    await sleep(50);
  }
  for (const s of signals) {
    child.kill(s);
    await sleep(300);
  }
  const r = await child;
  const events = readJournal(join(runs, listRunDirs(runs)[0]!, 'journal.jsonl')).events;
  return { exitCode: r.exitCode, events, log: readFileSync(log, 'utf8') };
}

describe('signals from outside: SIGHUP (dropped session) and SIGTERM', () => {
  for (const [sig, words] of [
    ['SIGHUP', 'session hung up (SIGHUP)'],
    ['SIGTERM', 'terminated (SIGTERM)'],
  ] as const) {
    it(`${sig}: journaled as "${words}", the running step ends cleanly, nothing new starts, exit 130`, async () => {
      const { exitCode, events, log } = await runAndSignal(sig.toLowerCase(), [sig]);
      expect(exitCode).toBe(130);
      const finished = events.at(-1)!;
      expect(finished).toMatchObject({ type: 'run-finished', status: 'interrupted', error: words });
      expect(JSON.stringify(events)).not.toMatch(/Ctrl-C/);
      expect(events.find((e) => e.type === 'step-finished' && e.step === 'busy')).toMatchObject({
        status: 'succeeded',
      });
      expect(log).toBe('start\nend\n');
    });
  }

  it('SIGHUP twice: the step process group is terminated and recorded, not orphaned', async () => {
    const { exitCode, events, log } = await runAndSignal('hup-twice', ['SIGHUP', 'SIGHUP']);
    expect(exitCode).toBe(130);
    expect(events.find((e) => e.type === 'step-finished' && e.step === 'busy')).toMatchObject({
      status: 'cancelled',
    });
    const proc = events.find((e) => e.type === 'step-process');
    expect(proc).toBeDefined();
    expect(liveGroupMembers(proc as Extract<JournalEvent, { type: 'step-process' }>)).toEqual([]);
    expect(log).toBe('start\n');
  });
});
