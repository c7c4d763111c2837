import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../checkers/types.js';
import { startCeph, type CephCluster } from '../harness/ceph.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { inParallel, Lab, MD5_COLLISION, PART, readCombined, type PutOptions } from './s3-lab.js';

/**
 * The s3 checker's verdict corpus on a real Ceph RGW, generated systematically: every key shape
 * × every kind of difference, the multipart layouts, metadata-only differences, listing page
 * boundaries and split points, prefix boundaries and the --since window. Each case names the
 * verdict it must get in each mode (plain = size + ETag, --download, --metadata); the checks run
 * once per mode over the whole corpus bucket and every key's verdict is compared.
 */

type Mode = 'plain' | 'download' | 'metadata';
const MODES: Mode[] = ['plain', 'download', 'metadata'];
type Sym = '=' | '+' | '-' | '*' | '?';
/** One expected verdict per mode, or the same in every mode. */
type Expect = Sym | Record<Mode, Sym>;

interface Case {
  name: string;
  /** Writes the case's objects; `src`/`dst` are the corpus buckets, keys go under `at`. */
  plant(at: string): Promise<void>;
  /** Relative key (under `at`) → expected verdict. */
  expect: Array<[string, Expect]>;
  /**
   * A documented limit: the verdict in this mode is `=` although the bytes differ (an MD5
   * collision without --download). Counted apart from the false "consistent" count.
   */
  documentedLimit?: Mode[];
}

const SRC = 'corpus-src';
const DST = 'corpus-dst';
let ceph: CephCluster;
let lab: Lab;
let tmp: string;

const put = (b: string, k: string, body: Buffer | string, o?: PutOptions) => lab.put(b, k, body, o);
const both = async (k: string, body: Buffer | string, o?: PutOptions) => {
  await put(SRC, k, body, o);
  await put(DST, k, body, o);
};

// ---- key shapes -------------------------------------------------------------------------------
/** Key shapes RGW accepts (probed: NUL is refused, 1025 bytes is refused). */
const SHAPES: Array<[string, string]> = [
  ['plain', 'plain.txt'],
  ['space', 'with space.txt'],
  ['leading space', ' lead'],
  ['trailing space', 'trail '],
  ['double space', 'a  b'],
  ['unicode', 'intl/日本語.pdf'],
  ['nfc', 'caf\u00e9'],
  ['nfd', 'cafe\u0301'],
  ['percent', 'pct%41%2F%zz'],
  ['plus', 'plus+sign'],
  ['xml chars', `amp&lt;<>"'`],
  ['control chars', 'ctl\x01\t\x1f\x7f'],
  ['line break', 'nl\nline\r'],
  ['dot segments', 'dot/./x/../y'],
  ['double slash', 'a//b'],
  ['trailing slash', 'dir/'],
  ['leading slash', '/lead'],
  ['query chars', 'q?x#y'],
  ['backslash', 'bs\\x'],
  ['U+FFFD (sorts before U+1F600 in UTF-8, after in UTF-16)', 'z\uFFFD'],
  ['U+1F600', 'z😀'],
  ['U+FFFE noncharacter', 'n\uFFFE'],
];
/** A key of exactly 1024 bytes (S3's maximum) once the case prefix is added. */
const longKey = (at: string) => 'L'.repeat(1024 - Buffer.byteLength(at) - 3) + 'end';

// ---- kinds of difference ----------------------------------------------------------------------
interface Kind {
  name: string;
  plant(key: string): Promise<void>;
  expect: Expect;
}
const KINDS: Kind[] = [
  { name: 'identical twin', plant: (k) => both(k, `body of ${k}`), expect: '=' },
  { name: 'identical empty', plant: (k) => both(k, ''), expect: '=' },
  {
    name: 'content changed, same size',
    plant: async (k) => {
      await put(SRC, k, 'abcd');
      await put(DST, k, 'abce');
    },
    expect: '*',
  },
  {
    name: 'only case changed',
    plant: async (k) => {
      await put(SRC, k, 'Amount');
      await put(DST, k, 'amount');
    },
    expect: '*',
  },
  {
    name: 'only whitespace changed',
    plant: async (k) => {
      await put(SRC, k, '1 000');
      await put(DST, k, '1\t000');
    },
    expect: '*',
  },
  {
    name: 'size changed',
    plant: async (k) => {
      await put(SRC, k, 'abcd');
      await put(DST, k, 'abcde');
    },
    expect: '*',
  },
  {
    name: 'empty vs one byte',
    plant: async (k) => {
      await put(SRC, k, '');
      await put(DST, k, 'x');
    },
    expect: '*',
  },
  { name: 'missing on target', plant: (k) => put(SRC, k, 'main only'), expect: '+' },
  { name: 'extra on target', plant: (k) => put(DST, k, 'dr only'), expect: '-' },
  {
    name: 'rewritten with the same bytes (no-op)',
    plant: async (k) => {
      await both(k, 'same again');
      await put(DST, k, 'same again');
    },
    expect: '=',
  },
];

const cases: Case[] = [];
const allShapes = (at: string): Array<[string, string]> => [...SHAPES, ['1024-byte key', longKey(at)]];

// Every key shape × every kind: the keys of one kind sit side by side under one prefix, so
// ordering traps (U+FFFD vs U+1F600, NFC vs NFD) meet their neighbours.
for (const [ki, kind] of KINDS.entries()) {
  const at = `k${ki}/`;
  for (const [shapeName, key] of allShapes(at)) {
    cases.push({
      name: `${kind.name} / ${shapeName}`,
      plant: () => kind.plant(at + key),
      expect: [[at + key, kind.expect]],
    });
  }
}

// Keys that look alike but are different keys: never matched with each other.
const LOOKALIKES: Array<[string, string, string]> = [
  ['NFC vs NFD', 'caf\u00e9', 'cafe\u0301'],
  ['case only', 'Report.pdf', 'report.pdf'],
  ['trailing slash', 'folder/', 'folder'],
  ['trailing space', 'name ', 'name'],
  ['percent-encoded vs raw', 'a%20b', 'a b'],
  ['plus vs space', 'a+b', 'a b'],
  ['fullwidth vs ASCII', 'ＡＢ', 'AB'],
];
for (const [i, [name, a, b]] of LOOKALIKES.entries()) {
  const at = `look${i}/`;
  cases.push({
    name: `look-alike keys: ${name}`,
    plant: async () => {
      await put(SRC, at + a, 'same body');
      await put(DST, at + b, 'same body');
    },
    expect: [
      [at + a, '+'],
      [at + b, '-'],
    ],
  });
}

// UTF-8 vs UTF-16 order: a merge in JS string order would call `y😀` both missing and extra.
cases.push({
  name: 'ordering trap: U+FFFD only on Main between U+1F600 twins',
  plant: async () => {
    await both('order/y😀', 'same');
    await put(SRC, 'order/y\uFFFD-only-main', 'x');
    await both('order/y\uFFFF', 'same');
  },
  expect: [
    ['order/y😀', '='],
    ['order/y\uFFFD-only-main', '+'],
    ['order/y\uFFFF', '='],
  ],
});

// ---- multipart layouts ------------------------------------------------------------------------
const bytes = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255));
const MP = bytes(3 * PART + 100, 7);
const MP_OTHER = Buffer.from(MP);
MP_OTHER[PART + 5] = MP_OTHER[PART + 5]! ^ 1; // one bit in the second part
const multipart: Array<{
  name: string;
  src: [Buffer, PutOptions];
  dst: [Buffer, PutOptions];
  expect: Expect;
}> = [
  {
    name: 'same bytes, same part layout',
    src: [MP, { parts: [PART, PART, PART, 100] }],
    dst: [MP, { parts: [PART, PART, PART, 100] }],
    expect: '=',
  },
  {
    name: 'same bytes, multipart vs single part',
    src: [MP, { parts: [PART, PART, PART, 100] }],
    dst: [MP, {}],
    expect: { plain: '?', download: '=', metadata: '?' },
  },
  {
    name: 'same bytes, single part vs multipart',
    src: [MP, {}],
    dst: [MP, { parts: [2 * PART, PART + 100] }],
    expect: { plain: '?', download: '=', metadata: '?' },
  },
  {
    name: 'same bytes, 4 parts vs 2 parts',
    src: [MP, { parts: [PART, PART, PART, 100] }],
    dst: [MP, { parts: [2 * PART, PART + 100] }],
    expect: { plain: '?', download: '=', metadata: '?' },
  },
  {
    name: 'same bytes, 2 parts each, split differently',
    src: [MP, { parts: [2 * PART, PART + 100] }],
    dst: [MP, { parts: [PART, 2 * PART + 100] }],
    expect: { plain: '?', download: '=', metadata: '?' },
  },
  {
    name: 'one bit changed, same part layout',
    src: [MP, { parts: [PART, PART, PART, 100] }],
    dst: [MP_OTHER, { parts: [PART, PART, PART, 100] }],
    expect: { plain: '?', download: '*', metadata: '?' },
  },
  {
    name: 'one bit changed, multipart vs single part',
    src: [MP, { parts: [PART, PART, PART, 100] }],
    dst: [MP_OTHER, {}],
    expect: { plain: '?', download: '*', metadata: '?' },
  },
  {
    name: 'size changed, both multipart',
    src: [MP, { parts: [PART, PART, PART, 100] }],
    dst: [MP.subarray(0, MP.length - 1), { parts: [PART, PART, PART, 99] }],
    expect: '*',
  },
  {
    name: 'same bytes, 1 part multipart vs single part',
    src: [MP.subarray(0, 500), { parts: [500] }],
    dst: [MP.subarray(0, 500), {}],
    expect: { plain: '?', download: '=', metadata: '?' },
  },
];
for (const [i, c] of multipart.entries()) {
  const key = `mp${i}/object.bin`;
  cases.push({
    name: `multipart: ${c.name}`,
    plant: async () => {
      // One Content-Type on both sides: RGW's default differs between a multipart upload
      // (binary/octet-stream) and a PUT through the SDK (application/octet-stream).
      await put(SRC, key, c.src[0], { contentType: 'application/octet-stream', ...c.src[1] });
      await put(DST, key, c.dst[0], { contentType: 'application/octet-stream', ...c.dst[1] });
    },
    expect: [[key, c.expect]],
  });
}
cases.push({
  name: 'multipart: same bytes, default Content-Type of a multipart upload vs a PUT',
  plant: async () => {
    await put(SRC, 'mp-default-type/object.bin', MP, { parts: [PART, PART, PART, 100] });
    await put(DST, 'mp-default-type/object.bin', MP, {});
  },
  expect: [['mp-default-type/object.bin', { plain: '?', download: '=', metadata: '*' }]],
});

// ---- MD5 collisions: equal ETags, different bytes ---------------------------------------------
const [COLL_A, COLL_B] = MD5_COLLISION;
cases.push({
  name: 'MD5 collision, single part (equal ETag, different bytes)',
  plant: async () => {
    await put(SRC, 'md5/collision.bin', COLL_A);
    await put(DST, 'md5/collision.bin', COLL_B);
  },
  expect: [['md5/collision.bin', { plain: '=', download: '*', metadata: '=' }]],
  documentedLimit: ['plain', 'metadata'],
});
const prefixBlock = bytes(PART, 3);
cases.push({
  name: 'MD5 collision in the last part of a multipart upload (equal multipart ETag)',
  plant: async () => {
    await put(SRC, 'md5/collision-mp.bin', Buffer.concat([prefixBlock, COLL_A]), { parts: [PART, 128] });
    await put(DST, 'md5/collision-mp.bin', Buffer.concat([prefixBlock, COLL_B]), { parts: [PART, 128] });
  },
  expect: [['md5/collision-mp.bin', { plain: '=', download: '*', metadata: '=' }]],
  documentedLimit: ['plain', 'metadata'],
});

// ---- metadata-only differences ----------------------------------------------------------------
const meta: Array<{ name: string; src: PutOptions; dst: PutOptions; expect: Expect }> = [
  { name: 'same metadata and tags', src: M(), dst: M(), expect: '=' },
  {
    name: 'Content-Type only',
    src: M({ contentType: 'application/pdf' }),
    dst: M({ contentType: 'application/octet-stream' }),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'Content-Type set vs default',
    src: M({ contentType: 'text/plain' }),
    dst: { metadata: M().metadata!, tags: M().tags! },
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'Content-Encoding only',
    src: M({ contentEncoding: 'gzip' }),
    dst: M(),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'Cache-Control only',
    src: M({ cacheControl: 'no-store' }),
    dst: M({ cacheControl: 'max-age=60' }),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'user metadata value',
    src: M({ metadata: { owner: 'alice', checksum: 'abc' } }),
    dst: M({ metadata: { owner: 'bob', checksum: 'abc' } }),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'user metadata value, case only',
    src: M({ metadata: { owner: 'Alice', checksum: 'abc' } }),
    dst: M({ metadata: { owner: 'alice', checksum: 'abc' } }),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'user metadata missing on target',
    src: M({ metadata: { owner: 'alice', retention: '10y' } }),
    dst: M({ metadata: { owner: 'alice' } }),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'tag value',
    src: M({ tags: { class: 'confidential', app: 'core' } }),
    dst: M({ tags: { class: 'public', app: 'core' } }),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'tag missing on target',
    src: M({ tags: { class: 'confidential', app: 'core' } }),
    dst: M({ tags: { app: 'core' } }),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
  {
    name: 'same tags in another order',
    src: M({ tags: { a: '1', b: '2' } }),
    dst: M({ tags: { b: '2', a: '1' } }),
    expect: '=',
  },
  {
    name: 'tag named __proto__',
    src: M({
      tags: Object.fromEntries([
        ['__proto__', 'x'],
        ['app', 'core'],
      ]),
    }),
    dst: M({ tags: { app: 'core' } }),
    expect: { plain: '=', download: '=', metadata: '*' },
  },
];
function M(o: PutOptions = {}): PutOptions {
  return {
    contentType: 'text/plain',
    metadata: { owner: 'alice', checksum: 'abc' },
    tags: { app: 'core', class: 'internal' },
    ...o,
  };
}
for (const [i, c] of meta.entries()) {
  for (const [shape, key] of [
    ['plain key', `meta${i}/doc.txt`],
    ['unicode key', `meta${i}/日本 é+%.txt`],
  ] as const) {
    cases.push({
      name: `metadata: ${c.name} (${shape})`,
      plant: async () => {
        await put(SRC, key, 'same body', c.src);
        await put(DST, key, 'same body', c.dst);
      },
      expect: [[key, c.expect]],
    });
  }
}
// A content difference and a metadata difference at once is different in every mode.
cases.push({
  name: 'content and Content-Type both changed',
  plant: async () => {
    await put(SRC, 'meta-both/x', 'abcd', { contentType: 'text/csv' });
    await put(DST, 'meta-both/x', 'abce', { contentType: 'text/plain' });
  },
  expect: [['meta-both/x', '*']],
});

const expected = new Map<string, Record<Mode, Sym>>();
const limits = new Map<string, Mode[]>();
for (const c of cases) {
  for (const [key, e] of c.expect) {
    if (expected.has(key)) throw new Error(`corpus key used twice: ${JSON.stringify(key)}`);
    expected.set(key, typeof e === 'string' ? { plain: e, download: e, metadata: e } : e);
    if (c.documentedLimit) limits.set(key, c.documentedLimit);
  }
}

const results = new Map<Mode, { result: CheckResult; verdicts: Map<string, string> }>();

async function checkMode(mode: Mode, src = SRC, dst = DST) {
  const combined = join(tmp, `${src}-${mode}-${Math.random().toString(36).slice(2)}.txt`);
  const result = await lab.check(lab.endpoint(src), lab.endpoint(dst), {
    combined,
    download: mode === 'download',
    metadata: mode === 'metadata',
  });
  return { result, verdicts: readCombined(readFileSync(combined, 'utf8')) };
}

beforeAll(async () => {
  ceph = await startCeph({ multipartMinPartSize: PART });
  lab = new Lab(ceph);
  tmp = makeTempDir('s3-corpus');
  await lab.buckets(SRC, DST, 'twins-src', 'twins-dst', 'page-src', 'page-dst', 'pfx-src', 'pfx-dst');
  await lab.buckets('since-src', 'since-dst');
  await inParallel(
    8,
    cases.map((c) => () => c.plant('')),
  );
  for (const mode of MODES) results.set(mode, await checkMode(mode));
}, 240_000);

afterAll(async () => {
  lab?.destroy();
  await ceph?.stop();
  if (tmp) removeDir(tmp);
});

describe(`s3 verdict corpus (${cases.length} cases × ${MODES.length} modes)`, () => {
  it.each(MODES)('every key gets its expected verdict: %s', (mode) => {
    const { verdicts } = results.get(mode)!;
    const wrong: string[] = [];
    for (const [key, e] of expected) {
      const got = verdicts.get(key) ?? '(not reported)';
      if (got !== e[mode]) {
        const why = results
          .get(mode)!
          .result.findings.find((f) => (f.details as { key?: string })?.key === key);
        wrong.push(`${JSON.stringify(key)}: expected ${e[mode]}, got ${got} (${why?.message ?? ''})`);
      }
    }
    for (const key of verdicts.keys())
      if (!expected.has(key)) wrong.push(`unexpected key ${JSON.stringify(key)}`);
    expect(wrong).toEqual([]);
  });

  it('never says "=" for a key whose bytes, size, presence or (with --metadata) metadata differ', () => {
    let falseConsistent = 0;
    for (const mode of MODES) {
      const { verdicts } = results.get(mode)!;
      for (const [key, e] of expected) {
        const differs = e.download !== '=' || e.metadata !== '=';
        const claimed =
          mode === 'plain' ? e.download !== '=' : mode === 'download' ? e.download !== '=' : differs;
        if (claimed && verdicts.get(key) === '=' && !limits.get(key)?.includes(mode)) falseConsistent++;
      }
    }
    expect(falseConsistent).toBe(0);
  });

  it('states what it compared and what not, as warnings in the result', () => {
    const plain = results.get('plain')!.result;
    const warnings = plain.findings.filter((f) => f.severity === 'warning').map((f) => f.kind);
    expect(warnings).toEqual(['content-not-downloaded', 'metadata-not-compared', 'not-compared']);
    const text = plain.findings.find((f) => f.kind === 'content-not-downloaded')!.message;
    expect(text).toContain('crafted MD5 collision');
    expect(plain.summary).toContain('same by size + ETag');
    const dl = results.get('download')!.result;
    expect(dl.findings.filter((f) => f.severity === 'warning').map((f) => f.kind)).toEqual([
      'metadata-not-compared',
      'not-compared',
    ]);
    expect(dl.summary).toContain('same by SHA-256');
    expect(dl.counts.downloaded).toBeGreaterThan(0);
    const md = results.get('metadata')!.result;
    expect(md.summary).toContain('same by size + ETag + metadata');
    expect(md.evidence.compared).toEqual(expect.arrayContaining([expect.stringContaining('tags')]));
  });

  it('identical twins pass in every mode (exit 0), whatever the key shapes and layouts', async () => {
    const twinKeys = [...SHAPES.map(([, k]) => k), longKey('')];
    await inParallel(
      8,
      twinKeys.map((k, i) => async () => {
        const o: PutOptions = { ...M(), ...(i % 3 === 0 ? { parts: [PART, 10] } : {}) };
        const body = i % 3 === 0 ? bytes(PART + 10, i) : `twin ${i}`;
        await put('twins-src', k, body, o);
        await put('twins-dst', k, body, o);
      }),
    );
    for (const mode of MODES) {
      const { result, verdicts } = await checkMode(mode, 'twins-src', 'twins-dst');
      expect(result.status, mode).toBe('consistent');
      expect([...verdicts.values()].every((v) => v === '=')).toBe(true);
      expect(verdicts.size).toBe(twinKeys.length);
    }
  });

  it('listing page boundaries (1000/1001) and parallel split points: same verdicts one way or many', async () => {
    const key = (i: number) => `k/${String(i).padStart(4, '0')}`;
    const want = new Map<string, string>();
    const tasks: Array<() => Promise<unknown>> = [];
    for (let i = 0; i <= 1002; i++) {
      const k = key(i);
      tasks.push(async () => {
        if (i === 1000 || i === 1002) {
          await put('page-src', k, `v${i}`); // first key of page 2 (a split point), last key: missing
          want.set(k, '+');
        } else if (i === 999 || i === 0) {
          await put('page-src', k, `v${i}`); // last key of page 1, first key: changed, same size
          await put('page-dst', k, `w${i}`);
          want.set(k, '*');
        } else if (i === 1001 || i === 100) {
          await put('page-src', k, `v${i}`); // first key of page 2 on DR; a split point (k/01…)
          await put('page-dst', k, `v${i}!`);
          want.set(k, '*');
        } else {
          await put('page-src', k, `v${i}`);
          await put('page-dst', k, `v${i}`);
          want.set(k, '=');
        }
      });
    }
    tasks.push(() => put('page-dst', 'k/0999x', 'extra between pages'));
    want.set('k/0999x', '-');
    await inParallel(16, tasks);
    for (const concurrency of [1, 3, 16]) {
      const combined = join(tmp, `page-${concurrency}.txt`);
      const r = await lab.check(lab.endpoint('page-src'), lab.endpoint('page-dst'), {
        combined,
        concurrency,
      });
      expect(Object.fromEntries(readCombined(readFileSync(combined, 'utf8')))).toEqual(
        Object.fromEntries(want),
      );
      expect(r.counts).toMatchObject({ missing: 2, extra: 1, different: 4, same: 997 });
      if (concurrency === 16)
        expect((r.evidence.buckets as { ranges: number }[])[0]!.ranges).toBeGreaterThan(1);
    }
  });

  it('prefix boundaries: only keys under the prefix count, the prefix itself included', async () => {
    await put('pfx-src', 'p/', 'the prefix itself, only on Main');
    await put('pfx-src', 'p/a', 'same');
    await put('pfx-dst', 'p/a', 'same');
    await put('pfx-src', 'p', 'outside: no slash');
    await put('pfx-src', 'p0', 'outside: sorts right after p/');
    await put('pfx-dst', 'p.', 'outside: sorts right before p/');
    await put('pfx-src', 'o/z', 'outside');
    await put('pfx-dst', 'q', 'outside');
    await put('pfx-src', 'left/x', 'moved prefix');
    await put('pfx-dst', 'right/x', 'moved prefix');
    const combined = join(tmp, 'pfx.txt');
    const r = await lab.check(lab.endpoint('pfx-src', 'p/'), lab.endpoint('pfx-dst', 'p/'), { combined });
    expect(Object.fromEntries(readCombined(readFileSync(combined, 'utf8')))).toEqual({ '': '+', a: '=' });
    expect(r.findings.find((f) => f.kind === 'missing')!.object).toBe('pfx-src/p/');
    const moved = await lab.check(lab.endpoint('pfx-src', 'left/'), lab.endpoint('pfx-dst', 'right/'));
    expect(moved.status).toBe('consistent');
    const unprefixed = await lab.check(lab.endpoint('pfx-src', 'p'), lab.endpoint('pfx-dst', 'p'));
    // Prefix `p` (no slash): p, p/, p0 only on Main, p. only on DR, p/a on both.
    expect(unprefixed.counts).toMatchObject({ missing: 3, extra: 1, same: 1 });
  });
});

describe('--since never hides a deletion (issue 11 #10)', () => {
  it('reports keys deleted inside the window on either side, and compares content only in the window', async () => {
    const S = 'since-src';
    const D = 'since-dst';
    for (const k of ['old-same', 'old-del-main', 'old-del-dr', 'new-diff']) {
      await put(S, k, 'same');
      await put(D, k, 'same');
    }
    await put(S, 'old-drift', 'old main version');
    await put(D, 'old-drift', 'old DR version!');
    await put(D, 'old-extra', 'on DR only, long ago');
    await sleep(1500);
    const since = new Date();
    await sleep(1100);
    await lab.remove(S, 'old-del-main'); // deleted on Main inside the window, DR still has it
    await lab.remove(D, 'old-del-dr'); // lost on DR inside the window
    await put(S, 'new-diff', 'changed on Main');
    await put(S, 'new-missing', 'new on Main');
    const r = await lab.check(lab.endpoint(S), lab.endpoint(D), { since: since.toISOString() });
    expect(r.status).toBe('different');
    const byKey = Object.fromEntries(
      r.findings.filter((f) => f.severity !== 'warning').map((f) => [f.object, f.kind]),
    );
    expect(byKey).toEqual({
      'since-dst/old-del-main': 'extra',
      'since-src/old-del-dr': 'missing',
      'since-src/new-diff': 'different',
      'since-src/new-missing': 'missing',
      'since-dst/old-extra': 'extra',
    });
    // Both old objects present on both sides: content not compared, and said so.
    expect(r.counts.skippedOlder).toBe(2);
    expect(r.summary).toContain('content of 2 not modified since');
    expect(r.findings.find((f) => f.kind === 'window')!.message).toContain('presence was, for every key');
    // The full check also sees the old drift.
    const full = await lab.check(lab.endpoint(S), lab.endpoint(D));
    expect(full.counts).toMatchObject({ different: 2, missing: 2, extra: 2, skippedOlder: 0 });
  });
});
