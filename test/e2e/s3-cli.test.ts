import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCeph, type CephCluster } from '../harness/ceph.js';

/** `drctl check s3` as the operator runs it: the built CLI against a real Ceph RGW. */

const ROOT = join(import.meta.dirname, '..', '..');
const DRCTL = join(ROOT, 'bin', 'drctl.js');
let ceph: CephCluster;

function drctl(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [DRCTL, 'check', 's3', ...args], {
    reject: false,
    env: {
      DRCTL_S3_SOURCE_ACCESS_KEY_ID: ceph.accessKeyId,
      DRCTL_S3_SOURCE_SECRET_ACCESS_KEY: ceph.secretAccessKey,
      DRCTL_S3_TARGET_ACCESS_KEY_ID: ceph.accessKeyId,
      DRCTL_S3_TARGET_SECRET_ACCESS_KEY: ceph.secretAccessKey,
      NO_COLOR: '1',
      ...env,
    },
    timeout: 90_000,
  });
}

const pair = () => [
  '--source',
  's3://e2e-src',
  '--target',
  's3://e2e-dst',
  '--source-endpoint',
  ceph.endpoint,
];

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests (npm test does)');
  }
  ceph = await startCeph();
  const s3 = new S3Client({
    endpoint: ceph.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: ceph,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  for (const b of ['e2e-src', 'e2e-dst']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  const put = (b: string, k: string, v: string) =>
    s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: v }));
  await put('e2e-src', 'a/same file.txt', 'same');
  await put('e2e-dst', 'a/same file.txt', 'same');
  await put('e2e-src', 'b/missing-é.txt', 'only on main');
  await put('e2e-src', 'c/changed.txt', 'main');
  await put('e2e-dst', 'c/changed.txt', 'DR!!');
  s3.destroy();
});

afterAll(async () => {
  await ceph?.stop();
});

describe('drctl check s3', () => {
  it('prints differences and a summary, exit 1', async () => {
    const r = await drctl(pair());
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('+ e2e-src/b/missing-é.txt  (missing on target)');
    expect(r.stdout).toMatch(/\* e2e-src\/c\/changed\.txt {2}\(etag \w+ vs \w+\)/);
    expect(r.stdout).toContain('different: 1 bucket, 3 vs 2 objects');
    expect(r.stderr).toBe('');
  });

  it('--json prints one document', async () => {
    const r = await drctl([...pair(), '--json']);
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout) as { status: string; counts: Record<string, number> };
    expect(doc.status).toBe('different');
    expect(doc.counts).toMatchObject({
      sourceObjects: 3,
      targetObjects: 2,
      same: 1,
      missing: 1,
      different: 1,
    });
    expect(r.stdout).not.toContain(ceph.secretAccessKey);
  });

  it('--combined - writes rclone-style lines to stdout and the summary to stderr', async () => {
    const r = await drctl([...pair(), '--combined', '-']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n').sort()).toEqual([
      '* c/changed.txt',
      '+ b/missing-é.txt',
      '= a/same file.txt',
    ]);
    expect(r.stderr).toContain('different: 1 bucket');
  });

  it('exit 0 when consistent', async () => {
    const r = await drctl([
      '--source',
      's3://e2e-src',
      '--target',
      's3://e2e-src',
      '--source-endpoint',
      ceph.endpoint,
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('consistent: 1 bucket, 3 vs 3 objects');
  });

  describe('bad input: exit 2, a clear message, no stack, no secret', () => {
    const expectClean = (r: { exitCode?: number; stderr: string; stdout: string }) => {
      expect(r.exitCode).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr + r.stdout).not.toContain(ceph.secretAccessKey);
      expect(r.stderr + r.stdout).not.toContain('wrong-secret-value');
    };

    it('a malformed s3:// URL', async () => {
      const r = await drctl([
        '--source',
        'docs',
        '--target',
        's3://e2e-dst',
        '--source-endpoint',
        ceph.endpoint,
      ]);
      expectClean(r);
      expect(r.stderr).toContain('error: --source "docs" is not an s3:// URL');
      expect(r.stderr).toContain('hint: expected s3://bucket');
    });

    it('a missing bucket', async () => {
      const r = await drctl([
        '--source',
        's3://e2e-src',
        '--target',
        's3://nope-dr',
        '--source-endpoint',
        ceph.endpoint,
      ]);
      expectClean(r);
      expect(r.stderr).toContain(`error: target bucket nope-dr does not exist at ${ceph.endpoint}`);
    });

    it('wrong credentials', async () => {
      const r = await drctl(pair(), { DRCTL_S3_TARGET_SECRET_ACCESS_KEY: 'wrong-secret-value' });
      expectClean(r);
      expect(r.stderr).toMatch(
        /error: target http:\/\/127\.0\.0\.1:\d+ refused the credentials for bucket e2e-dst \(SignatureDoesNotMatch\)/,
      );
      expect(r.stderr).toContain('hint: set DRCTL_S3_TARGET_ACCESS_KEY_ID/DRCTL_S3_TARGET_SECRET_ACCESS_KEY');
    });

    it('an unreachable endpoint', async () => {
      // Port 1 (tcpmux): privileged and unused, so no other test's server can be listening there.
      const port = 1;
      const r = await drctl([
        '--source',
        's3://e2e-src',
        '--target',
        's3://e2e-dst',
        '--source-endpoint',
        `http://127.0.0.1:${port}`,
        '--target-endpoint',
        ceph.endpoint,
      ]);
      expectClean(r);
      expect(r.stderr).toContain(
        `error: cannot reach the source S3 endpoint http://127.0.0.1:${port} (ECONNREFUSED)`,
      );
    });

    it('an endpoint that is not a URL, and conflicting flags', async () => {
      const a = await drctl([
        '--source',
        's3://e2e-src',
        '--target',
        's3://e2e-dst',
        '--source-endpoint',
        'rgw-main:7480',
      ]);
      expectClean(a);
      expect(a.stderr).toContain('--source-endpoint must be an http:// or https:// URL');
      const b = await drctl([...pair(), '--json', '--combined', '-']);
      expectClean(b);
      expect(b.stderr).toContain('--json and --combined - both want stdout');
    });
  });
  it('says what it compared and what not, and --metadata/--download compare more', async () => {
    const plain = await drctl([...pair()]);
    expect(plain.stdout).toContain('note: content compared by ETag, not downloaded');
    expect(plain.stdout).toContain('note: metadata not compared');
    expect(plain.stdout).toContain('same by size + ETag)');
    const deep = await drctl([...pair(), '--download', '--metadata']);
    expect(deep.exitCode).toBe(1);
    expect(deep.stdout).not.toContain('note: metadata not compared');
    expect(deep.stdout).toContain('same by SHA-256 + metadata)');
    const help = await drctl(['--help']);
    expect(help.stdout).toContain('--metadata');
    expect(help.stdout).toContain('--request-timeout');
    expect(help.stdout).toContain('crafted MD5 collision');
  });

  describe('a frozen gateway (SIGSTOP): no hang', () => {
    const freeze = () => {
      const pid = ceph.gatewayPid();
      process.kill(pid, 'SIGSTOP');
      return () => process.kill(pid, 'SIGCONT');
    };

    it('ends at --request-timeout with exit 2 naming the side, no stack', async () => {
      const thaw = freeze();
      try {
        const t0 = Date.now();
        const r = await drctl([...pair(), '--request-timeout', '2s']);
        expect(r.exitCode).toBe(2);
        expect(r.stderr).toMatch(
          /error: (source|target) S3 endpoint http:\/\/127\.0\.0\.1:\d+ did not answer within 2\.00s/,
        );
        expect(r.stderr).toContain('hint: the');
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(Date.now() - t0).toBeLessThan(15_000);
      } finally {
        thaw();
      }
    });

    it('Ctrl-C ends it within 2 s with exit 130', async () => {
      const thaw = freeze();
      try {
        const child = drctl([...pair()]);
        // Long enough for the CLI to start (slow on a loaded machine) and wait on the gateway,
        // well within the default 30 s request deadline.
        await new Promise((r) => setTimeout(r, 8_000));
        const t0 = Date.now();
        child.kill('SIGINT');
        const r = await child;
        expect(Date.now() - t0).toBeLessThan(2_500);
        expect({ code: r.exitCode, signal: r.signal }).toEqual({ code: 130, signal: undefined });
        expect(r.stderr).not.toMatch(/\n\s+at /);
      } finally {
        thaw();
      }
    });
  });
});
