/**
 * Redaction at the edges for `drctl check <kind>` (issue 15 item 6). The checkers' parsers are
 * pure; the generic command registers secrets where they enter: the password of every URL/DSN
 * flag, the credentials the module built from the environment and auth files, and the module's
 * `secretEnv`. Each kind gets known secrets through its --source/--target URLs and its credential
 * environment variables (es also through an auth file), against a loopback port nothing listens
 * on, so the error path runs; stdout and stderr, text and --json, are searched.
 *
 * The error texts rarely echo a bare password (the URL pattern masks `://user:pw@` anyway), so a
 * second test runs the same entry in process and asserts that every secret was registered: remove
 * a registration from src/cli/commands/check.ts and it fails.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkerModule } from '../../checkers/index.js';
import { runCheck } from '../../src/cli/commands/check.js';
import type { Resource } from '../../src/runbook/schema.js';
import { checkHandler } from '../../src/steps/check.js';
import type { StepContext } from '../../src/steps/types.js';
import { clearSecrets, redact } from '../../src/util/redact.js';
import { runCli } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

let dir: string;
let port: number;

beforeAll(async () => {
  dir = makeTempDir('secrets-check-edges');
  // A loopback port nothing listens on (taken, then released): every client fails fast with
  // ECONNREFUSED. (A listener that accepts and closes at once makes `drctl check es` exit 13 about
  // half the time, with no message: reported separately, not this test's subject.)
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(() => removeDir(dir));

interface Case {
  kind: string;
  /** name → secret value; every one must be registered and never printed. */
  secrets: Record<string, string>;
  args: () => string[];
  env: Record<string, string>;
  /** In-process flags as commander would give them (camelCased, defaults applied). */
  flags: () => Record<string, unknown>;
}

const at = () => `127.0.0.1:${port}`;
const CASES: Case[] = [
  {
    kind: 'mysql',
    secrets: { sourceDsn: 'MysqlSrcSekrit-4711', targetDsn: 'MysqlDst%Sekrit-0815' },
    args: () => [
      '--source',
      `mysql://checker:MysqlSrcSekrit-4711@${at()}/bank`,
      '--target',
      `mysql://checker:MysqlDst%25Sekrit-0815@${at()}/bank`,
    ],
    env: {},
    flags: () => ({
      source: `mysql://checker:MysqlSrcSekrit-4711@${at()}/bank`,
      target: `mysql://checker:MysqlDst%25Sekrit-0815@${at()}/bank`,
      wait: '60s',
      chunkTime: '500ms',
      threads: '2',
      hash: 'fast',
      gtid: true,
      schema: true,
      rows: true,
      show: '20',
    }),
  },
  {
    kind: 'redis',
    secrets: { sourceUrl: 'RedisSrcSekrit-1234', targetUrl: 'RedisDstSekrit-5678' },
    args: () => [
      '--source',
      `redis://:RedisSrcSekrit-1234@${at()}`,
      '--target',
      `redis://ops:RedisDstSekrit-5678@${at()}/0`,
      '--timeout',
      '3s',
    ],
    env: {},
    flags: () => ({
      source: `redis://:RedisSrcSekrit-1234@${at()}`,
      target: `redis://ops:RedisDstSekrit-5678@${at()}/0`,
      match: '*',
      wait: '30s',
      timeout: '3s',
      show: '20',
    }),
  },
  {
    kind: 'es',
    secrets: {
      sourceUrl: 'EsSrcSekrit-2468',
      targetEnvPassword: 'EsEnvSekrit-1357',
      sourceEnvApiKey: 'EsApiKeySekrit-9753',
      targetAuthFile: 'EsFileSekrit-8642',
    },
    args: () => [
      '--source',
      `http://ops:EsSrcSekrit-2468@${at()}`,
      '--target',
      `http://${at()}`,
      '--target-auth-file',
      join(dir, 'es-auth'),
      '--index',
      'payments-*',
      '--request-timeout',
      '3s',
    ],
    env: {
      DRCTL_ES_TARGET_USER: 'ops',
      DRCTL_ES_TARGET_PASSWORD: 'EsEnvSekrit-1357',
      DRCTL_ES_SOURCE_API_KEY: 'EsApiKeySekrit-9753',
    },
    flags: () => ({
      source: `http://ops:EsSrcSekrit-2468@${at()}`,
      target: `http://${at()}`,
      targetAuthFile: join(dir, 'es-auth'),
      index: 'payments-*',
      batchSize: '1000',
      maxFindings: '1000',
      requestTimeout: '3s',
      show: '50',
    }),
  },
  {
    kind: 's3',
    secrets: {
      endpointUrl: 'S3UrlSekrit-1122',
      sourceEnv: 'S3SrcEnvSekrit-3344',
      targetEnv: 'S3DstEnvSekrit-5566',
      awsEnv: 'AwsEnvSekrit-7788',
    },
    args: () => [
      '--source',
      's3://docs',
      '--target',
      's3://docs',
      '--source-endpoint',
      `http://key:S3UrlSekrit-1122@${at()}`,
      '--target-endpoint',
      `http://${at()}`,
      '--request-timeout',
      '3s',
    ],
    env: {
      DRCTL_S3_SOURCE_ACCESS_KEY_ID: 'AKSRC',
      DRCTL_S3_SOURCE_SECRET_ACCESS_KEY: 'S3SrcEnvSekrit-3344',
      DRCTL_S3_TARGET_ACCESS_KEY_ID: 'AKDST',
      DRCTL_S3_TARGET_SECRET_ACCESS_KEY: 'S3DstEnvSekrit-5566',
      AWS_SECRET_ACCESS_KEY: 'AwsEnvSekrit-7788',
    },
    flags: () => ({
      source: 's3://docs',
      target: 's3://docs',
      sourceEndpoint: `http://key:S3UrlSekrit-1122@${at()}`,
      targetEndpoint: `http://${at()}`,
      requestTimeout: '3s',
      concurrency: '8',
      show: '20',
    }),
  },
];

function writeAuthFile(): void {
  writeFileSync(join(dir, 'es-auth'), '# target credentials\nops:EsFileSekrit-8642\n');
}

describe('drctl check: secrets from flags, environment and auth files never leave drctl', () => {
  it.each(CASES)(
    '$kind: error text, stdout, stderr and --json hold no secret',
    async (c) => {
      writeAuthFile();
      const outputs: { what: string; text: string }[] = [];
      for (const json of [false, true]) {
        const args = ['check', c.kind, ...c.args(), ...(json ? ['--json'] : [])];
        const started = Date.now();
        const r = await runCli(args, c.env);
        const what = `drctl ${args.join(' ')}`;
        // Could not check: exit 2 with a message (the error path ran), within a bounded time.
        expect(r.exitCode, `${what}\n${r.stdout}\n${r.stderr}`).toBe(2);
        expect(r.stderr.trim(), what).not.toBe('');
        expect(Date.now() - started, what).toBeLessThan(30_000);
        outputs.push(
          { what: `${what} (stdout)`, text: r.stdout },
          { what: `${what} (stderr)`, text: r.stderr },
        );
      }
      const decoded = (s: string) => [s, encodeURIComponent(s)];
      const leaks = outputs.flatMap((o) =>
        Object.entries(c.secrets)
          .filter(([, s]) => decoded(s).some((v) => o.text.includes(v)))
          .map(([entry]) => `${entry} secret in ${o.what}:\n${o.text}`),
      );
      expect(leaks).toEqual([]);
    },
    90_000,
  );

  it.each(CASES)(
    '$kind: the command registers every secret where it enters',
    async (c) => {
      writeAuthFile();
      clearSecrets();
      const saved = Object.fromEntries(Object.keys(c.env).map((k) => [k, process.env[k]]));
      Object.assign(process.env, c.env);
      try {
        const m = checkerModule(c.kind)!;
        // The endpoint refuses: the check fails to connect (exit 2 in the CLI), after registering.
        await expect(runCheck(m, c.flags())).rejects.toThrow();
        const unmasked = Object.entries(c.secrets)
          .filter(([, s]) => redact(`seen: ${s}.`) !== 'seen: ***.')
          .map(([entry]) => entry);
        expect(unmasked).toEqual([]);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
        clearSecrets();
      }
    },
    60_000,
  );

  it('a check step registers the credential variables its checker reads (s3 secretEnv)', async () => {
    clearSecrets();
    const env = {
      DRCTL_S3_SOURCE_ACCESS_KEY_ID: 'AKSRC',
      DRCTL_S3_SOURCE_SECRET_ACCESS_KEY: 'StepEnvSekrit-2929',
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      const side = { endpoint: `http://${at()}`, bucket: 'docs' };
      const resources = { docs: { kind: 's3', source: side, target: side } as unknown as Resource };
      const ctx = {
        resources,
        step: { id: 'gate' },
        signal: AbortSignal.timeout(30_000),
        log: () => undefined,
        recordGate: () => undefined,
      } as unknown as StepContext;
      const outcome = await checkHandler.execute(
        { check: { kind: 's3', resource: 'docs', options: { requestTimeout: '3s' } } } as never,
        ctx,
      );
      expect(outcome.ok).toBe(false);
      expect(redact('seen: StepEnvSekrit-2929.')).toBe('seen: ***.');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      clearSecrets();
    }
  }, 60_000);
});
