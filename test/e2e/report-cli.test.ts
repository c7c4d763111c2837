import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../harness/process.js';
import { writeFailedRun, writeResumedRun, writeSuccessfulRun } from '../fixtures/report-journals.js';
import { BIN, ROOT, drctl } from './cli-helpers.js';

let home: string;
let runs: string;
const OK = '20261121T160000000Z-aaaa';
const FAILED = '20261121T170000000Z-bbbb';
const RESUMED = '20261121T180000000Z-cccc';
const TAMPERED = '20261121T190000000Z-tttt';

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/src/cli/main.js')))
    throw new Error(`${BIN} needs a build: run npm run build first`);
  home = makeTempDir('report-e2e');
  runs = join(home, 'runs');
  writeSuccessfulRun(runs, OK);
  writeFailedRun(runs, FAILED);
  writeResumedRun(runs, RESUMED);
  const t = writeSuccessfulRun(runs, TAMPERED);
  const lines = readFileSync(t.journalPath, 'utf8').split('\n');
  // Line 10 is the gate result of verify-docs: someone "fixes" the target object count.
  const edited = lines[9]!.replace('"objectsTarget":48210', '"objectsTarget":48209');
  if (edited === lines[9]) throw new Error('tamper target not found');
  lines[9] = edited;
  writeFileSync(t.journalPath, lines.join('\n'));
});
afterAll(() => removeDir(home));

const env = () => ({ DRCTL_HOME: home });

describe('drctl report', () => {
  it('prints the console summary of the latest run (DRCTL_HOME) and exits 0', async () => {
    const r = await drctl(['report', OK], { env: env() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Run ${OK} — id-bank-switchover (switchover)`);
    expect(r.stdout).toContain('technical  MET');
    expect(r.stdout).toContain('compliance MISSED');
  });

  it('writes every format to a file with -o', async () => {
    for (const format of ['html', 'md', 'csv', 'json']) {
      const out = join(home, `report.${format}`);
      const r = await drctl(['report', RESUMED, '--format', format, '-o', out, '--runs-dir', runs]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`wrote ${format} report to ${out}`);
      expect(r.stdout).toBe('');
      const text = readFileSync(out, 'utf8');
      expect(text).toContain('stop-traffic');
    }
    const json = JSON.parse(readFileSync(join(home, 'report.json'), 'utf8')) as {
      run: { resumes: unknown[] };
    };
    expect(json.run.resumes).toHaveLength(1);
  });

  it('reports a failed run with exit 0 (the report was produced) and its failure in it', async () => {
    const r = await drctl(['report', FAILED, '--format', 'md'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('**failed**: step verify-core failed');
    expect(r.stdout).toContain('### verify-core — mysql: DIFFERENT');
  });

  it('unknown run id: exit 2, a clear message and the recent runs as a hint', async () => {
    const r = await drctl(['report', 'no-such-run'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: unknown run "no-such-run" under ${runs}`);
    expect(r.stderr).toContain(`hint: use "latest" or one of the recent runs: ${TAMPERED}`);
    expect(r.stderr).not.toContain('at ');
  });

  it('unknown format: exit 2 with the list of formats', async () => {
    const r = await drctl(['report', 'latest', '--format', 'pdf'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: unknown report format "pdf"');
    expect(r.stderr).toContain('hint: use one of: console, json, md, csv, html');
  });

  it('no runs at all: exit 2 with where it looked', async () => {
    const r = await drctl(['report', 'latest'], { env: { DRCTL_HOME: join(home, 'empty') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no runs found under');
  });

  it('a broken hash chain is refused (exit 2); with --force it reports, marked NOT VERIFIED, exit 1', async () => {
    const refused = await drctl(['report', TAMPERED], { env: env() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is not intact at event 10.*refusing to act on it[\s\S]*drctl verify/);
    const r = await drctl(['report', TAMPERED, '--force'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('integrity  NOT VERIFIED: hash chain breaks at event 10, line 11');
    expect(r.stdout).toContain('Steps (8)');
    expect(r.stderr).toContain('warning: the journal hash chain did NOT verify');
  });

  it('compares two runs', async () => {
    const r = await drctl(['report', '--compare', OK, RESUMED, '--format', 'csv'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rto,technical,,met,1200,met,960,-240\r\n');
    expect(r.stdout).toContain('step,stop-traffic,cutover,succeeded,240,succeeded,540,300\r\n');
    const bad = await drctl(['report', '--compare', OK], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--compare needs exactly two runs, got 1');
  });
});

describe('drctl verify', () => {
  it('exit 0 when the chain is intact', async () => {
    const r = await drctl(['verify', OK], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`run ${OK}: hash chain intact (24 events)\n`);
  });

  it('exit 1 when broken, naming the event, the line and why', async () => {
    const r = await drctl(['verify', TAMPERED], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`run ${TAMPERED}: hash chain BROKEN`);
    expect(r.stdout).toContain(`at event 10, line 11 of ${join(runs, TAMPERED, 'journal.jsonl')}`);
    expect(r.stdout).toContain('why: prev hash does not match the event before it (event 9 was altered)');
    const json = await drctl(['verify', TAMPERED, '--json'], { env: env() });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: false, breakAt: { seq: 10, line: 11 } });
  });

  it('exit 2 for an unknown run', async () => {
    const r = await drctl(['verify', 'nope'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: unknown run "nope"');
  });
});
