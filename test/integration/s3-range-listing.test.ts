import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ListObjectsV2Command, S3Client, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { createS3Client, listPage } from '../../checkers/s3/client.js';
import { describeS3Error } from '../../checkers/s3/errors.js';
import { parseListObjectsV2, type ListedObject } from '../../checkers/s3/list-xml.js';
import type { ListingSource } from '../../checkers/s3/range-cursor.js';
import { scanBucketPair, type ObjectResult } from '../../checkers/s3/scan.js';
import { startCeph, type CephCluster } from '../harness/ceph.js';
import { inParallel, Lab, PART } from './s3-lab.js';

/**
 * The listing path on a real Ceph RGW: drctl's own page parser and request path against the
 * SDK's deserializer on the same answers, and the parallel key-range listing (a range splits its
 * rest among idle workers at guessed split points) against one sequential listing: every key
 * exactly once, the same verdicts, also when keys come and go while the listing runs.
 */

const SEED = 1919;
let ceph: CephCluster;
let lab: Lab;
const sdkRaw: Buffer[] = [];
let sdk: S3Client;

/** Key shapes that stress the parser: entities, unicode, url-encoding, control characters. */
const SHAPES = [
  'plain.txt',
  'with space.txt',
  'plus+sign',
  'pct%41%2F%zz',
  `amp&lt;<>"'`,
  'ctl\x01\t\x1f\x7f',
  'nl\nline\r',
  'intl/日本語.pdf',
  'caf\u00e9',
  'cafe\u0301',
  'z\uFFFD',
  'z😀',
  'n\uFFFE',
  'q?x#y=1&b=2',
  'dir/',
  '/lead',
  ' lead',
  'L'.repeat(1021) + 'end', // 1024 bytes, S3's maximum
];

function source(bucket: string, pageSize: number): ListingSource {
  return {
    side: 'source',
    client: createS3Client(lab.endpoint(bucket), 'source', 16, 30_000),
    endpoint: ceph.endpoint,
    bucket,
    prefix: '',
    timeoutMs: 30_000,
    pageSize,
  };
}

beforeAll(async () => {
  ceph = await startCeph({ multipartMinPartSize: PART });
  lab = new Lab(ceph);
  sdk = new S3Client({
    endpoint: ceph.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
  });
  // Keeps every raw ListObjectsV2 answer, then lets the SDK deserialize the same bytes.
  sdk.middlewareStack.addRelativeTo(
    ((next: (a: unknown) => Promise<{ response: { statusCode: number; body: Readable } }>) =>
      async (args: unknown) => {
        const out = await next(args);
        const chunks: Buffer[] = [];
        for await (const c of out.response.body) chunks.push(Buffer.from(c as Uint8Array));
        const body = Buffer.concat(chunks);
        if (out.response.statusCode === 200) sdkRaw.push(body);
        out.response.body = Readable.from([body]);
        return out;
      }) as never,
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'captureRaw' },
  );
  await lab.buckets('shapes');
  await inParallel(
    8,
    SHAPES.map((k, i) => () => lab.put('shapes', k, `body ${i}`)),
  );
  await lab.put('shapes', 'empty', '');
  await lab.put('shapes', 'multi', Buffer.alloc(PART * 2 + 7, 1), { parts: [PART, PART, 7] });
}, 180_000);

afterAll(async () => {
  sdk?.destroy();
  lab?.destroy();
  await ceph?.stop();
});

/** What the SDK says about a url-encoded page, as exact key bytes. */
function fromSdk(out: ListObjectsV2CommandOutput) {
  return (out.Contents ?? []).map((c) => ({
    key: Buffer.from(decodeURIComponent(c.Key!.replace(/\+/g, ' ')), 'utf8'),
    size: c.Size,
    etag: c.ETag,
    modified: c.LastModified!.getTime(),
  }));
}

const ours = (objects: ListedObject[]) =>
  objects.map((o) => ({ key: o.key, size: o.size, etag: o.etag, modified: Date.parse(o.lastModified) }));

describe('listing pages on Ceph RGW', () => {
  it("the page parser reads every page exactly as the SDK's deserializer does", async () => {
    const all: ReturnType<typeof fromSdk> = [];
    let token: string | undefined;
    let pages = 0;
    do {
      sdkRaw.length = 0;
      const out = await sdk.send(
        new ListObjectsV2Command({
          Bucket: 'shapes',
          MaxKeys: 4,
          EncodingType: 'url',
          ContinuationToken: token,
        }),
      );
      expect(sdkRaw).toHaveLength(1);
      const page = parseListObjectsV2(sdkRaw[0]!);
      expect(page.urlEncoded).toBe(true);
      expect(page.isTruncated).toBe(out.IsTruncated);
      expect(ours(page.objects)).toEqual(fromSdk(out));
      all.push(...fromSdk(out));
      token = out.NextContinuationToken;
      pages++;
    } while (token);
    expect(pages).toBeGreaterThan(4);
    const keys = all.map((o) => o.key.toString('utf8'));
    expect(new Set(keys)).toEqual(new Set([...SHAPES, 'empty', 'multi']));
    const byKey = new Map(all.map((o) => [o.key.toString('utf8'), o]));
    expect(byKey.get('empty')!.size).toBe(0);
    expect(byKey.get('multi')!.etag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(byKey.get(SHAPES.at(-1)!)!.key.length).toBe(1024);
  });

  it('the raw request path lists the same keys as the SDK from any StartAfter, tricky keys included', async () => {
    const src = source('shapes', 3);
    const signal = new AbortController().signal;
    try {
      const full = fromSdk(
        await sdk.send(new ListObjectsV2Command({ Bucket: 'shapes', EncodingType: 'url' })),
      );
      // Page by page after the last key, as a range cursor does.
      const listed: ReturnType<typeof ours> = [];
      let after: string | undefined;
      for (;;) {
        const page = await listPage(src.client!, 'shapes', '', after, signal, 3);
        listed.push(...ours(page.objects));
        if (!page.isTruncated) break;
        after = page.objects.at(-1)!.name;
      }
      expect(listed).toEqual(full);
      for (const k of [...SHAPES, 'empty']) {
        const want = fromSdk(
          await sdk.send(new ListObjectsV2Command({ Bucket: 'shapes', EncodingType: 'url', StartAfter: k })),
        );
        const got = await listPage(src.client!, 'shapes', '', k, signal, 1000);
        expect(ours(got.objects), `StartAfter ${JSON.stringify(k)}`).toEqual(want);
      }
      // And a Prefix that needs encoding.
      const want = fromSdk(
        await sdk.send(new ListObjectsV2Command({ Bucket: 'shapes', EncodingType: 'url', Prefix: 'z' })),
      );
      expect(ours((await listPage(src.client!, 'shapes', 'z', undefined, signal)).objects)).toEqual(want);
    } finally {
      src.client!.destroy();
    }
  });

  it('the raw request path fails like the SDK: refused credentials and a missing bucket, named, no secret', async () => {
    const signal = new AbortController().signal;
    const where = { side: 'source' as const, endpoint: ceph.endpoint, bucket: 'shapes' };
    const wrong = createS3Client({ ...lab.endpoint('shapes'), secretAccessKey: 'not-the-secret' }, 'source');
    const right = createS3Client(lab.endpoint('shapes'), 'source');
    try {
      const refused = await listPage(wrong, 'shapes', '', undefined, signal).catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
      const said = describeS3Error(refused, where);
      expect(said.message).toMatch(
        /source .* refused the credentials for bucket shapes \(SignatureDoesNotMatch\)/,
      );
      expect(JSON.stringify(said)).not.toContain('not-the-secret');
      const missing = await listPage(right, 'no-such', '', undefined, signal).catch((e: unknown) => e);
      expect(missing).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
      expect(describeS3Error(missing, { ...where, bucket: 'no-such' }).message).toMatch(
        /source bucket no-such does not exist/,
      );
    } finally {
      wrong.destroy();
      right.destroy();
    }
  });

  it("a host clock an hour fast: the raw path, like the SDK, signs at the gateway's time after one refused request", async () => {
    const signal = new AbortController().signal;
    const raw = createS3Client(lab.endpoint('shapes'), 'source');
    const viaSdk = createS3Client(lab.endpoint('shapes'), 'source');
    const want = fromSdk(await sdk.send(new ListObjectsV2Command({ Bucket: 'shapes', EncodingType: 'url' })));
    // Only Date is faked: this process's clock runs an hour ahead of the gateway's.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    try {
      // The SDK's own pipeline corrects itself (the reference behaviour) ...
      const sdkPage = await viaSdk.send(
        new ListObjectsV2Command({ Bucket: 'shapes', EncodingType: 'url', MaxKeys: 1 }),
      );
      expect(sdkPage.$metadata.httpStatusCode).toBe(200);
      // ... and so must the raw path, on a client that has not yet seen the gateway's clock.
      const got = await listPage(raw, 'shapes', '', undefined, signal);
      expect(ours(got.objects)).toEqual(want);
      const offset = (raw.config as { systemClockOffset?: number }).systemClockOffset ?? 0;
      expect(Math.abs(offset + 3_600_000)).toBeLessThan(60_000);
      // Later pages are signed right at once.
      expect(ours((await listPage(raw, 'shapes', '', 'plain.txt', signal)).objects).length).toBeGreaterThan(
        0,
      );
    } finally {
      vi.useRealTimers();
      raw.destroy();
      viaSdk.destroy();
    }
  });
});

// ---- parallel key ranges ------------------------------------------------------------------------

/** Characters around the split classes' edges: digits, ':' after '9', letters, '{' after 'z', UTF-8. */
const CHARS = ['0', '1', '5', '9', ':', '/', 'a', 'b', 'y', 'z', '{', 'A', 'Z', '-', ' ', 'é', '😀'];
const keyArb = fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 5 }).map((cs) => cs.join(''));
type Kind = 'same' | 'missing' | 'changed' | 'extra';
const setArb = fc.uniqueArray(
  fc.tuple(keyArb, fc.constantFrom<Kind>('same', 'same', 'same', 'same', 'missing', 'changed', 'extra')),
  { minLength: 40, maxLength: 90, selector: ([k]) => k },
);
const EXPECT: Record<Kind, string> = { same: '=', missing: '+', changed: '*', extra: '-' };

async function plant(src: string, dst: string, set: Array<[string, Kind]>): Promise<void> {
  await lab.buckets(src, dst);
  await inParallel(
    16,
    set.flatMap(([k, kind]) => {
      const tasks: Array<() => Promise<unknown>> = [];
      if (kind !== 'extra') tasks.push(() => lab.put(src, k, `v ${k}`));
      if (kind === 'same') tasks.push(() => lab.put(dst, k, `v ${k}`));
      if (kind === 'changed') tasks.push(() => lab.put(dst, k, `V ${k}`));
      if (kind === 'extra') tasks.push(() => lab.put(dst, k, `v ${k}`));
      return tasks;
    }),
  );
}

/** Runs the merge: key → verdict, failing on a key reported twice. */
async function scan(
  src: string,
  dst: string,
  pageSize: number,
  concurrency: number,
  onObject?: (r: ObjectResult, n: number) => Promise<void> | void,
): Promise<{ verdicts: Map<string, string>; ranges: number }> {
  const a = source(src, pageSize);
  const b = { ...source(dst, pageSize), side: 'target' as const };
  const verdicts = new Map<string, string>();
  try {
    const counts = await scanBucketPair(a, b, {
      concurrency,
      compareModTime: false,
      signal: new AbortController().signal,
      onObject: (r) => {
        if (verdicts.has(r.name)) throw new Error(`key reported twice: ${JSON.stringify(r.name)}`);
        verdicts.set(r.name, r.verdict);
        return onObject?.(r, verdicts.size);
      },
    });
    return { verdicts, ranges: counts.ranges };
  } finally {
    a.client!.destroy();
    b.client!.destroy();
  }
}

describe('parallel key-range listing on Ceph RGW', () => {
  it(`covers every key exactly once with the sequential verdicts (seed ${SEED}; random key sets, page sizes and split points)`, async () => {
    const sets = fc.sample(setArb, { seed: SEED, numRuns: 3 });
    const plans = fc.sample(fc.tuple(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 8 })), {
      seed: SEED,
      numRuns: 12,
    });
    let split = 0;
    for (const [i, set] of sets.entries()) {
      await plant(`r${i}-src`, `r${i}-dst`, set);
      const want = new Map(set.map(([k, kind]) => [k, EXPECT[kind]]));
      // The reference: one sequential listing, one page.
      const ref = await scan(`r${i}-src`, `r${i}-dst`, 1000, 1);
      expect(Object.fromEntries(ref.verdicts)).toEqual(Object.fromEntries(want));
      for (const [pageSize, concurrency] of plans.slice(i * 4, i * 4 + 4)) {
        const got = await scan(`r${i}-src`, `r${i}-dst`, pageSize, concurrency);
        expect(
          Object.fromEntries(got.verdicts),
          `seed ${SEED}, set ${i}, page size ${pageSize}, concurrency ${concurrency}`,
        ).toEqual(Object.fromEntries(want));
        if (got.ranges > 1) split++;
      }
    }
    // The property is only worth something if the listings really were split.
    expect(split).toBeGreaterThanOrEqual(8);
  }, 240_000);

  it('keys added and removed while the ranges are listed: never a key twice, never a stable difference missed', async () => {
    const set = fc.sample(setArb, { seed: SEED + 1, numRuns: 1 })[0]!;
    // Both sides equal except one stable difference of each kind.
    const base: Array<[string, Kind]> = set.map(([k]) => [k, 'same']);
    const stable = new Map<string, Kind>([
      [base[7]![0], 'missing'],
      [base[20]![0], 'changed'],
      [base[33]![0], 'extra'],
    ]);
    const planted = base.map(([k]) => [k, stable.get(k) ?? 'same'] as [string, Kind]);
    await plant('churn-src', 'churn-dst', planted);
    const untouched = new Set(planted.map(([k]) => k));
    // Changes made while the listing runs: new keys on either side (some between existing keys,
    // some at the digit/letter class edges where ranges are cut), and deletions of existing ones.
    const added = ['0', '5:', '9{', 'a', 'a0', 'b/', 'y9', 'z{', 'é', '😀0'].filter((k) => !untouched.has(k));
    const removed = [base[3]![0], base[15]![0], base[27]![0], base[39]![0]];
    for (const k of removed) untouched.delete(k);
    let fired = false;
    const { verdicts, ranges } = await scan('churn-src', 'churn-dst', 3, 6, async (_r, n) => {
      if (n !== 6 || fired) return;
      fired = true;
      await inParallel(8, [
        ...added.map((k, i) => () => lab.put(i % 2 ? 'churn-src' : 'churn-dst', k, 'new')),
        ...removed.map((k, i) => () => lab.remove(i % 2 ? 'churn-src' : 'churn-dst', k)),
      ]);
    });
    expect(fired).toBe(true);
    expect(ranges).toBeGreaterThan(1);
    // Every key that stayed put has its verdict; the ones that came or went may be seen or not.
    for (const k of untouched) {
      const want = EXPECT[stable.get(k) ?? 'same'];
      expect(verdicts.get(k), `key ${JSON.stringify(k)}`).toBe(want);
    }
    for (const [k, v] of verdicts) {
      if (untouched.has(k)) continue;
      const i = added.indexOf(k);
      if (i >= 0) expect(v, `added key ${JSON.stringify(k)}`).toBe(i % 2 ? '+' : '-');
      else expect(['=', '+', '-'], `removed key ${JSON.stringify(k)}`).toContain(v);
    }
    expect([...verdicts.values()].filter((v) => v !== '=').length).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
