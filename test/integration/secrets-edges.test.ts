/**
 * Redaction at the edges: one known secret per entry point (a credential-named environment
 * variable, a `${file:…}` text, a DSN password written in the runbook, a `--var` flag) goes in;
 * every output of validate, plan (text and JSON), switch, status (text and JSON) and report (every
 * format), and every file of the run directory, is searched for all of them.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;
beforeAll(() => {
  dir = makeTempDir('secrets-edges');
});
afterAll(() => removeDir(dir));

function allFiles(root: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else if (statSync(p).isFile()) out.push({ path: p, text: readFileSync(p, 'utf8') });
  }
  return out;
}

const SECRETS = {
  env: 'EnvSekrit-4711',
  file: 'FileSekrit-0815',
  dsn: 'DsnSekrit-1234',
  flag: 'FlagSekrit-9999',
};

describe('secrets never leave drctl', () => {
  it('masks a secret from each entry point in every output', async () => {
    const keyFile = join(dir, 'key.txt');
    writeFileSync(keyFile, `${SECRETS.file}\n`);
    const runs = join(dir, 'runs');
    const file = writeRunbook(dir, 'edges', {
      environment: 'edges-env',
      roles: { SRE: {} },
      vars: { db_password: '' },
      resources: {
        core: {
          kind: 'mysql',
          primary: `mysql://app:${SECRETS.dsn}@127.0.0.1:9/core`,
          replica: 'mysql://app:${env:EDGES_DB_PASSWORD}@127.0.0.1:9/core',
        },
        docs: {
          kind: 's3',
          source: { endpoint: 'http://127.0.0.1:9', bucket: 'a', secretAccessKey: `\${file:${keyFile}}` },
          target: { endpoint: 'http://127.0.0.1:9', bucket: 'b' },
        },
      },
      steps: [
        {
          id: 'echo-all',
          owner: 'SRE',
          // Every secret on stdout and stderr, then a failure: the error and output tail too.
          run: [
            'sh',
            '-c',
            'echo "out $0 $1 $2 $3"; echo "err $0 $1 $2 $3" >&2; exit 3',
            '${env:EDGES_DB_PASSWORD}',
            `\${file:${keyFile}}`,
            SECRETS.dsn,
            '${vars.db_password}',
          ],
        },
      ],
    });
    const env = { EDGES_DB_PASSWORD: SECRETS.env };
    const flag = ['--var', `db_password=${SECRETS.flag}`];
    const outputs: { what: string; text: string }[] = [];
    const cli = async (what: string, args: string[]) => {
      const r = await runCli(args, env);
      outputs.push({ what, text: r.stdout + r.stderr });
      return r;
    };
    await cli('validate', ['validate', file, ...flag]);
    await cli('plan', ['plan', file, ...flag]);
    await cli('plan --json', ['plan', file, '--json', ...flag]);
    const sw = await cli('switch', ['switch', file, '--yes', '--runs-dir', runs, ...flag]);
    expect(sw.exitCode, sw.stderr).toBe(1);
    const run = listRunDirs(runs)[0]!;
    await cli('status', ['status', run, '--runs-dir', runs]);
    await cli('status --json', ['status', run, '--json', '--runs-dir', runs]);
    for (const format of ['console', 'md', 'csv', 'json', 'html'])
      await cli(`report --format ${format}`, ['report', run, '--format', format, '--runs-dir', runs]);
    for (const f of allFiles(join(runs, run))) outputs.push({ what: f.path, text: f.text });

    const leaks = outputs.flatMap((o) =>
      Object.entries(SECRETS)
        .filter(([, s]) => o.text.includes(s))
        .map(([entry]) => `${entry} secret in ${o.what}`),
    );
    expect(leaks).toEqual([]);
    // The secrets did reach the step (so masking, not absence, is what the checks saw).
    const stdoutLog = outputs.find((o) => o.what.endsWith('echo-all.stdout.log'))!;
    expect(stdoutLog.text).toContain('out *** *** *** ***');
  }, 240_000);
});
