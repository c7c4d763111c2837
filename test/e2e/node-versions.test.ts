import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SDK_NODE_NOTICE_ENV, createS3Client } from '../../checkers/s3/client.js';
import { nodeSupportNotice } from '../../src/cli/node-support.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { BIN, ROOT } from './cli-helpers.js';

/**
 * The built CLI on every Node drctl supports: the machine's own (20 here) and 22 and 24 from
 * scripts/node-versions.sh (installed here when missing, never skipped). A smoke of each command
 * family, and the AWS SDK's Node-version notice never reaching the operator.
 */
const MAJORS = ['22', '24'];
const nodes: { label: string; bin: string }[] = [
  { label: `this node (${process.version})`, bin: process.execPath },
];
let dir: string;
let closedPort: number;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/src/cli/main.js')))
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests');
  // Idempotent: a cached binary costs a version check; CI installs them in .ci/run first.
  const out = execFileSync('bash', [join(ROOT, 'scripts/node-versions.sh'), '--print', ...MAJORS], {
    encoding: 'utf8',
    timeout: 280_000,
  });
  out
    .trim()
    .split('\n')
    .forEach((bin, i) => nodes.push({ label: `node ${MAJORS[i]}`, bin }));
  dir = makeTempDir('node-versions');
  // A port that was free a moment ago: nothing listens there.
  closedPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}, 300_000);
afterAll(() => removeDir(dir));

function run(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      [BIN, ...args],
      { cwd: dir, env: { ...process.env, FORCE_COLOR: '0', ...env }, timeout: 90_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

describe.each(MAJORS.map((m, i) => [m, i + 1] as const))('scripts/node-versions.sh node %s', (major, i) => {
  it('is installed and is that major version', () => {
    const v = execFileSync(nodes[i]!.bin, ['--version'], { encoding: 'utf8' }).trim();
    expect(v).toMatch(new RegExp(`^v${major}\\.`));
  });
});

describe.each([0, 1, 2])('drctl on node #%i', (i) => {
  const node = () => nodes[i]!;

  it('--version, validate, plan', { timeout: 120_000 }, async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const version = await run(node().bin, ['--version']);
    expect(version).toMatchObject({ code: 0 });
    expect(version.stdout.trim()).toBe(pkg.version);
    const rb = join(ROOT, 'runbooks/id-bank/switchover.yaml');
    const validate = await run(node().bin, ['validate', rb]);
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stdout).toMatch(/^ok .*switchover\.yaml/m);
    const plan = await run(node().bin, ['plan', rb, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    // bin/drctl.js tunes V8 only where the flag exists (V8 13, Node 24, has none and said so).
    for (const r of [version, validate, plan]) expect(r.stderr).not.toMatch(/unrecognized flag/);
    const json = JSON.parse(plan.stdout) as { steps: unknown[]; makespanMs: number };
    expect(json.steps.length).toBeGreaterThan(50);
    expect(json.makespanMs).toBeGreaterThan(0);
  });

  it('a small switch against no servers, its dry run, and verify', { timeout: 120_000 }, async () => {
    const sub = join(dir, `switch-${i}`);
    const file = join(dir, `small-${i}.yaml`);
    writeFileSync(
      file,
      stringify({
        apiVersion: 'drctl/v1',
        kind: 'Runbook',
        name: 'small',
        environment: `node-versions-${i}`,
        roles: { SRE: {} },
        steps: [
          { id: 'one', owner: 'SRE', run: ['sh', '-c', `echo one >> ${sub}.out`] },
          { id: 'two', owner: 'SRE', needs: ['one'], run: ['sh', '-c', `echo two >> ${sub}.out`] },
        ],
      }),
    );
    const dry = await run(node().bin, ['switch', file, '--dry-run', '--runs-dir', sub]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(existsSync(`${sub}.out`)).toBe(false);
    const real = await run(node().bin, ['switch', file, '--yes', '--runs-dir', sub]);
    expect(real.code, real.stderr).toBe(0);
    expect(readFileSync(`${sub}.out`, 'utf8')).toBe('one\ntwo\n');
    const verify = await run(node().bin, ['verify', 'latest', '--runs-dir', sub]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // Not a terminal: no Node-version notice, whatever the version.
    expect(real.stderr).not.toMatch(/end of life/);
  });

  it(
    'check s3 loads the SDK and prints no Node-version notice, but other warnings',
    { timeout: 120_000 },
    async () => {
      const r = await run(
        node().bin,
        [
          'check',
          's3',
          '--source',
          's3://bucket-a',
          '--target',
          's3://bucket-b',
          '--source-endpoint',
          `http://127.0.0.1:${closedPort}`,
        ],
        {
          AWS_ACCESS_KEY_ID: 'x',
          AWS_SECRET_ACCESS_KEY: 'y',
          [SDK_NODE_NOTICE_ENV]: undefined,
          // Another warning must still reach the operator: the fix hides one notice, not warnings.
          NODE_OPTIONS: "--import=data:text/javascript,process.emitWarning('drctl-test-other-warning')",
        },
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/cannot reach the (source|target) S3 endpoint/);
      expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|will require node/);
      expect(r.stderr).toContain('drctl-test-other-warning');
    },
  );
});

describe('Node 20', () => {
  it('an interactive switch on a Node older than 22 says so in one line; 22 and later say nothing', () => {
    expect(nodeSupportNotice('20.20.2')).toMatch(/^Node 20\.20\.2 is past its end of life; .*22 and 24/);
    expect(nodeSupportNotice('20.20.2')).not.toContain('\n');
    expect(nodeSupportNotice('22.0.0')).toBeUndefined();
    expect(nodeSupportNotice('24.22.3')).toBeUndefined();
  });

  it(
    'the notice is shown on a terminal (script(1) gives one) by node 20, not by 22',
    { timeout: 120_000 },
    () => {
      const file = join(dir, 'tty.yaml');
      writeFileSync(
        file,
        stringify({
          apiVersion: 'drctl/v1',
          kind: 'Runbook',
          name: 'tty',
          environment: 'node-versions-tty',
          roles: { SRE: {} },
          steps: [{ id: 'one', owner: 'SRE', run: ['true'] }],
        }),
      );
      const onTty = (bin: string): string =>
        execFileSync(
          'script',
          ['-qec', `${bin} ${BIN} switch ${file} --dry-run --runs-dir ${join(dir, 'tty-runs')}`, '/dev/null'],
          { encoding: 'utf8', cwd: dir, env: { ...process.env, FORCE_COLOR: '0' }, timeout: 60_000 },
        );
      const own = onTty(process.execPath);
      if (Number(process.versions.node.split('.')[0]) < 22)
        expect(own).toMatch(/warning: Node 20\.\S+ is past its end of life/);
      else expect(own).not.toMatch(/end of life/);
      expect(onTty(nodes[1]!.bin)).not.toMatch(/end of life/);
    },
  );
});

describe('the SDK notice switch', () => {
  it('is set only while a client is built: steps started later inherit no change', () => {
    const before = process.env[SDK_NODE_NOTICE_ENV];
    delete process.env[SDK_NODE_NOTICE_ENV];
    try {
      const client = createS3Client({ endpoint: `http://127.0.0.1:${closedPort}` }, 'source');
      client.destroy();
      expect(process.env[SDK_NODE_NOTICE_ENV]).toBeUndefined();
      // An operator's own setting is kept as it is.
      process.env[SDK_NODE_NOTICE_ENV] = 'false';
      createS3Client({ endpoint: `http://127.0.0.1:${closedPort}` }, 'target').destroy();
      expect(process.env[SDK_NODE_NOTICE_ENV]).toBe('false');
    } finally {
      if (before === undefined) delete process.env[SDK_NODE_NOTICE_ENV];
      else process.env[SDK_NODE_NOTICE_ENV] = before;
    }
  });
});
