import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeSorted, ScanOrderError, type MergeSink } from '../../checkers/es/merge.js';
import type { DocEntry } from '../../checkers/es/scan.js';
import { sortKeyBytes } from '../../checkers/es/id-order.js';

function entry(key: string, hash = 'h'): DocEntry {
  return { key, sortKey: sortKeyBytes(key), id: key, hash };
}

async function* pages(entries: DocEntry[], size: number): AsyncGenerator<DocEntry[]> {
  for (let i = 0; i < entries.length; i += size) {
    await Promise.resolve(); // a page arrives asynchronously, as from the server
    yield entries.slice(i, i + size);
  }
}

function collect() {
  const out = {
    match: [] as string[],
    different: [] as string[],
    missing: [] as string[],
    extra: [] as string[],
    unverified: [] as string[],
  };
  const sink: MergeSink = {
    match: (a) => out.match.push(a.id),
    different: (a) => out.different.push(a.id),
    missing: (a) => out.missing.push(a.id),
    extra: (b) => out.extra.push(b.id),
    unverified: (e, side, reason) => out.unverified.push(`${side}:${reason}:${e.id}`),
  };
  return { out, sink };
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('mergeSorted', () => {
  it('equals a set comparison for any two sorted id sets and any page sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 60 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 7 }),
        async (xs, ys, pa, pb) => {
          const src = [...xs].sort(byBytes);
          const dst = [...ys].sort(byBytes);
          const changed = new Set(src.filter((_, i) => i % 5 === 0));
          const { out, sink } = collect();
          await mergeSorted(
            pages(
              src.map((k) => entry(k)),
              pa,
            ),
            pages(
              dst.map((k) => entry(k, changed.has(k) ? 'other' : 'h')),
              pb,
            ),
            sink,
          );
          const inDst = new Set(dst);
          const inSrc = new Set(src);
          expect(out.missing).toEqual(src.filter((k) => !inDst.has(k)));
          expect(out.extra).toEqual(dst.filter((k) => !inSrc.has(k)));
          expect(out.different).toEqual(src.filter((k) => inDst.has(k) && changed.has(k)));
          expect(out.match).toEqual(src.filter((k) => inDst.has(k) && !changed.has(k)));
        },
      ),
    );
  });

  it('orders like the server: UTF-8 bytes, so "10" < "100" < "14" < "7" < "AB" < "ab" < "é"', async () => {
    const keys = ['10', '100', '14', '7', 'AB', 'ab', 'é'];
    const { out, sink } = collect();
    await mergeSorted(
      pages(
        keys.map((k) => entry(k)),
        2,
      ),
      pages(
        keys.map((k) => entry(k)),
        3,
      ),
      sink,
    );
    expect(out.match).toEqual(keys);
  });

  it('marks documents without a key unverified and joins a repeated key as a group', async () => {
    const { out, sink } = collect();
    const noKey: DocEntry = { key: undefined, sortKey: Buffer.alloc(0), id: 'x1', hash: 'h' };
    await mergeSorted(
      pages(
        [entry('a'), entry('b'), { ...entry('b'), id: 'b2' }, { ...entry('b'), id: 'b3', hash: 'z' }, noKey],
        2,
      ),
      pages([entry('a'), { ...entry('b'), id: 'b3', hash: 'y' }, entry('b')], 2),
      sink,
    );
    expect(out.match).toEqual(['a', 'b']);
    expect(out.different).toEqual(['b3']);
    expect(out.missing).toEqual(['b2']);
    expect(out.unverified).toEqual(['source:no-id-field:x1']);
  });

  it('a key group is consistent exactly when both sides hold the same documents (seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom('k1', 'k2', 'k3'),
            fc.constantFrom('i1', 'i2', 'i3', 'i4'),
            fc.constantFrom('h1', 'h2'),
          ),
          {
            maxLength: 12,
          },
        ),
        fc.array(
          fc.tuple(
            fc.constantFrom('k1', 'k2', 'k3'),
            fc.constantFrom('i1', 'i2', 'i3', 'i4'),
            fc.constantFrom('h1', 'h2'),
          ),
          {
            maxLength: 12,
          },
        ),
        fc.integer({ min: 1, max: 4 }),
        async (xs: string[][], ys: string[][], size: number) => {
          // One document per (key, id) on each side, as a cluster holds it.
          const uniq = (l: string[][]) =>
            [...new Map(l.map((t) => [`${t[0]}/${t[1]}`, t])).values()].sort((p, q) => byBytes(p[0]!, q[0]!));
          const src = uniq(xs);
          const dst = uniq(ys);
          const toEntry = ([k = '', id = '', h = '']: string[]): DocEntry => ({ ...entry(k, h), id });
          const { out, sink } = collect();
          await mergeSorted(pages(src.map(toEntry), size), pages(dst.map(toEntry), 3), sink);
          const same =
            JSON.stringify(src.map((t) => t.join('/')).sort()) ===
            JSON.stringify(dst.map((t) => t.join('/')).sort());
          const found = out.different.length + out.missing.length + out.extra.length;
          expect(found === 0).toBe(same);
          expect(out.match.length + out.different.length + out.missing.length).toBe(src.length);
        },
      ),
      { seed: 20261129, numRuns: 300 },
    );
  });

  it('stops with ScanOrderError when a stream is not in order, instead of guessing', async () => {
    const { sink } = collect();
    await expect(mergeSorted(pages([entry('b'), entry('a')], 1), pages([], 1), sink)).rejects.toBeInstanceOf(
      ScanOrderError,
    );
  });

  it('closes both streams when the sink throws', async () => {
    let closed = 0;
    async function* tracked(): AsyncGenerator<DocEntry[]> {
      try {
        await Promise.resolve();
        yield [entry('a')];
        yield [entry('b')];
      } finally {
        closed++;
      }
    }
    const sink = {
      ...collect().sink,
      match: () => {
        throw new Error('boom');
      },
    };
    await expect(mergeSorted(tracked(), tracked(), sink)).rejects.toThrow('boom');
    expect(closed).toBe(2);
  });
});
