import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { parseExactJson, stringifyExact, type JsonValue } from '../../checkers/es/exact-json.js';
import { HashJoin, joinStreams } from '../../checkers/es/hash-join.js';
import type { MergeSink } from '../../checkers/es/merge.js';
import { fastHash, type RawEntry } from '../../checkers/es/scan-index-order.js';
import { readSearchPage } from '../../checkers/es/search-page.js';
import { FieldKinds } from '../../checkers/es/source-digest.js';

const SEED = 1919;
const kinds = new FieldKinds({ properties: { n: { type: 'long' }, f: { type: 'double' } } });

function raw(id: string, source: string | undefined, routing?: string): RawEntry {
  const e: RawEntry = { id, hash: fastHash(routing, source), raw: source };
  if (routing !== undefined) e.routing = routing;
  return e;
}

function collect() {
  const out = {
    match: [] as string[],
    different: [] as string[],
    missing: [] as string[],
    extra: [] as string[],
  };
  const sink: MergeSink = {
    match: (a) => out.match.push(a.id),
    different: (a) => out.different.push(a.id),
    missing: (a) => out.missing.push(a.id),
    extra: (b) => out.extra.push(b.id),
    unverified: () => {
      throw new Error('no keyless documents when joining on _id');
    },
  };
  return { out, sink };
}

async function* pages<T>(items: T[], size: number): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.resolve();
    yield items.slice(i, i + size);
  }
}

function shuffle<T>(items: T[], rnd: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const joinDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('drctl-es-join-')).length;

describe('readSearchPage', () => {
  it('gives each hit its _source text exactly as sent, and the ids, routings and sort values decoded', () => {
    const text =
      '{"took":1,"pit_id":"p\\u0031","hits":{"total":{"value":2},"hits":[' +
      '{"_index":"i","_id":"a\\"b","_score":null,"_source":{"x" : 1.50, "s":"}]\\\\\\""},"sort":[12,"k"]},' +
      '{"_id":"é","_routing":"r1","_source":[1,{"a":[]}]},{"_id":"n"}]}}';
    const page = readSearchPage(text);
    expect(page.pitId).toBe('p1');
    expect(page.hits.map((h) => [h._id, h._routing, h.source])).toEqual([
      ['a"b', undefined, '{"x" : 1.50, "s":"}]\\\\\\""}'],
      ['é', 'r1', '[1,{"a":[]}]'],
      ['n', undefined, undefined],
    ]);
    expect(stringifyExact(page.hits[0]!.sort)).toBe('[12,"k"]');
  });

  it('agrees with the exact parser on any page of any documents (seeded)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.jsonValue(), fc.option(fc.string())), {
          maxLength: 8,
        }),
        (docs) => {
          const hits = docs.map(([id, source, routing]) => ({
            _id: id,
            ...(routing === null ? {} : { _routing: routing }),
            _source: source,
          }));
          const text = JSON.stringify(
            { _scroll_id: 's', hits: { hits } },
            null,
            docs.length % 2 ? 1 : undefined,
          );
          const page = readSearchPage(text);
          const exact = parseExactJson(text) as { hits: { hits: { _source: JsonValue }[] } };
          expect(page.scrollId).toBe('s');
          expect(page.hits.map((h) => h._id)).toEqual(hits.map((h) => h._id));
          expect(page.hits.map((h) => h._routing)).toEqual(hits.map((h) => h._routing));
          expect(page.hits.map((h) => stringifyExact(parseExactJson(h.source!)))).toEqual(
            exact.hits.hits.map((h) => stringifyExact(h._source)),
          );
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('hash join', () => {
  it('equals a set comparison for any two id sets, any order, any pages, in memory or on disk (seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 80 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer(),
        fc.boolean(),
        async (xs, ys, pa, pb, seed, spill) => {
          let s = seed >>> 0;
          const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
          const changed = new Set(xs.filter((_, i) => i % 4 === 0));
          const reordered = new Set(xs.filter((_, i) => i % 4 === 1));
          const src = xs.map((k) => raw(k, `{"n":1,"f":-0.0,"k":${JSON.stringify(k)}}`));
          const dst = ys.map((k) =>
            raw(
              k,
              changed.has(k)
                ? `{"n":1,"f":0.0,"k":${JSON.stringify(k)}}`
                : reordered.has(k)
                  ? `{ "k":${JSON.stringify(k)}, "f":-0e0, "n":1.0e0 }`
                  : `{"n":1,"f":-0.0,"k":${JSON.stringify(k)}}`,
            ),
          );
          const { out, sink } = collect();
          await joinStreams(pages(shuffle(src, rnd), pa), pages(shuffle(dst, rnd), pb), sink, {
            kinds,
            keepSource: false,
            expected: src.length + dst.length,
            ...(spill ? { memoryBytes: 1 } : {}),
          });
          const inDst = new Set(ys);
          const inSrc = new Set(xs);
          const sorted = (l: string[]) => [...l].sort(byBytes);
          expect(out.missing).toEqual(sorted(xs.filter((k) => !inDst.has(k))));
          expect(out.extra).toEqual(sorted(ys.filter((k) => !inSrc.has(k))));
          expect(out.different).toEqual(sorted(xs.filter((k) => inDst.has(k) && changed.has(k))));
          expect(sorted(out.match)).toEqual(sorted(xs.filter((k) => inDst.has(k) && !changed.has(k))));
        },
      ),
      { seed: SEED, numRuns: 80 },
    );
    expect(joinDirs()).toBe(0);
  });

  it('pairs an _id under several routings by routing, and a lone pair under different routings as changed', () => {
    const { out, sink } = collect();
    const j = new HashJoin(sink, { kinds, keepSource: false, expected: 0 });
    j.add('source', [raw('a', '{}', 'r1'), raw('a', '{}', 'r2'), raw('b', '{}', 'r1'), raw('c', '{}', 'x')]);
    j.add('target', [raw('a', '{}', 'r2'), raw('a', '{}', 'r1'), raw('b', '{}', 'r9'), raw('c', '{}')]);
    j.finish();
    expect(out.match).toEqual(['a', 'a']);
    expect(out.different).toEqual(['b', 'c']);
  });

  it('parses only the documents whose bytes differ', () => {
    const { out, sink } = collect();
    const j = new HashJoin(sink, { kinds, keepSource: true, expected: 0 });
    // Not JSON at all, yet identical bytes on both sides: matched without being parsed.
    j.add('source', [raw('same', '{not json'), raw('k', '{"a":1,"b":2}')]);
    j.add('target', [raw('same', '{not json'), raw('k', '{"b":2,"a":1}')]);
    j.finish();
    expect(out.match).toEqual(['same', 'k']);
  });
});

describe('hash join memory', () => {
  it('a waiting document does not keep the whole search answer it was read from alive', () => {
    // readSearchPage hands out each `_source` (and a long `_id`) as a slice of the answer's text;
    // V8 keeps the whole parent string alive for as long as a slice of it is. Documents that wait
    // for their twin must hold only their own text: the memory budget counts only that.
    const { sink } = collect();
    const join = new HashJoin(sink, { kinds, keepSource: false, expected: 400 });
    const collectGc = (): void => {
      setFlagsFromString('--expose-gc');
      (runInNewContext('gc') as () => void)();
    };
    const pad = 'x'.repeat(500_000);
    collectGc();
    const before = getHeapStatistics().used_heap_size;
    for (let p = 0; p < 200; p++) {
      // One ~500 KB answer per page, one document of it waiting (its twin never arrives).
      const id = `doc-${String(p).padStart(12, '0')}-${'k'.repeat(20)}`;
      const text = `{"hits":{"hits":[{"_id":"${id}","_source":{"n":${p},"pad":"${pad}${p}"}}]}}`;
      const page = readSearchPage(text);
      join.add(
        'source',
        page.hits.map((h) => raw(h._id, h.source!.slice(0, 40))),
      );
    }
    collectGc();
    const retained = getHeapStatistics().used_heap_size - before;
    // 200 waiting documents of ~100 bytes each; the answers were ~100 MB together.
    expect(retained).toBeLessThan(20 * 1024 * 1024);
    join.finish();
  });
});

describe('hash join: waiting copies', () => {
  it('a waiting document keeps its exact _id, routing and _source (lone surrogates, non-ASCII, long)', () => {
    const { out, sink } = collect();
    const join = new HashJoin(sink, { kinds, keepSource: false, expected: 8 });
    const ids = [`lone-\ud800-${'a'.repeat(20)}`, `ünïcödé-${'b'.repeat(20)}-😀`, 'c'.repeat(300)];
    const src = ids.map((id, i) => raw(id, `{"n":${i},"s":"${id}-\u00e9"}`, `route-${'r'.repeat(i * 10)}`));
    const dst = ids.map((id, i) => raw(id, `{"n":${i},"s":"${id}-\u00e9"}`, `route-${'r'.repeat(i * 10)}`));
    dst[1] = raw(ids[1]!, `{"n":1,"s":"changed"}`, `route-${'r'.repeat(10)}`);
    join.add('source', src);
    join.add('target', dst);
    join.finish();
    expect(out.match.sort()).toEqual([ids[0], ids[2]].sort());
    expect(out.different).toEqual([ids[1]]);
    expect(out.missing).toEqual([]);
    expect(out.extra).toEqual([]);
  });
});
