import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runS3Check, type S3CheckOptions } from '../../checkers/s3/index.js';
import type { CheckResult, CheckTarget, S3Endpoint } from '../../checkers/types.js';
import { ConnectionError, UsageError } from '../../src/errors.js';
import { startCeph, type CephCluster } from '../harness/ceph.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * The s3 checker against a real one-host Ceph RGW: planted differences of every kind, keys that
 * break naive ordering, paging and parallel key ranges, --since, --download, bucket lists, and
 * bad input. One cluster for the whole file (it takes ~13 s to start); one bucket pair per scenario.
 */

let ceph: CephCluster;
let s3: S3Client;
let tmp: string;

const MIB = 1024 * 1024;

function labClient(keys: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({
    endpoint: ceph.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: keys,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function put(bucket: string, key: string, body: string | Buffer, client = s3): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** A two-part upload (5 MiB + the rest): its ETag is `…-2`, never the MD5 of the content. */
async function putMultipart(bucket: string, key: string, body: Buffer): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts = [body.subarray(0, 5 * MIB), body.subarray(5 * MIB)];
  const done: { ETag: string; PartNumber: number }[] = [];
  for (const [i, part] of parts.entries()) {
    const r = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: part }),
    );
    done.push({ ETag: r.ETag!, PartNumber: i + 1 });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: done },
    }),
  );
  // RGW answers CompleteMultipartUpload with an empty ETag; HEAD shows the real multipart one.
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  expect(head.ETag).toMatch(/-2"$/);
}

function endpoint(
  bucket: string,
  prefix = '',
  keys?: { accessKeyId: string; secretAccessKey: string },
): S3Endpoint {
  return {
    endpoint: ceph.endpoint,
    bucket,
    prefix,
    accessKeyId: keys?.accessKeyId ?? ceph.accessKeyId,
    secretAccessKey: keys?.secretAccessKey ?? ceph.secretAccessKey,
  };
}

async function check(
  source: S3Endpoint,
  target: S3Endpoint,
  options: Partial<S3CheckOptions> = {},
): Promise<CheckResult> {
  const t: CheckTarget = { kind: 's3', source, target };
  return runS3Check(
    t,
    {
      download: false,
      metadata: false,
      requestTimeout: '30s',
      compareModTime: false,
      concurrency: 8,
      maxFindings: 10_000,
      ...options,
    },
    { signal: new AbortController().signal, progress: () => undefined },
  );
}

/** The objects with a difference or doubt (not the scope warnings), sorted. */
function differences(r: CheckResult): string[] {
  return r.findings
    .filter((f) => f.severity !== 'warning')
    .map((f) => f.object)
    .sort();
}

function combinedLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).sort();
}

const body = (size: number, fill: string) => Buffer.alloc(size, fill);
const SAME_KEYS = [
  'docs/a.txt',
  'docs/sub dir/with space.txt',
  'deep/a/b/c/d.txt',
  'intl/é.txt',
  'intl/日本語.pdf',
  'plus+sign',
  'pct%41',
  // U+FFFD sorts after U+1F600 in JS string order but before it in UTF-8 byte order (S3's).
  'z\uFFFD',
  'z😀',
  'y😀',
];
// Only on Main, and sorts before `y😀` by bytes but after it in JS string order: a merge that
// compared JS strings would report `y😀` as both missing and extra.
const ORDER_TRAP = 'y\uFFFD-only-main';
const BULK = 2500;
const bulkKey = (i: number) => `bulk/${String(i).padStart(5, '0')}`;

beforeAll(async () => {
  ceph = await startCeph();
  s3 = labClient(ceph);
  tmp = makeTempDir('s3-check');
  for (const b of ['plant-src', 'plant-dst', 'since-src', 'since-dst'])
    await s3.send(new CreateBucketCommand({ Bucket: b }));

  for (const k of SAME_KEYS) for (const b of ['plant-src', 'plant-dst']) await put(b, k, `content of ${k}`);
  await put('plant-src', 'only/on-main.txt', 'main');
  await put('plant-src', 'intl/ñ-missing.txt', 'main');
  await put('plant-src', ORDER_TRAP, 'main');
  await put('plant-dst', 'only/on-dr.txt', 'dr');
  await put('plant-src', 'docs/same-size.txt', 'AAAA');
  await put('plant-dst', 'docs/same-size.txt', 'BBBB');
  await put('plant-src', 'docs/size.txt', 'short');
  await put('plant-dst', 'docs/size.txt', 'a longer body');
  const big = body(5 * MIB + 1000, 'm');
  await putMultipart('plant-src', 'mp/same.bin', big);
  await put('plant-dst', 'mp/same.bin', big);
  await putMultipart('plant-src', 'mp/diff-same-size.bin', big);
  await put('plant-dst', 'mp/diff-same-size.bin', body(5 * MIB + 1000, 'x'));
  await putMultipart('plant-src', 'mp/diff-size.bin', big);
  await put('plant-dst', 'mp/diff-size.bin', body(5 * MIB + 999, 'm'));
  await putMultipart('plant-src', 'mp/both.bin', big);
  await putMultipart('plant-dst', 'mp/both.bin', big);
  // Enough keys for several pages per side and for the key space to be split among workers.
  const bulk = Array.from({ length: BULK }, (_, i) => i);
  for (let i = 0; i < bulk.length; i += 50) {
    await Promise.all(
      bulk.slice(i, i + 50).flatMap((n) => {
        const puts = [put('plant-src', bulkKey(n), `bulk ${n}`)];
        if (n !== 1234) puts.push(put('plant-dst', bulkKey(n), n === 2222 ? `BULK ${n}` : `bulk ${n}`));
        return puts;
      }),
    );
  }
});

afterAll(async () => {
  s3?.destroy();
  await ceph?.stop();
  if (tmp) removeDir(tmp);
});

describe('s3 checker on Ceph RGW', () => {
  const expectedLines = () =>
    [
      ...SAME_KEYS.map((k) => `= ${k}`),
      ...Array.from({ length: BULK }, (_, i) => i)
        .filter((n) => n !== 1234 && n !== 2222)
        .map((n) => `= ${bulkKey(n)}`),
      '= mp/both.bin',
      '+ only/on-main.txt',
      '+ intl/ñ-missing.txt',
      `+ ${ORDER_TRAP}`,
      `+ ${bulkKey(1234)}`,
      '- only/on-dr.txt',
      '* docs/same-size.txt',
      '* docs/size.txt',
      '* mp/diff-size.bin',
      `* ${bulkKey(2222)}`,
      '? mp/diff-same-size.bin',
      '? mp/same.bin',
    ].sort();

  it('reports every planted difference, and multipart vs single part as unverified', async () => {
    const combined = join(tmp, 'plant.txt');
    const r = await check(endpoint('plant-src'), endpoint('plant-dst'), { combined });
    expect(r.status).toBe('different');
    expect(r.ok).toBe(false);
    expect(r.counts).toMatchObject({
      buckets: 1,
      sourceObjects: SAME_KEYS.length + BULK + 9,
      targetObjects: SAME_KEYS.length + BULK - 1 + 7,
      missing: 4,
      extra: 1,
      different: 4,
      unverified: 2,
      errors: 0,
      same: SAME_KEYS.length + BULK - 2 + 1,
    });
    expect(combinedLines(combined)).toEqual(expectedLines());
    const byObject = new Map(r.findings.map((f) => [f.object, f]));
    expect(byObject.get('plant-src/mp/same.bin')).toMatchObject({
      kind: 'unverified',
      severity: 'unverified',
    });
    expect(byObject.get('plant-src/mp/same.bin')!.message).toContain('2 parts vs single part');
    expect(byObject.get('plant-src/docs/size.txt')!.message).toBe('size 5 vs 13');
    expect(byObject.get('plant-dst/only/on-dr.txt')).toMatchObject({ kind: 'extra' });
    expect(r.summary).toContain('4 missing on target');
  });

  it('--download compares every pair of equal size by SHA-256, settling multipart vs single part', async () => {
    // Under mp/ only: downloading the 2,500 bulk keys too would only cost time (the corpus and
    // differential tests cover --download over many keys).
    const combined = join(tmp, 'plant-download.txt');
    const r = await check(endpoint('plant-src', 'mp/'), endpoint('plant-dst', 'mp/'), {
      combined,
      download: true,
    });
    // Every key on both sides is downloaded, except the one whose sizes already differ.
    expect(r.counts).toMatchObject({ same: 2, different: 2, unverified: 0, downloaded: 3 });
    expect(combinedLines(combined)).toEqual([
      '* diff-same-size.bin',
      '* diff-size.bin',
      '= both.bin',
      '= same.bin',
    ]);
  });

  it('gives the same answer listing one way or many ways at once', async () => {
    const one = join(tmp, 'c1.txt');
    const many = join(tmp, 'c16.txt');
    const a = await check(endpoint('plant-src'), endpoint('plant-dst'), { combined: one, concurrency: 1 });
    const b = await check(endpoint('plant-src'), endpoint('plant-dst'), { combined: many, concurrency: 16 });
    expect(combinedLines(many)).toEqual(combinedLines(one));
    expect(b.counts).toMatchObject({ ...a.counts, listRequests: b.counts.listRequests });
    const ranges = (r: CheckResult) => (r.evidence.buckets as { ranges: number }[])[0]!.ranges;
    expect(ranges(a)).toBe(1);
    expect(ranges(b)).toBeGreaterThan(1);
  });

  it('compares under a prefix on each side', async () => {
    const r = await check(endpoint('plant-src', 'docs/'), endpoint('plant-dst', 'docs/'));
    expect(r.counts).toMatchObject({ sourceObjects: 4, targetObjects: 4, same: 2, different: 2, missing: 0 });
    expect(differences(r)).toEqual(['plant-src/docs/same-size.txt', 'plant-src/docs/size.txt']);
  });

  it('is consistent (exit-code 0 status) for a bucket against itself', async () => {
    const r = await check(endpoint('plant-src'), endpoint('plant-src'));
    expect(r.status).toBe('consistent');
    expect(r.ok).toBe(true);
    expect(r.counts.same).toBe(r.counts.sourceObjects);
  });

  it('--since compares content only of objects modified after the time on either side', async () => {
    await put('since-src', 'old-diff', 'old main version');
    await put('since-dst', 'old-diff', 'old DR');
    await put('since-src', 'old-same', 'same');
    await put('since-dst', 'old-same', 'same');
    await sleep(1500);
    const since = new Date();
    await sleep(1100);
    await put('since-src', 'new-diff', 'new main version');
    await put('since-dst', 'new-diff', 'new DR');
    await put('since-src', 'new-missing', 'x');
    await put('since-dst', 'old-same', 'same'); // replicated again: newer on DR only, still compared
    const r = await check(endpoint('since-src'), endpoint('since-dst'), { since: since.toISOString() });
    expect(r.counts).toMatchObject({
      sourceObjects: 4,
      targetObjects: 3,
      skippedOlder: 1,
      different: 1,
      missing: 1,
      same: 1,
    });
    expect(differences(r)).toEqual(['since-src/new-diff', 'since-src/new-missing']);
    const full = await check(endpoint('since-src'), endpoint('since-dst'));
    expect(full.counts).toMatchObject({ different: 2, missing: 1, skippedOlder: 0 });
  });

  it('compares many buckets in one run: a list, or every bucket of the accounts', async () => {
    const listed = await check(endpoint(''), endpoint(''), { buckets: ['plant-src', 'since-src'] });
    expect(listed.counts.buckets).toBe(2);
    expect(listed.status).toBe('consistent');

    // Two accounts (bucket names are global in RGW's default tenant, so each side owns its own):
    // every bucket of either account is compared; a bucket absent on one side lists as empty.
    const mainKeys = await ceph.createUser('allmain');
    const drKeys = await ceph.createUser('alldr');
    const main = labClient(mainKeys);
    const dr = labClient(drKeys);
    await main.send(new CreateBucketCommand({ Bucket: 'all-shared-main' }));
    await dr.send(new CreateBucketCommand({ Bucket: 'all-dr-only' }));
    await main.send(new CreateBucketCommand({ Bucket: 'all-main-only' }));
    await put('all-shared-main', 'k1', 'v', main);
    await put('all-main-only', 'm1', 'v', main);
    await put('all-main-only', 'm2', 'v', main);
    await put('all-dr-only', 'd1', 'v', dr);
    main.destroy();
    dr.destroy();
    const r = await check(endpoint('', '', mainKeys), endpoint('', '', drKeys), { buckets: 'all' });
    expect(r.counts.buckets).toBe(3);
    expect(r.counts).toMatchObject({ missing: 3, extra: 1, sourceObjects: 3, targetObjects: 1 });
    const buckets = r.evidence.buckets as {
      source: { bucket: string; exists: boolean };
      target: { exists: boolean };
    }[];
    expect(buckets.map((b) => [b.source.bucket, b.source.exists, b.target.exists])).toEqual([
      ['all-dr-only', false, true],
      ['all-main-only', true, false],
      ['all-shared-main', true, false],
    ]);
  });

  describe('bad input is exit 2 with a clear message and no secret', () => {
    it('a missing bucket', async () => {
      const err = await check(endpoint('no-such-bucket'), endpoint('plant-dst')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as Error).message).toBe(`source bucket no-such-bucket does not exist at ${ceph.endpoint}`);
      const err2 = await check(endpoint('plant-src'), endpoint('no-such-dr')).catch((e: unknown) => e);
      expect((err2 as Error).message).toContain('target bucket no-such-dr does not exist');
    });

    it('wrong credentials', async () => {
      const secret = 'this-secret-must-not-leak';
      const err = await check(endpoint('plant-src'), {
        ...endpoint('plant-dst'),
        secretAccessKey: secret,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(/^target .* refused the credentials/);
      expect(JSON.stringify({ m: (err as Error).message, h: (err as ConnectionError).hint })).not.toContain(
        secret,
      );
    });

    it('an unreachable endpoint', async () => {
      // Port 1 (tcpmux): privileged and unused, so no other test's server can be listening there.
      const port = 1;
      const t0 = Date.now();
      const err = await check(
        { ...endpoint('plant-src'), endpoint: `http://127.0.0.1:${port}` },
        endpoint('plant-dst'),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toBe(
        `cannot reach the source S3 endpoint http://127.0.0.1:${port} (ECONNREFUSED)`,
      );
      expect(Date.now() - t0).toBeLessThan(60_000);
    });

    it('an unparseable --since', async () => {
      await expect(
        check(endpoint('plant-src'), endpoint('plant-dst'), { since: 'last tuesday' }),
      ).rejects.toThrow(UsageError);
    });
  });
});
