import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../checkers/types.js';
import { startCeph, type CephCluster } from '../harness/ceph.js';
import { Lab, PART, type PutOptions } from './s3-lab.js';

/**
 * Differential property test of the s3 checker on a real Ceph RGW: seeded random objects (key
 * shapes, sizes, multipart layouts, metadata, tags) on Main, copied to DR, then random
 * mutations on either side, including ones that change no data (rewriting the same bytes,
 * uploading them in another part layout). The verdict must be "different" exactly when a
 * mutation changed the data, in each mode:
 * - --download: exit 1 ⇔ presence or bytes changed (never "unverified");
 * - --download --metadata: exit 1 ⇔ presence, bytes, headers, user metadata or tags changed;
 * - plain (size + ETag): never "consistent" when bytes or presence changed; "consistent" when
 *   nothing changed and the part layouts match; never "different" when no data changed.
 */

const SEED = Number(process.env['DRCTL_PROP_SEED'] ?? 20261129);
const RUNS = Number(process.env['DRCTL_PROP_RUNS'] ?? 20);

let ceph: CephCluster;
let lab: Lab;
const SRC = 'diff-src';
const DST = 'diff-dst';

interface Obj {
  key: string;
  body: Buffer;
  opts: PutOptions;
}

const KEY_SHAPES = ['a', 'b c', 'é', 'e\u0301', 'z😀', 'z\uFFFD', 'd/', 'p%2B+', 'ctl\x01', 'x'.repeat(200)];
const objArb: fc.Arbitrary<Omit<Obj, 'key'> & { shape: number }> = fc.record({
  shape: fc.nat(KEY_SHAPES.length - 1),
  body: fc.oneof(
    fc.constant(Buffer.alloc(0)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)),
    fc.uint8Array({ minLength: PART + 1, maxLength: PART + 200 }).map((a) => Buffer.from(a)),
  ),
  opts: fc.record({
    contentType: fc.constantFrom('text/plain', 'application/pdf', 'application/octet-stream'),
    metadata: fc.option(
      fc.dictionary(fc.constantFrom('owner', 'sum', 'x'), fc.stringMatching(/^[a-z0-9]{0,8}$/)),
      {
        nil: undefined,
      },
    ),
    tags: fc.option(fc.dictionary(fc.constantFrom('app', 'class'), fc.stringMatching(/^[a-z0-9]{0,8}$/)), {
      nil: undefined,
    }),
    multipart: fc.boolean(),
  }),
});

type Mutation =
  | {
      kind:
        | 'flip-byte'
        | 'append-byte'
        | 'delete'
        | 'rewrite-same'
        | 'relayout'
        | 'content-type'
        | 'user-meta'
        | 'tag';
      side: 'src' | 'dst';
      index: number;
    }
  | { kind: 'extra'; side: 'src' | 'dst'; index: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom(
    'flip-byte',
    'append-byte',
    'delete',
    'rewrite-same',
    'relayout',
    'content-type',
    'user-meta',
    'tag',
    'extra',
  ),
  side: fc.constantFrom('src', 'dst'),
  index: fc.nat(),
});

/** Part layout for a body: multipart in PART-sized parts when asked and large enough. */
function layout(body: Buffer, multipart: boolean, alternate = false): number[] | undefined {
  if (!multipart || body.length <= PART) return alternate ? [body.length] : undefined;
  return alternate ? [body.length] : [PART, body.length - PART];
}

const putObj = (bucket: string, o: Obj, relayout = false) => {
  const { multipart, ...rest } = o.opts as PutOptions & { multipart: boolean };
  // Another layout of the same bytes: multipart ↔ single part (an empty body stays single).
  const other = () =>
    layout(o.body, multipart) || o.body.length === 0
      ? undefined
      : o.body.length > PART
        ? [PART, o.body.length - PART]
        : [o.body.length];
  const parts = relayout ? other() : layout(o.body, multipart);
  return lab.put(bucket, o.key, o.body, { ...rest, ...(parts ? { parts } : {}) });
};

beforeAll(async () => {
  ceph = await startCeph({ multipartMinPartSize: PART });
  lab = new Lab(ceph);
  await lab.buckets(SRC, DST);
}, 120_000);

afterAll(async () => {
  lab?.destroy();
  await ceph?.stop();
});

describe('s3 checker: differential property on Ceph RGW', () => {
  it(`verdict is "different" exactly when data changed (seed ${SEED}, ${RUNS} trials)`, async () => {
    let trial = 0;
    const stats = {
      trials: 0,
      changed: 0,
      metadataOnly: 0,
      unchanged: 0,
      falseConsistent: 0,
      falseDifferent: 0,
      checks: 0,
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(objArb, { minLength: 1, maxLength: 6 }),
        fc.array(mutationArb, { minLength: 0, maxLength: 3 }),
        async (specs, mutations) => {
          const at = `t${trial++}/`;
          // Unique keys: the shape plus the position.
          const objs: Obj[] = specs.map((s, i) => ({
            key: `${at}${KEY_SHAPES[s.shape]}-${i}`,
            body: s.body,
            opts: s.opts,
          }));
          const src = new Map(objs.map((o) => [o.key, o]));
          const dst = new Map(objs.map((o) => [o.key, { ...o }]));
          for (const o of objs) {
            await putObj(SRC, o);
            await putObj(DST, o);
          }
          let metaChanged = false;
          let relayout = false;
          for (const m of mutations) {
            const side = m.side === 'src' ? src : dst;
            const bucket = m.side === 'src' ? SRC : DST;
            const keys = [...side.keys()];
            if (m.kind === 'extra') {
              const o: Obj = {
                key: `${at}extra-${m.index % 1000}-${m.side}`,
                body: Buffer.from('x'),
                opts: {},
              };
              if (side.has(o.key)) continue;
              side.set(o.key, o);
              await putObj(bucket, o);
              continue;
            }
            if (keys.length === 0) continue;
            const key = keys[m.index % keys.length]!;
            const o = side.get(key)!;
            switch (m.kind) {
              case 'delete':
                side.delete(key);
                await lab.remove(bucket, key);
                break;
              case 'flip-byte':
              case 'append-byte': {
                const body = Buffer.from(o.body);
                if (m.kind === 'flip-byte' && body.length > 0)
                  body[m.index % body.length] = body[m.index % body.length]! ^ 0x20;
                const next =
                  m.kind === 'append-byte' || body.length === 0
                    ? Buffer.concat([body, Buffer.from('!')])
                    : body;
                side.set(key, { ...o, body: next });
                await putObj(bucket, side.get(key)!);
                break;
              }
              case 'rewrite-same':
                await putObj(bucket, o);
                break;
              case 'relayout':
                await putObj(bucket, o, true);
                relayout = true;
                break;
              case 'content-type': {
                const ct = o.opts.contentType === 'text/csv' ? 'text/plain' : 'text/csv';
                side.set(key, { ...o, opts: { ...o.opts, contentType: ct } });
                await putObj(bucket, side.get(key)!);
                metaChanged = true;
                break;
              }
              case 'user-meta': {
                const md = { ...(o.opts.metadata ?? {}), changed: String(m.index % 97) };
                side.set(key, { ...o, opts: { ...o.opts, metadata: md } });
                await putObj(bucket, side.get(key)!);
                metaChanged = true;
                break;
              }
              case 'tag': {
                const tags = { ...(o.opts.tags ?? {}), mutated: String(m.index % 89) };
                side.set(key, { ...o, opts: { ...o.opts, tags } });
                await lab.tag(bucket, key, tags);
                metaChanged = true;
                break;
              }
            }
          }
          // A mutation undone by a later one (same bytes written back) changed nothing.
          const same = (a: Obj | undefined, b: Obj | undefined) =>
            a !== undefined && b !== undefined && a.body.equals(b.body);
          const allKeys = new Set([...src.keys(), ...dst.keys()]);
          const dataChanged = [...allKeys].some((k) => !same(src.get(k), dst.get(k)));
          const run = (o: { download: boolean; metadata: boolean }): Promise<CheckResult> => {
            stats.checks++;
            return lab.check(lab.endpoint(SRC, at), lab.endpoint(DST, at), o);
          };
          const dl = await run({ download: true, metadata: false });
          const dlMeta = await run({ download: true, metadata: true });
          const plain = await run({ download: false, metadata: false });
          stats.trials++;
          if (dataChanged) stats.changed++;
          else if (metaChanged) stats.metadataOnly++;
          else stats.unchanged++;
          const describe = `trial ${at} data=${dataChanged} meta=${metaChanged} relayout=${relayout} mutations=${JSON.stringify(mutations)}`;
          if (dataChanged && [dl, dlMeta, plain].some((r) => r.status === 'consistent'))
            stats.falseConsistent++;
          if (metaChanged && dlMeta.status === 'consistent') stats.falseConsistent++;
          expect(dl.status, describe).toBe(dataChanged ? 'different' : 'consistent');
          expect(dlMeta.status, describe).toBe(dataChanged || metaChanged ? 'different' : 'consistent');
          if (dataChanged) expect(plain.status, describe).not.toBe('consistent');
          else {
            if (plain.status === 'different') stats.falseDifferent++;
            expect(plain.status, describe).toMatch(relayout ? /^(consistent|unverified)$/ : /^consistent$/);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true, interruptAfterTimeLimit: 150_000 },
    );
    console.log(`s3 differential: ${JSON.stringify(stats)}`);
    expect(stats.falseConsistent).toBe(0);
    expect(stats.trials).toBeGreaterThanOrEqual(8);
    expect(stats.changed).toBeGreaterThan(0);
    expect(stats.unchanged).toBeGreaterThan(0);
  }, 240_000);
});
