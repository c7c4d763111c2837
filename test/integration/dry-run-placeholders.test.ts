import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { findPlaceholders, interpolate, type InterpolationProblem } from '../../src/runbook/interpolate.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { execRunbook } from '../fixtures/engine-exec.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { HEADER, loadErrors } from '../unit/runbook-helpers.js';

/**
 * Missing secrets in a preview: a lenient load puts placeholders in, the executor journals them
 * on a dry run and refuses to run anything real that still holds one (the last line of defence:
 * whatever the caller, a placeholder never reaches a system).
 */
const PW = 'DRCTL_PLACEHOLDER_TEST_PASSWORD';
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function writeNight(): { file: string; marker: string } {
  const dir = makeTempDir('placeholders');
  dirs.push(dir);
  const marker = join(dir, 'marker');
  const file = join(dir, 'night.yaml');
  const text = `${HEADER}environment: placeholders
vars:
  token: \${file:missing/token.txt}
steps:
  - id: write-marker
    owner: SRE
    run: [sh, -c, 'echo "\${vars.token} \${env:${PW}}" > ${marker}']
`;
  writeFileSync(file, text);
  return { file, marker };
}

describe('placeholders for missing secrets', () => {
  it('a lenient load lists them; a dry run journals them and runs nothing', async () => {
    delete process.env[PW];
    const { file, marker } = writeNight();
    const rb = loadRunbook(file, { lenientSecrets: true });
    expect(rb.placeholders).toEqual([`env:${PW}`, 'file:missing/token.txt']);
    const run = await execRunbook(rb, { dryRun: true });
    expect(run.result.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
    const started = run.events.find((e) => e.type === 'run-started');
    expect(started && 'placeholders' in started ? started.placeholders : undefined).toEqual(rb.placeholders);
  });

  it('the executor refuses a real run that still holds a placeholder, before anything starts', async () => {
    delete process.env[PW];
    const { file, marker } = writeNight();
    const rb = loadRunbook(file, { lenientSecrets: true });
    await expect(execRunbook(rb, { dryRun: false })).rejects.toThrow(ConfigError);
    await expect(execRunbook(rb, { dryRun: false })).rejects.toThrow(new RegExp(`env:${PW}`));
    expect(existsSync(marker)).toBe(false);
  });

  it('a strict load (a real switch) still refuses the missing secrets', () => {
    delete process.env[PW];
    const { file } = writeNight();
    const errors = loadErrors(file);
    expect(errors.some((e) => e.includes(`environment variable ${PW} is not set`))).toBe(true);
    expect(errors.some((e) => e.includes('missing/token.txt'))).toBe(true);
  });

  it('every missing env name or file path interpolated anywhere in a value is found (seeded)', () => {
    const name = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,20}$/).map((n) => `DRCTL_PH_${n}`);
    const path = fc.stringMatching(/^[a-z0-9][a-z0-9_./-]{0,30}$/).map((p) => `nope-${p}`);
    const text = fc.string({ maxLength: 20 }).map((t) => t.replace(/[$<>{}]/g, ''));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), name, path, text), { minLength: 1, maxLength: 5 }),
        (parts) => {
          for (const [, n] of parts) delete process.env[n];
          const source = parts.map(([env, n, p, t]) => `${t}\${${env ? `env:${n}` : `file:${p}`}}`).join(' ');
          const problems: InterpolationProblem[] = [];
          const value = interpolate(
            { a: [source] },
            { baseDir: '/nonexistent', scope: {}, lenient: true },
            problems,
          );
          const want = [...new Set(parts.map(([env, n, p]) => (env ? `env:${n}` : `file:${p}`)))].sort();
          expect(findPlaceholders(value)).toEqual(want);
          expect(problems.every((p) => p.severity === 'warning')).toBe(true);
        },
      ),
      { seed: 1416, numRuns: 200 },
    );
  });
});
