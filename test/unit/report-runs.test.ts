import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { createRunDir, listRuns, makeRunId, resolveRun, resolveRunsDir } from '../../src/journal/runs.js';
import { makeTempDir, removeDir } from '../harness/process.js';

const tmp = makeTempDir('runs');
afterAll(() => removeDir(tmp));

function addRun(runsDir: string, id: string): void {
  createRunDir(runsDir, id);
  writeFileSync(join(runsDir, id, 'journal.jsonl'), '');
}

describe('resolveRunsDir', () => {
  it('prefers --runs-dir, then DRCTL_HOME/runs, then .drctl/runs in the cwd', () => {
    expect(resolveRunsDir('x/runs', {}, '/w')).toBe('/w/x/runs');
    expect(resolveRunsDir(undefined, { DRCTL_HOME: '/h' }, '/w')).toBe('/h/runs');
    expect(resolveRunsDir(undefined, {}, '/w')).toBe('/w/.drctl/runs');
  });
});

describe('makeRunId', () => {
  it('sorts in time order', () => {
    const a = makeRunId(new Date('2026-11-22T01:59:59.999Z'));
    const b = makeRunId(new Date('2026-11-22T02:00:00.000Z'));
    const c = makeRunId(new Date('2026-11-22T10:00:00.000Z'));
    expect([c, a, b].sort()).toEqual([a, b, c]);
    expect(a).toMatch(/^20261122T015959999Z-[0-9a-f]{4}$/);
  });
});

describe('resolveRun', () => {
  const runsDir = join(tmp, 'runs');
  addRun(runsDir, '20261120T010000000Z-aaaa');
  addRun(runsDir, '20261121T010000000Z-bbbb');
  addRun(runsDir, '20261121T020000000Z-cccc');
  mkdirSync(join(runsDir, 'no-journal'), { recursive: true });

  it('lists only directories with a journal, oldest first', () => {
    expect(listRuns(runsDir).map((r) => r.id)).toEqual([
      '20261120T010000000Z-aaaa',
      '20261121T010000000Z-bbbb',
      '20261121T020000000Z-cccc',
    ]);
  });

  it('resolves latest, exact ids, unique prefixes and paths', () => {
    expect(resolveRun(runsDir, 'latest').id).toBe('20261121T020000000Z-cccc');
    expect(resolveRun(runsDir, '20261121T010000000Z-bbbb').journalPath).toBe(
      join(runsDir, '20261121T010000000Z-bbbb', 'journal.jsonl'),
    );
    expect(resolveRun(runsDir, '20261120').id).toBe('20261120T010000000Z-aaaa');
    expect(resolveRun(runsDir, join(runsDir, '20261120T010000000Z-aaaa')).id).toBe(
      '20261120T010000000Z-aaaa',
    );
    expect(resolveRun('/nonexistent', join(runsDir, '20261120T010000000Z-aaaa', 'journal.jsonl')).id).toBe(
      '20261120T010000000Z-aaaa',
    );
  });

  it('throws UsageError with a hint naming recent runs for an unknown or ambiguous id', () => {
    const unknown = (): unknown => resolveRun(runsDir, 'nope');
    expect(unknown).toThrow(UsageError);
    expect(unknown).toThrow(/unknown run "nope"/);
    try {
      resolveRun(runsDir, 'nope');
    } catch (err) {
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as UsageError).hint).toContain('20261121T020000000Z-cccc');
    }
    expect(() => resolveRun(runsDir, '20261121')).toThrow(/ambiguous/);
    expect(() => resolveRun(join(tmp, 'empty'), 'latest')).toThrow(/no runs found/);
  });
});
