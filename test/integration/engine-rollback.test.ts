import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { execRunbook, type ExecRun } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep, runAction, shellAction } from '../fixtures/engine-runbook.js';
import { makeTempDir } from '../harness/process.js';

/** Rollback with real processes: a failed undo does not hide the others, and timeouts bound it. */
const finished = (run: ExecRun, id: string) =>
  run.events.find(
    (e): e is Extract<JournalEvent, { type: 'step-finished' }> => e.type === 'step-finished' && e.step === id,
  );
const rollbackFinished = (run: ExecRun) =>
  run.events.find(
    (e): e is Extract<JournalEvent, { type: 'rollback-finished' }> => e.type === 'rollback-finished',
  );

describe('rollback', () => {
  it('a wait rollback runs (it is not cut by the stop), and a failed rollback step does not stop the others', async () => {
    const dir = makeTempDir('engine-rollback-chain');
    const touch = (name: string) => shellAction(`touch ${join(dir, name)}`);
    const rb = makeRunbook([
      makeStep('a', touch('a-done'), { rollback: { action: touch('a-undone') } }),
      makeStep('b', touch('b-done'), {
        needs: ['a'],
        rollback: {
          action: {
            kind: 'wait',
            until: {
              kind: 'run',
              argv: ['test', '-f', join(dir, 'b-done')],
              command: undefined,
              shell: false,
            },
            intervalMs: 50,
          },
          timeoutMs: 5_000,
        },
      }),
      makeStep('c', touch('c-done'), { needs: ['b'], rollback: { action: shellAction('exit 3') } }),
      makeStep('d', shellAction('exit 1'), { needs: ['c'], onFailure: 'rollback' }),
    ]);
    const run = await execRunbook(rb, { dir });
    expect(finished(run, 'rollback/c')?.status).toBe('failed');
    expect(finished(run, 'rollback/b')?.status).toBe('succeeded');
    expect(finished(run, 'rollback/a')?.status).toBe('succeeded');
    expect(existsSync(join(dir, 'a-undone'))).toBe(true);
    expect(rollbackFinished(run)).toMatchObject({
      status: 'failed',
      undone: ['b', 'a'],
      failed: ['c'],
      notRun: [],
    });
    const end = run.events.at(-1)!;
    expect(end.type === 'run-finished' && end.error).toMatch(/NOT undone c \(rollback failed\); undone b, a/);
  });

  it('rollback steps get defaults.timeout', async () => {
    const dir = makeTempDir('engine-rollback-timeout');
    const file = join(dir, 'rb.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: drctl/v1',
        'kind: Runbook',
        'name: rollback-timeout',
        'roles: { SRE: {} }',
        'defaults: { timeout: 1s }',
        'steps:',
        '  - { id: a, owner: SRE, run: ["true"], rollback: { run: [sleep, "8"] } }',
        '  - { id: b, owner: SRE, needs: [a], run: ["false"], onFailure: rollback }',
      ].join('\n'),
    );
    const runbook = loadRunbook(file);
    expect(runbook.steps[0]!.rollback?.timeoutMs).toBe(1_000);
    const t0 = Date.now();
    const run = await execRunbook(runbook, { dir });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(finished(run, 'rollback/a')).toMatchObject({ status: 'failed' });
    expect(finished(run, 'rollback/a')?.error).toMatch(/timed out after 1/);
  });

  it('a run timeout stops the running step and still rolls back what completed', async () => {
    const dir = makeTempDir('engine-rollback-runtimeout');
    const rb = makeRunbook(
      [
        makeStep('a', shellAction(`touch ${join(dir, 'a-done')}`), {
          rollback: { action: shellAction(`touch ${join(dir, 'a-undone')}`) },
        }),
        makeStep('b', runAction(['sleep', '30']), { needs: ['a'], onFailure: 'rollback' }),
      ],
      { timeoutMs: 1_000 },
    );
    const t0 = Date.now();
    const run = await execRunbook(rb, { dir });
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(run.result.status).toBe('aborted');
    expect(finished(run, 'b')?.status).toBe('failed');
    expect(finished(run, 'rollback/a')?.status).toBe('succeeded');
    expect(existsSync(join(dir, 'a-undone'))).toBe(true);
  });
});
