import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { makeTempDir, removeDir } from '../harness/process.js';
import { BIN, drctl } from './cli-helpers.js';

/**
 * A PIC previews the night without the production secrets: `switch --dry-run` resolves a missing
 * `${env:…}`/`${file:…}` to a visible placeholder, warns once, journals it, and runs nothing; a
 * real switch still refuses (exit 2) naming what is missing. Through the built CLI.
 */
let dir: string;
let runbook: string;
const PW = 'DRCTL_DRYRUN_TEST_DB_PASSWORD';

beforeAll(() => {
  if (!existsSync(BIN.replace('bin/drctl.js', 'dist/src/cli/main.js')))
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests');
  dir = makeTempDir('dry-run-secrets');
  runbook = join(dir, 'night.yaml');
  writeFileSync(
    runbook,
    stringify({
      apiVersion: 'drctl/v1',
      kind: 'Runbook',
      name: 'night',
      environment: 'dry-run-secrets',
      roles: { SRE: {} },
      vars: { token: '${file:secrets/api-token.txt}', user: 'app' },
      resources: {
        // Port 1 on loopback: nothing listens; a dry run must not even try.
        core: {
          kind: 'mysql',
          primary: `mysql://\${vars.user}:\${env:${PW}}@127.0.0.1:1`,
          replica: `mysql://\${vars.user}:\${env:${PW}}@127.0.0.1:1`,
        },
      },
      steps: [
        {
          id: 'write-marker',
          owner: 'SRE',
          run: ['sh', '-c', `echo "\${vars.token}" > ${join(dir, 'marker')}`],
        },
        {
          id: 'freeze-writes',
          owner: 'SRE',
          needs: ['write-marker'],
          sql: { resource: 'core', on: 'primary', statements: 'SET GLOBAL read_only = ON' },
        },
      ],
    }),
  );
});
afterAll(() => removeDir(dir));

const env = { [PW]: undefined, DRCTL_HOME: undefined } as unknown as NodeJS.ProcessEnv;

describe('switch --dry-run without the production secrets', () => {
  it('previews with placeholders, warns once, journals it and runs nothing', async () => {
    const runs = join(dir, 'runs-dry');
    const r = await drctl(['switch', runbook, '--dry-run', '--runs-dir', runs], { cwd: dir, env });
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
    // One warning names every missing secret, and says a real switch needs them.
    const lines = r.stderr.split('\n').filter((l) => /placeholder/i.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`env:${PW}`);
    expect(lines[0]).toContain('file:secrets/api-token.txt');
    // The preview shows the placeholder where the value would go.
    expect(r.stdout + r.stderr).toContain('<unreadable:file:secrets/api-token.txt>');
    // Nothing ran: no marker file, and the journal records a dry run that used placeholders.
    expect(existsSync(join(dir, 'marker'))).toBe(false);
    const [id] = readdirSync(runs);
    const events = readFileSync(join(runs, id!, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const started = events.find((e) => e.type === 'run-started')!;
    expect(started.dryRun).toBe(true);
    expect(started.placeholders).toEqual([`env:${PW}`, 'file:secrets/api-token.txt']);
    expect(events.filter((e) => e.type === 'step-started').every((e) => e.dryRun === true)).toBe(true);
    const status = await drctl(['status', id!, '--runs-dir', runs], { cwd: dir, env });
    expect(status.stdout).toMatch(/dry run/);
  });

  it('a real switch still refuses, exit 2, naming the missing secret, and starts nothing', async () => {
    const runs = join(dir, 'runs-real');
    const r = await drctl(['switch', runbook, '--yes', '--runs-dir', runs], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`environment variable ${PW} is not set`);
    expect(r.stderr).toMatch(/secrets\/api-token\.txt/);
    expect(existsSync(join(dir, 'marker'))).toBe(false);
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([]);
  });

  it('a real switch refuses a runbook that holds a placeholder literally (exit 2, nothing runs)', async () => {
    const runs = join(dir, 'runs-literal');
    const literal = join(dir, 'literal.yaml');
    writeFileSync(
      literal,
      stringify({
        apiVersion: 'drctl/v1',
        kind: 'Runbook',
        name: 'literal',
        environment: 'dry-run-secrets-literal',
        roles: { SRE: {} },
        steps: [
          { id: 'w', owner: 'SRE', run: ['sh', '-c', `echo '<unset:env:X>' > ${join(dir, 'marker')}`] },
        ],
      }),
    );
    const r = await drctl(['switch', literal, '--yes', '--runs-dir', runs], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('placeholders for secrets: env:X');
    expect(existsSync(join(dir, 'marker'))).toBe(false);
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([]);
  });

  it('a checker on a runbook resource refuses its placeholder before connecting (exit 2)', async () => {
    const r = await drctl(['check', 'mysql', '--resource', 'core', '-f', runbook], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`resource "core" needs environment variable ${PW}, which is not set`);
    expect(r.stderr).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:1/);
  });

  it('with the secrets set, a dry run uses no placeholder and shows no secret', async () => {
    const runs = join(dir, 'runs-set');
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    writeFileSync(join(dir, 'secrets/api-token.txt'), 's3cr3t-token-value\n');
    try {
      const r = await drctl(['switch', runbook, '--dry-run', '--runs-dir', runs], {
        cwd: dir,
        env: { ...env, [PW]: 'hunter2-db-pass' },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/placeholder/i);
      expect(r.stdout + r.stderr).not.toMatch(/hunter2-db-pass|s3cr3t-token-value/);
      const [id] = readdirSync(runs);
      const journal = readFileSync(join(runs, id!, 'journal.jsonl'), 'utf8');
      expect(journal).not.toMatch(/hunter2-db-pass|s3cr3t-token-value|"placeholders"/);
    } finally {
      removeDir(join(dir, 'secrets'));
    }
  });
});
