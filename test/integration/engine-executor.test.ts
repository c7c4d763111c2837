import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { checkerKinds, loadChecker } from '../../checkers/index.js';
import { submitApproval } from '../../src/engine/approvals.js';
import { isProcessAlive } from '../../src/engine/lock.js';
import type { Executor } from '../../src/engine/executor.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { verifyChain, readJournal } from '../../src/journal/journal.js';
import { registerSecret } from '../../src/util/redact.js';
import { execRunbook, readText } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep, runAction, shellAction } from '../fixtures/engine-runbook.js';
import { makeTempDir } from '../harness/process.js';

const append = (file: string, text: string) => runAction(['sh', '-c', `echo ${text} >> ${file}`]);
const ofType = <T extends JournalEvent['type']>(events: JournalEvent[], type: T) =>
  events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === type);

describe('executor with real processes', () => {
  it('runs a DAG: needs first, independent steps in parallel, output kept in the run dir', async () => {
    const dir = makeTempDir('engine-dag');
    const out = join(dir, 'out.txt');
    const rb = makeRunbook([
      makeStep('start', append(out, 'start')),
      makeStep('left', shellAction(`sleep 0.4; echo left >> ${out}; echo left-stdout`), { needs: ['start'] }),
      makeStep('right', shellAction(`sleep 0.4; echo right >> ${out}`), { needs: ['start'] }),
      makeStep('end', append(out, 'end'), { needs: ['left', 'right'] }),
    ]);
    const t0 = Date.now();
    const run = await execRunbook(rb, { dir });
    expect(run.result.status).toBe('succeeded');
    expect(run.result.exitCode).toBe(0);
    const lines = readText(out).trim().split('\n');
    expect(lines[0]).toBe('start');
    expect(lines.slice(1, 3).sort()).toEqual(['left', 'right']);
    expect(lines[3]).toBe('end');
    expect(Date.now() - t0).toBeLessThan(1500); // left and right overlapped (0.4 s each)
    expect(readText(join(dir, 'steps', 'left.stdout.log'))).toContain('left-stdout');
    expect(verifyChain(readJournal(join(dir, 'journal.jsonl'))).ok).toBe(true);
  });

  it('honours a role concurrency limit', async () => {
    const dir = makeTempDir('engine-role');
    const out = join(dir, 'out.txt');
    const step = (id: string) =>
      makeStep(id, shellAction(`echo start-${id} >> ${out}; sleep 0.2; echo end-${id} >> ${out}`));
    const rb = makeRunbook([step('a'), step('b'), step('c')], { roles: { SRE: { concurrency: 1 } } });
    const run = await execRunbook(rb, { dir });
    expect(run.result.status).toBe('succeeded');
    const lines = readText(out).trim().split('\n');
    // Serial: every start is followed by its own end.
    for (let i = 0; i < lines.length; i += 2) expect(lines[i + 1]).toBe(lines[i]!.replace('start', 'end'));
  });

  it('retries with backoff and records each failed attempt', async () => {
    const dir = makeTempDir('engine-retry');
    const counter = join(dir, 'count');
    const rb = makeRunbook([
      makeStep('flaky', shellAction(`echo x >> ${counter}; [ $(wc -l < ${counter}) -ge 3 ]`), {
        retry: { count: 3, backoffMs: 50, factor: 2, maxMs: 1000 },
      }),
    ]);
    const run = await execRunbook(rb, { dir });
    expect(run.result.status).toBe('succeeded');
    const attempts = ofType(run.events, 'step-attempt');
    expect(attempts.map((a) => a.retryInMs)).toEqual([50, 100]);
    expect(ofType(run.events, 'step-finished')[0]!.attempts).toBe(3);
  });

  it('kills the whole process group on timeout and says what the exit code means', async () => {
    const dir = makeTempDir('engine-timeout');
    const pidFile = join(dir, 'bg.pid');
    const rb = makeRunbook([
      makeStep('hang', shellAction(`sleep 30 & echo $! > ${pidFile}; echo waiting >&2; wait`), {
        timeoutMs: 500,
      }),
    ]);
    const t0 = Date.now();
    const run = await execRunbook(rb, { dir });
    expect(Date.now() - t0).toBeLessThan(8000);
    const fin = ofType(run.events, 'step-finished')[0]!;
    expect(fin.status).toBe('failed');
    expect(fin.error).toMatch(/timed out after/);
    expect(fin.error).toMatch(/143|137/);
    expect(fin.outputTail).toContain('waiting');
    await sleep(200);
    expect(isProcessAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('shows "command not found" as exit 127', async () => {
    const run = await execRunbook(makeRunbook([makeStep('x', runAction(['/nonexistent/drctl-tool']))]));
    expect(ofType(run.events, 'step-finished')[0]!.error).toMatch(/command not found \(exit 127\)/);
  });

  it('onFailure continue: the rest runs, dependents of the failure do not, the run fails', async () => {
    const dir = makeTempDir('engine-continue');
    const out = join(dir, 'out.txt');
    const rb = makeRunbook([
      makeStep('bad', runAction(['false']), { onFailure: 'continue' }),
      makeStep('after-bad', append(out, 'after-bad'), { needs: ['bad'] }),
      makeStep('other', shellAction(`sleep 0.1; echo other >> ${out}`)),
    ]);
    const run = await execRunbook(rb, { dir });
    expect(run.result.status).toBe('failed');
    expect(run.result.exitCode).toBe(1);
    expect(readText(out)).toBe('other\n');
    expect(run.view.byId.get('after-bad')!.state).toBe('pending');
  });

  it('onFailure abort: nothing new starts after a failure', async () => {
    const dir = makeTempDir('engine-abort');
    const out = join(dir, 'out.txt');
    const rb = makeRunbook([
      makeStep('bad', runAction(['false'])),
      makeStep('slow', shellAction(`sleep 0.3; echo slow >> ${out}`)),
      makeStep('later', append(out, 'later'), { needs: ['slow'] }),
    ]);
    const run = await execRunbook(rb, { dir });
    expect(run.result.status).toBe('failed');
    expect(readText(out)).toBe('slow\n'); // the running step ended cleanly, its dependent did not start
  });

  it('onFailure rollback: undoes completed steps in reverse dependency order', async () => {
    const dir = makeTempDir('engine-rollback');
    const out = join(dir, 'out.txt');
    const undo = (id: string) => ({ action: append(out, `undo-${id}`) });
    const rb = makeRunbook([
      makeStep('a', append(out, 'a'), { rollback: undo('a') }),
      makeStep('b', append(out, 'b'), { needs: ['a'], rollback: undo('b') }),
      makeStep('nothing-to-undo', append(out, 'n'), { needs: ['b'] }),
      makeStep('c', runAction(['false']), {
        needs: ['nothing-to-undo'],
        onFailure: 'rollback',
        rollback: undo('c'),
      }),
    ]);
    const run = await execRunbook(rb, { dir });
    expect(run.result.status).toBe('failed');
    expect(readText(out).trim().split('\n')).toEqual(['a', 'b', 'n', 'undo-b', 'undo-a']);
    expect(ofType(run.events, 'rollback-started')[0]!.steps).toEqual(['rollback/b', 'rollback/a']);
    expect(ofType(run.events, 'rollback-finished')[0]!.status).toBe('succeeded');
  });

  it('dry run: nothing runs, every step says what it would do', async () => {
    const dir = makeTempDir('engine-dry');
    const out = join(dir, 'out.txt');
    const rb = makeRunbook([
      makeStep('a', append(out, 'a')),
      makeStep(
        'b',
        { kind: 'http', http: { url: 'http://127.0.0.1:9/webhook', method: 'POST' } },
        { needs: ['a'] },
      ),
      makeStep('c', { kind: 'manual', instructions: 'Confirm', approvers: ['QA'] }, { needs: ['b'] }),
    ]);
    const run = await execRunbook(rb, { dir, dryRun: true });
    expect(run.result.status).toBe('succeeded');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'steps'))).toBe(false);
    const started = ofType(run.events, 'step-started');
    expect(started.every((e) => e.dryRun === true)).toBe(true);
    expect(started.map((e) => e.description)).toEqual([
      `would run: run: sh -c 'echo a >> ${out}'`,
      'would run: http POST http://127.0.0.1:9/webhook',
      'would run: ask QA to approve: Confirm',
    ]);
    expect(ofType(run.events, 'approval-requested')).toHaveLength(0);
  });

  it('drill: skips or swaps actions as the step says, and marks the journal', async () => {
    const dir = makeTempDir('engine-drill');
    const out = join(dir, 'out.txt');
    const rb = makeRunbook(
      [
        makeStep('skipped', append(out, 'real-skipped'), { drill: { mode: 'skip' } }),
        makeStep('swapped', append(out, 'real-swapped'), {
          drill: { mode: 'action', action: append(out, 'drill-swapped') },
        }),
        makeStep('same', append(out, 'same')),
      ],
      { drill: true },
    );
    const run = await execRunbook(rb, { dir });
    expect(run.result.status).toBe('succeeded');
    expect(readText(out).trim().split('\n').sort()).toEqual(['drill-swapped', 'same']);
    expect(ofType(run.events, 'step-skipped')[0]!.reason).toMatch(/drill/);
    expect(ofType(run.events, 'step-started').every((e) => e.drill === true)).toBe(true);
    expect(ofType(run.events, 'run-started')[0]!.drill).toBe(true);
  });

  it('a check step never passes without a checker or a resource', async () => {
    const missing: string[] = [];
    for (const k of checkerKinds) if ((await loadChecker(k)) === undefined) missing.push(k);
    const steps = [
      makeStep(
        'undeclared',
        { kind: 'check', check: { kind: 'mysql', resource: 'nowhere', options: {} } },
        { onFailure: 'continue' },
      ),
      ...missing.map((k) =>
        makeStep(
          `gate-${k}`,
          { kind: 'check', check: { kind: k as 'redis', resource: 'r', options: {} } },
          { onFailure: 'continue' },
        ),
      ),
    ];
    const run = await execRunbook(
      makeRunbook(steps, {
        resources: { r: { kind: 'redis', source: 'redis://127.0.0.1:9', target: 'redis://127.0.0.1:9' } },
      }),
    );
    expect(run.result.status).toBe('failed');
    const fin = ofType(run.events, 'step-finished');
    expect(fin.every((f) => f.status === 'failed')).toBe(true);
    for (const k of missing)
      expect(fin.find((f) => f.step === `gate-${k}`)!.error).toMatch(new RegExp(`no ${k} checker`));
    expect(fin.find((f) => f.step === 'undeclared')!.error).toMatch(/not declared/);
  });

  it('manual: approved through the inbox, rejected without retry', async () => {
    const dir = makeTempDir('engine-manual');
    const rb = makeRunbook(
      [
        makeStep(
          'ok',
          { kind: 'manual', instructions: 'Confirm traffic stopped', approvers: [] },
          { retry: { count: 3, backoffMs: 10, factor: 1, maxMs: 10 } },
        ),
        makeStep(
          'no',
          { kind: 'manual', instructions: 'Open traffic', approvers: ['QA'] },
          { needs: ['ok'], retry: { count: 3, backoffMs: 10, factor: 1, maxMs: 10 } },
        ),
      ],
      { roles: { SRE: { members: ['alice'] }, DBA: {}, QA: { members: ['alice'] } } },
    );
    const run = await execRunbook(rb, {
      dir,
      approvalPollMs: 20,
      observer: {
        onEvent: (ev) => {
          if (ev.type !== 'approval-requested') return;
          const decision = ev.step === 'ok' ? 'approved' : 'rejected';
          setTimeout(
            () =>
              submitApproval(dir, { step: ev.step, decision, by: 'alice', comment: `${decision} in test` }),
            50,
          );
        },
      },
    });
    expect(run.result.status).toBe('failed');
    const approvals = ofType(run.events, 'approval');
    expect(approvals.map((a) => [a.step, a.decision, a.by, a.via])).toEqual([
      ['ok', 'approved', 'alice', 'cli'],
      ['no', 'rejected', 'alice', 'cli'],
    ]);
    expect(ofType(run.events, 'approval-requested').find((e) => e.step === 'no')!.role).toBe('QA');
    expect(run.view.byId.get('no')!.attempts).toBe(1);
    expect(run.view.byId.get('no')!.error).toMatch(/rejected by alice/);
  });

  it('Ctrl-C once: running steps end cleanly, nothing new starts, waits are cancelled, exit 130', async () => {
    const dir = makeTempDir('engine-int');
    const out = join(dir, 'out.txt');
    const rb = makeRunbook([
      makeStep('running', shellAction(`sleep 0.5; echo running >> ${out}`)),
      makeStep('approval', { kind: 'manual', instructions: 'Wait', approvers: [] }),
      makeStep('next', append(out, 'next'), { needs: ['running'] }),
    ]);
    const run = await execRunbook(rb, {
      dir,
      onExecutor: (ex) => setTimeout(() => ex.interrupt(), 200),
    });
    expect(run.result.status).toBe('interrupted');
    expect(run.result.exitCode).toBe(130);
    expect(readText(out)).toBe('running\n');
    expect(run.view.byId.get('running')!.state).toBe('succeeded');
    expect(run.view.byId.get('approval')!.state).toBe('cancelled');
    expect(run.view.byId.get('next')!.state).toBe('pending');
    expect(ofType(run.events, 'run-finished')[0]!.status).toBe('interrupted');
  });

  it('Ctrl-C at the instant a manual step starts: the step is cancelled, the run ends (no wait on a dead signal)', async () => {
    // Found by report-properties under load: the interrupt landed between step-started and the
    // approval wait; a listener added to an already aborted signal never fires, so it hung.
    const rb = makeRunbook([makeStep('approval', { kind: 'manual', instructions: 'Wait', approvers: [] })]);
    let ex: Executor | undefined;
    const run = await Promise.race([
      execRunbook(rb, {
        onExecutor: (e) => (ex = e),
        observer: {
          onEvent: (ev) => {
            if (ev.type === 'step-started' && ev.step === 'approval') ex!.interrupt();
          },
        },
      }),
      sleep(10_000).then(() => {
        throw new Error('the run did not end within 10 s of Ctrl-C');
      }),
    ]);
    expect(run.result.exitCode).toBe(130);
    expect(run.view.byId.get('approval')!.state).toBe('cancelled');
  });

  it('Ctrl-C twice: running steps are terminated and recorded as cancelled', async () => {
    const rb = makeRunbook([makeStep('long', runAction(['sleep', '30']))]);
    const t0 = Date.now();
    const run = await execRunbook(rb, {
      onExecutor: (ex) => {
        setTimeout(() => ex.interrupt(), 100);
        setTimeout(() => ex.interrupt(), 200);
      },
    });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(run.view.byId.get('long')!.state).toBe('cancelled');
    expect(run.result.exitCode).toBe(130);
  });

  it('a run timeout stops the run', async () => {
    const rb = makeRunbook([makeStep('long', runAction(['sleep', '30']))], { timeoutMs: 300 });
    const run = await execRunbook(rb);
    expect(run.result.status).toBe('aborted');
    expect(run.result.error).toMatch(/run timeout/);
  });

  it('keeps secrets out of stored output, the journal and failure messages', async () => {
    const dir = makeTempDir('engine-secret');
    registerSecret('hunter2-very-secret');
    const rb = makeRunbook([
      makeStep(
        'leak',
        shellAction('echo token is hunter2-very-secret; echo pw hunter2-very-secret >&2; exit 4'),
      ),
    ]);
    const run = await execRunbook(rb, { dir });
    const journal = readFileSync(join(dir, 'journal.jsonl'), 'utf8');
    const stored =
      readText(join(dir, 'steps', 'leak.stdout.log')) + readText(join(dir, 'steps', 'leak.stderr.log'));
    for (const text of [journal, stored]) {
      expect(text).not.toContain('hunter2-very-secret');
      expect(text).toContain('***');
    }
    expect(run.view.byId.get('leak')!.exitCode).toBe(4);
  });

  it('a resumed journal continues the hash chain', async () => {
    const dir = makeTempDir('engine-chain');
    writeFileSync(join(dir, 'placeholder'), '');
    const run = await execRunbook(makeRunbook([makeStep('a', runAction(['true']))]), { dir });
    expect(verifyChain(readJournal(join(dir, 'journal.jsonl'))).ok).toBe(true);
    expect(run.events.at(-1)!.type).toBe('run-finished');
  });
});
