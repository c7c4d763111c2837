import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { execRunbook, readText, type ExecRun } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep, runAction, shellAction } from '../fixtures/engine-runbook.js';

/** run steps with real processes: long lines, timeouts, the environment a step sees, encoding. */
const finished = (run: ExecRun, id: string) =>
  run.events.find(
    (e): e is Extract<JournalEvent, { type: 'step-finished' }> => e.type === 'step-finished' && e.step === id,
  );
const stdout = (run: ExecRun, id: string) => readText(join(run.dir, 'steps', `${id}.stdout.log`));

afterEach(() => {
  delete process.env.STEPS_TEST_API_TOKEN;
});

describe('run steps: long output lines', () => {
  it('a 10 MB line does not block drctl: the 2 s timeout still stops the step', async () => {
    const rb = makeRunbook([
      makeStep('flood', shellAction("head -c 10000000 /dev/zero | tr '\\0' a; echo; sleep 30"), {
        timeoutMs: 2_000,
      }),
    ]);
    const t0 = Date.now();
    const run = await execRunbook(rb);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(finished(run, 'flood')?.status).toBe('failed');
    expect(finished(run, 'flood')?.error).toMatch(/timed out after 2/);
    const out = stdout(run, 'flood');
    expect(out.length).toBeLessThan(100_000);
    // Under load the 2 s timeout may stop the writer before all 10 MB are out.
    expect(out).toMatch(/line cut: \d{6,} characters/);
  });

  it('a 100 KB line is stored masked, and a slow step still times out at its deadline', async () => {
    const rb = makeRunbook([
      makeStep(
        'wide',
        shellAction("head -c 100000 /dev/zero | tr '\\0' b; echo ' password=hunter22'; sleep 20"),
        { timeoutMs: 2_000 },
      ),
    ]);
    const t0 = Date.now();
    const run = await execRunbook(rb);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(finished(run, 'wide')?.status).toBe('failed');
    expect(stdout(run, 'wide')).not.toMatch(/hunter22/);
  });
});

describe('run steps: environment and encoding', () => {
  it('a step sees only the env it declares plus PATH, HOME, LANG…: a credential in the shell stays out', async () => {
    process.env.STEPS_TEST_API_TOKEN = 'tok-from-the-operator-shell';
    const rb = makeRunbook([makeStep('env', runAction(['env'], { env: { DECLARED: 'yes' } }))]);
    const run = await execRunbook(rb);
    const out = stdout(run, 'env');
    expect(out).not.toMatch(/tok-from-the-operator-shell/);
    expect(out).not.toMatch(/STEPS_TEST_API_TOKEN/);
    expect(out).toMatch(/^DECLARED=yes$/m);
    expect(out).toMatch(/^PATH=/m);
    expect(out).toMatch(/^DRCTL_STEP=env$/m);
  });

  it('UTF-8 split across two writes is stored intact; bytes that are not UTF-8 become U+FFFD', async () => {
    const rb = makeRunbook([
      makeStep('utf8', shellAction("printf 'caf\\303'; sleep 0.3; printf '\\251\\n\\377\\n'")),
    ]);
    const run = await execRunbook(rb);
    const out = stdout(run, 'utf8');
    expect(out).toMatch(/^café$/m);
    expect(out).toMatch(/^\uFFFD$/m);
  });
});
