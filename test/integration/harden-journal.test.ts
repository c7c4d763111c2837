import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;
let runs: string;
let original: string;
let marker: string;

/** A copy of the recorded run, tampered with by `edit` (journal text → journal text). */
function tampered(name: string, edit: (text: string) => string): string {
  const copy = join(runs, name);
  cpSync(original, copy, { recursive: true });
  const path = join(copy, 'journal.jsonl');
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
  return copy;
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

beforeAll(async () => {
  dir = makeTempDir('harden-journal');
  runs = join(dir, 'runs');
  marker = join(dir, 'marker');
  const file = writeRunbook(dir, 'tamper', {
    environment: 'tamper-env',
    roles: { SRE: {} },
    steps: [
      { id: 'write-marker', owner: 'SRE', run: ['sh', '-c', `echo once >> ${marker}`] },
      { id: 'fails', owner: 'SRE', needs: ['write-marker'], run: ['false'] },
    ],
  });
  const r = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
  expect(r.exitCode, r.stderr).toBe(1);
  original = join(runs, listRunDirs(runs)[0]!);
}, 120_000);
afterAll(() => removeDir(dir));

describe('a tampered journal is detected and not acted on', () => {
  it('an intact journal verifies, anchored by its head', async () => {
    const v = await runCli(['verify', original]);
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/hash chain intact/);
    const json = await runCli(['verify', original, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: true, anchor: 'anchored' });
    const s = await runCli(['status', original]);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/status: failed/);
  });

  const cases: { name: string; edit: (t: string) => string; why: RegExp }[] = [
    {
      name: 'the last event edited (failed → succeeded)',
      edit: (t) => {
        const ls = lines(t);
        ls[ls.length - 1] = ls.at(-1)!.replace('"status":"failed"', '"status":"succeeded"');
        return ls.join('\n') + '\n';
      },
      why: /last\) was altered/,
    },
    {
      name: 'the last line deleted',
      edit: (t) => lines(t).slice(0, -1).join('\n') + '\n',
      why: /removed from the end/,
    },
    {
      name: 'the last two lines deleted',
      edit: (t) => lines(t).slice(0, -2).join('\n') + '\n',
      why: /removed from the end/,
    },
    {
      name: 'a forged unhashed line appended',
      edit: (t) =>
        t +
        JSON.stringify({ seq: lines(t).length, type: 'run-finished', status: 'succeeded', durationMs: 1 }) +
        '\n',
      why: /prev hash|expected seq|not written by drctl/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: verify says BROKEN; status and report refuse with exit 2`, async () => {
      const run = tampered(c.name.replace(/\W+/g, '-'), c.edit);
      const v = await runCli(['verify', run]);
      expect(v.exitCode).toBe(1);
      expect(v.stdout).toMatch(/hash chain BROKEN/);
      expect(v.stdout).toMatch(c.why);
      for (const args of [
        ['status', run],
        ['report', run],
        ['report', run, '--format', 'json'],
      ]) {
        const r = await runCli(args);
        expect(r.exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/is not intact.*refusing to act on it/);
        expect(r.stderr).toMatch(/drctl verify/);
        expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
        expect(r.stdout).not.toMatch(/succeeded/);
      }
      const forced = await runCli(['report', run, '--force']);
      // Marked NOT VERIFIED (exit 1), or refused when nothing sensible can be built (exit 2).
      expect([1, 2]).toContain(forced.exitCode);
      expect(forced.stderr).not.toMatch(/internal error|RangeError|\n\s+at /);
      expect(forced.stdout).not.toMatch(/NaN/);
      const st = await runCli(['status', run, '--force']);
      expect(st.exitCode, st.stderr).toBe(0);
      expect(st.stderr).toMatch(/does NOT verify/);
      expect(st.stdout).not.toMatch(/NaN/);
    });
  }

  it('a middle event edited: resume refuses and runs nothing again', async () => {
    const run = tampered('middle', (t) =>
      t.replace(/("step":"write-marker","status":)"succeeded"/, '$1"failed"'),
    );
    const r = await runCli(['resume', run, '--yes']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is not intact.*refusing to act on it[\s\S]*drctl verify/);
    expect(readFileSync(marker, 'utf8')).toBe('once\n');
    const approve = await runCli(['approve', run, 'fails']);
    expect(approve.exitCode).toBe(2);
    expect(approve.stderr).toMatch(/is not intact/);
  });
});
