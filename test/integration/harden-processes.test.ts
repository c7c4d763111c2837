import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/journal/journal.js';
import { listRunDirs, runCli, spawnCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;

beforeAll(() => {
  dir = makeTempDir('harden-processes');
});
afterAll(() => removeDir(dir));

/**
 * A slow step that logs its start and end with its pid, then a step after it. The first copy
 * runs until `${log}.release` appears (at most `seconds`), so a loaded host cannot make it end
 * before the test has seen what resume does with it; a second copy takes 1 s.
 */
function slowRunbook(name: string, log: string, seconds: number): string {
  return writeRunbook(dir, name, {
    environment: `${name}-env`,
    roles: { SRE: {} },
    steps: [
      {
        id: 'slow',
        owner: 'SRE',
        run: [
          'sh',
          '-c',
          `echo "start $$" >> ${log}; if [ -e ${log}.first ]; then sleep 1; else touch ${log}.first; i=0; while [ ! -e ${log}.release ] && [ $i -lt ${seconds * 10} ]; do sleep 0.1; i=$((i+1)); done; fi; echo "end $$" >> ${log}`,
        ],
      },
      { id: 'after', owner: 'SRE', needs: ['slow'], run: ['sh', '-c', `echo after >> ${log}`] },
    ],
  });
}

/** Starts a switch and kill -9s drctl once the slow step's command has started. */
async function crashDuringSlowStep(runs: string, file: string, log: string): Promise<string> {
  const child = spawnCli(['switch', file, '--yes', '--runs-dir', runs]);
  const deadline = Date.now() + 60_000;
  while (!(existsSync(log) && readFileSync(log, 'utf8').includes('start')) && Date.now() < deadline) {
    await sleep(50);
  }
  child.kill('SIGKILL');
  await child;
  return join(runs, listRunDirs(runs)[0]!);
}

function logLines(log: string): string[] {
  return readFileSync(log, 'utf8').trim().split('\n');
}

describe('a step process that outlives drctl (kill -9)', () => {
  it(
    'is journaled with its pid and group; resume says it still runs and --retry-unknown waits: never two copies',
    { timeout: 120_000 },
    async () => {
      const runs = join(dir, 'wait');
      const log = join(dir, 'wait.log');
      const run = await crashDuringSlowStep(runs, slowRunbook('wait', log, 90), log);
      const ev = readJournal(join(run, 'journal.jsonl')).events.find((e) => e.type === 'step-process');
      expect(ev).toMatchObject({ type: 'step-process', step: 'slow', attempt: 1 });
      const refused = await runCli(['resume', run, '--yes']);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/step slow is still running: its process group \d+/);
      const resuming = spawnCli(['resume', run, '--yes', '--retry-unknown']);
      let said = '';
      resuming.stdout.on('data', (b: Buffer) => (said += b.toString()));
      const deadline = Date.now() + 60_000;
      while (!/slow: waiting for its process group \d+ to end/.test(said) && Date.now() < deadline) {
        await sleep(50);
      }
      // Resume waits on the old copy (nothing new started yet), until that copy ends.
      expect(said).toMatch(/slow: waiting for its process group \d+ to end/);
      expect(logLines(log).map((l) => l.split(' ')[0])).toEqual(['start']);
      writeFileSync(`${log}.release`, '');
      const resumed = await resuming;
      expect(resumed.exitCode, String(resumed.stderr)).toBe(0);
      const lines = logLines(log);
      // start A, end A, start B, end B: the second copy started after the first ended.
      expect(lines.map((l) => l.split(' ')[0])).toEqual(['start', 'end', 'start', 'end', 'after']);
      expect(lines[0]!.split(' ')[1]).toBe(lines[1]!.split(' ')[1]);
      expect(lines[2]!.split(' ')[1]).not.toBe(lines[0]!.split(' ')[1]);
    },
  );

  it('--retry-unknown --kill-running terminates the old copy first', { timeout: 120_000 }, async () => {
    const runs = join(dir, 'kill');
    const log = join(dir, 'kill.log');
    const run = await crashDuringSlowStep(runs, slowRunbook('kill', log, 90), log);
    const resumed = await runCli(['resume', run, '--yes', '--retry-unknown', '--kill-running']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/slow: terminating its process group/);
    const lines = logLines(log);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['start', 'start', 'end', 'after']);
    expect(lines[2]!.split(' ')[1]).toBe(lines[1]!.split(' ')[1]);
  });
});
