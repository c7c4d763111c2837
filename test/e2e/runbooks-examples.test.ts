import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drctl } from './cli-helpers.js';

/**
 * The bank example runs end to end through the built CLI's executor in --dry-run: every step
 * is scheduled in order and reported as `[dry run]`, and the secrets it was given never reach
 * the output or the journal. (npm run build first.)
 */
const SECRETS = {
  IDBANK_DB_PASSWORD: 'db-secret-e2e-4711',
  IDBANK_REDIS_PASSWORD: 'redis-secret-e2e-4711',
  IDBANK_ES_API_KEY: 'es-key-e2e-4711',
};
const runsDir = mkdtempSync(join(tmpdir(), 'drctl-examples-e2e-'));
afterAll(() => rmSync(runsDir, { recursive: true, force: true }));

function journalsText(): string {
  return readdirSync(runsDir)
    .map((run) => readFileSync(join(runsDir, run, 'journal.jsonl'), 'utf8'))
    .join('\n');
}

describe('runbooks/id-bank through the built CLI', () => {
  it.each([
    ['switchover.yaml', 'main -> dr'],
    ['switchback.yaml', 'dr -> main'],
  ])('switch %s --dry-run schedules every step and succeeds', async (file) => {
    const plan = await drctl(['plan', `runbooks/id-bank/${file}`, '--json']);
    expect(plan.code).toBe(0);
    const steps = (JSON.parse(plan.stdout) as { steps: unknown[] }).steps.length;
    expect(steps).toBeGreaterThan(600);

    const r = await drctl(
      ['switch', `runbooks/id-bank/${file}`, '--dry-run', '--yes', '--runs-dir', runsDir],
      {
        env: SECRETS,
        timeoutMs: 120_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    const dryRun = new Set([...out.matchAll(/\[dry run\] ([\w.-]+):/g)].map((m) => m[1]));
    expect(dryRun.size).toBe(steps);
    expect(out).toMatch(/run \S+ succeeded/);
    for (const secret of Object.values(SECRETS)) {
      expect(out).not.toContain(secret);
      expect(journalsText()).not.toContain(secret);
    }
  });

  it('switch without the secrets: a real switch refuses (exit 2) naming them; --dry-run previews with placeholders', async () => {
    const env = Object.fromEntries(Object.keys(SECRETS).map((k) => [k, undefined]));
    const real = await drctl(['switch', 'runbooks/id-bank/switchover.yaml', '--yes', '--runs-dir', runsDir], {
      env,
    });
    expect(real.code).toBe(2);
    for (const name of Object.keys(SECRETS))
      expect(real.stderr).toContain(`environment variable ${name} is not set`);
    const dry = await drctl(
      ['switch', 'runbooks/id-bank/switchover.yaml', '--dry-run', '--yes', '--runs-dir', runsDir],
      { env },
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/dry run with placeholders for \d+ missing secrets?:/);
    for (const name of Object.keys(SECRETS)) expect(dry.stderr).toContain(`env:${name}`);
  });
});
