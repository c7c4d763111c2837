import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esChecker } from '../../checkers/es/index.js';
import type { EsOptionsInput } from '../../checkers/es/options.js';
import type { CheckResult, CheckTarget } from '../../checkers/types.js';
import { bulkRaw, searchRequest, type RawDoc, type SearchServer } from '../harness/search.js';
import { sharedSearchPair } from '../harness/shared-servers.js';
import { casesFor, TYPES, type CorpusCase } from './es-corpus.js';

/**
 * The generated verdict corpus (es-corpus.ts) and a seeded property-based differential test, on
 * real servers: every case on OpenSearch 2.19, a focused subset on Elasticsearch 8 (matching on a
 * keyword id field, as Elasticsearch 8 requires). A false "consistent" is a case whose expected
 * verdict is not `equal` yet no finding names its document; the count must be 0, and so must the
 * count of findings on documents that are equal.
 */

const SEED = Number(process.env['DRCTL_PROP_SEED'] ?? 20261129);
/** Types the integ-test-zip distributions lack (their plugins are not bundled). */
const UNAVAILABLE: Record<'opensearch' | 'elasticsearch', string[]> = {
  opensearch: ['scaled_float'],
  elasticsearch: ['unsigned_long', 'scaled_float'],
};
const ES8_SUBSET = new Set([
  'long',
  'unsigned_long',
  'double',
  'scaled_float',
  'keyword',
  'date',
  'nested',
  'flattened',
]);

async function check(main: SearchServer, dr: SearchServer, opts: EsOptionsInput): Promise<CheckResult> {
  const target: CheckTarget = { kind: 'es', source: { url: main.url }, target: { url: dr.url } };
  return esChecker.run(target, esChecker.optionsSchema.parse({ maxFindings: 100_000, ...opts }), {
    signal: new AbortController().signal,
    progress: () => undefined,
  });
}

/** The verdict the result gives each document: the kind of its finding, or equal. */
function verdicts(r: CheckResult): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of r.findings) {
    const id = f.details?.id;
    if (typeof id !== 'string') continue;
    const prev = out.get(id);
    out.set(id, prev && prev !== f.kind ? `${prev}+${f.kind}` : f.kind);
  }
  return out;
}

interface Tally {
  cases: number;
  falseConsistent: string[];
  falseDifferent: string[];
}

function judge(cases: CorpusCase[], r: CheckResult, tally: Tally): void {
  const got = verdicts(r);
  for (const c of cases) {
    tally.cases++;
    const v = got.get(c.id) ?? 'equal';
    if (v === c.expect) continue;
    if (c.expect !== 'equal' && v === 'equal') tally.falseConsistent.push(`${c.id}: expected ${c.expect}`);
    else tally.falseDifferent.push(`${c.id}: expected ${c.expect}, got ${v}`);
  }
}

async function loadCorpus(
  main: SearchServer,
  dr: SearchServer,
  flavor: 'opensearch' | 'elasticsearch',
  types: typeof TYPES,
) {
  const all: { index: string; twins: string; cases: CorpusCase[] }[] = [];
  const unavailable: string[] = [];
  for (const t of types) {
    const cases = casesFor(t);
    const index = `corpus-${t.name}`;
    const twins = `twins-${t.name}`;
    const body = {
      settings: { number_of_shards: 2, number_of_replicas: 0 },
      mappings: { dynamic: 'strict', properties: { id: { type: 'keyword' }, f: t.mapping } },
    };
    const docs = (side: 'source' | 'target', only: (c: CorpusCase) => boolean): RawDoc[] =>
      cases.filter(only).flatMap((c) => (c[side] === undefined ? [] : [{ id: c.id, json: c[side] }]));
    try {
      await searchRequest(main.url, 'PUT', `/${index}`, body);
    } catch (err) {
      // The integ-test-zip distributions leave out plugin types (e.g. scaled_float in mapper-extras).
      if (!/No handler for type|mapper type \[\w+\] declared on field \[f\] does not exist/.test(String(err)))
        throw err;
      unavailable.push(t.name);
      continue;
    }
    await searchRequest(dr.url, 'PUT', `/${index}`, body);
    for (const s of [main, dr]) await searchRequest(s.url, 'PUT', `/${twins}`, body);
    const isTwin = (c: CorpusCase) => c.expect === 'equal';
    await Promise.all([
      bulkRaw(
        main.url,
        index,
        docs('source', () => true),
      ),
      bulkRaw(
        dr.url,
        index,
        docs('target', () => true),
      ),
      bulkRaw(main.url, twins, docs('source', isTwin)),
      bulkRaw(dr.url, twins, docs('target', isTwin)),
    ]);
    all.push({ index, twins, cases });
  }
  void flavor;
  return { all, unavailable };
}

describe.each([
  {
    flavor: 'opensearch' as const,
    idField: undefined,
    types: TYPES.filter((t) => !t.only || t.only.includes('opensearch')),
  },
  {
    flavor: 'elasticsearch' as const,
    idField: 'id',
    types: TYPES.filter((t) => ES8_SUBSET.has(t.name) && (!t.only || t.only.includes('elasticsearch'))),
  },
])('es verdict corpus on $flavor', ({ flavor, idField, types }) => {
  let main: SearchServer;
  let dr: SearchServer;
  const base = idField ? { idField } : {};
  let corpus: Awaited<ReturnType<typeof loadCorpus>>['all'];
  let unavailable: string[];

  let release: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ main, dr, release } = await sharedSearchPair(flavor));
    ({ all: corpus, unavailable } = await loadCorpus(main, dr, flavor, types));
  });
  afterAll(async () => {
    await release?.();
  });

  it('knows which field types this server line lacks (nothing is left out silently)', () => {
    expect(unavailable).toEqual(UNAVAILABLE[flavor]);
  });

  // On Elasticsearch 8 both joins: sorted on the keyword id field, and by _id in index order (default flags).
  it.each(idField ? [base, {}] : [base])(
    'gives every generated case its verdict: 0 false consistent, 0 false different (%o)',
    async (flags) => {
      // A page of 10 ends inside many runs of cases, and missing/extra documents shift the pages.
      const r = await check(main, dr, { index: 'corpus-*', batchSize: 10, ...flags });
      const tally: Tally = { cases: 0, falseConsistent: [], falseDifferent: [] };
      for (const c of corpus) judge(c.cases, r, tally);
      console.log(
        `es corpus on ${flavor} ${main.version} ${JSON.stringify(flags)}: ${tally.cases} cases over ${corpus.length} field types, ` +
          `${tally.falseConsistent.length} false consistent, ${tally.falseDifferent.length} false different`,
      );
      expect(tally.falseConsistent).toEqual([]);
      expect(tally.falseDifferent).toEqual([]);
      expect(r.status).toBe('different');
      expect(r.counts.unverified).toBe(0);
      expect(r.counts.indices).toBe(corpus.length);
    },
  );

  it.each(idField ? [base, {}] : [base])(
    'passes the identical twins of every type (same data, written differently) (%o)',
    async (flags) => {
      const r = await check(main, dr, { index: 'twins-*', batchSize: 11, ...flags });
      expect(r.findings.filter((f) => f.severity !== 'warning')).toEqual([]);
      expect(r.status).toBe('consistent');
      expect(r.counts.matched).toBe(
        corpus.reduce((n, c) => n + c.cases.filter((x) => x.expect === 'equal').length, 0),
      );
    },
  );

  if (flavor === 'opensearch') {
    it('differential: random schemas and documents copied to DR, random mutations; exit 1 exactly when data changed', async () => {
      const stats = { trials: 0, docs: 0, realMutations: 0, noOps: 0, falseConsistent: 0, falseDifferent: 0 };
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(trialArb, async (trial) => {
          stats.trials++;
          const index = `diff-${stats.trials}`;
          const res = await runTrial(main, dr, index, trial);
          stats.docs += trial.docs.length;
          stats.realMutations += res.expectedIds.size;
          stats.noOps += trial.docs.length - res.expectedIds.size;
          const got = verdicts(res.result);
          for (const [id, want] of res.expectedIds) if (got.get(id) !== want) stats.falseConsistent++;
          for (const id of got.keys()) if (!res.expectedIds.has(id)) stats.falseDifferent++;
          expect([...got.entries()].sort()).toEqual([...res.expectedIds.entries()].sort());
          expect(res.result.status).toBe(res.expectedIds.size > 0 ? 'different' : 'consistent');
        }),
        { seed: SEED, numRuns: 12, endOnFailure: true, interruptAfterTimeLimit: 90_000 },
      );
      console.log(
        `es differential on opensearch: ${stats.trials} index trials, ${stats.docs} document trials ` +
          `(${stats.realMutations} changed, ${stats.noOps} unchanged or rewritten), ${stats.falseConsistent} false consistent, ` +
          `${stats.falseDifferent} false different, ${Math.round((Date.now() - started) / 1000)}s`,
      );
      expect(stats.trials).toBeGreaterThanOrEqual(6);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Property-based differential test: a small generated world.

type FieldType = 'long' | 'double' | 'keyword' | 'text' | 'boolean' | 'date' | 'ip' | 'object' | 'nested';
const FIELD_TYPES: FieldType[] = [
  'long',
  'double',
  'keyword',
  'text',
  'boolean',
  'date',
  'ip',
  'object',
  'nested',
];

/** A leaf as written: its JSON literal, and another literal of the same data (when there is one). */
interface Leaf {
  lit: string;
  same?: string;
}
type Val = Leaf | Val[] | { [k: string]: Val };

const isLeaf = (v: Val): v is Leaf => !Array.isArray(v) && typeof (v as Leaf).lit === 'string';

const longArb = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n): Leaf => {
  const small = n > -(10n ** 12n) && n < 10n ** 12n;
  return small ? { lit: n.toString(), same: `${n.toString()}.0` } : { lit: n.toString() };
});
const doubleArb = fc
  .tuple(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.nat(999))
  .map(([i, f]): Leaf => ({ lit: `${i}.${f}`, same: `${i}.${f}00` }));
const stringArb = fc
  .array(fc.constantFrom('a', 'b', 'Z', ' ', 'é', 'ü', '🏦', '"', '\\', '\t', '1', '.'), { maxLength: 8 })
  .map((cs): Leaf => {
    const s = cs.join('');
    const escaped = `"${[...s]
      .map((ch) =>
        ch.codePointAt(0)! > 0x7e
          ? ch
              .split('')
              .map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`)
              .join('')
          : JSON.stringify(ch).slice(1, -1),
      )
      .join('')}"`;
    return { lit: JSON.stringify(s), same: escaped };
  });
const dateArb = fc
  .integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2030, 0, 1) })
  .map((ms): Leaf => ({ lit: JSON.stringify(new Date(ms).toISOString()) }));
const ipArb = fc
  .array(fc.nat(255), { minLength: 4, maxLength: 4 })
  .map((b): Leaf => ({ lit: JSON.stringify(b.join('.')) }));

function valueArb(t: FieldType): fc.Arbitrary<Val> {
  switch (t) {
    case 'long':
      return longArb;
    case 'double':
      return doubleArb;
    case 'keyword':
      return fc.oneof(stringArb, fc.array(stringArb, { minLength: 2, maxLength: 3 }));
    case 'text':
      return stringArb;
    case 'boolean':
      return fc.boolean().map((b): Leaf => ({ lit: String(b) }));
    case 'date':
      return dateArb;
    case 'ip':
      return ipArb;
    case 'object':
      return fc.record({ a: stringArb, b: longArb });
    case 'nested':
      return fc.array(fc.record({ n: longArb }), { minLength: 1, maxLength: 3 });
  }
}

const MAPPING: Record<FieldType, unknown> = {
  long: { type: 'long' },
  double: { type: 'double' },
  keyword: { type: 'keyword' },
  text: { type: 'text' },
  boolean: { type: 'boolean' },
  date: { type: 'date' },
  ip: { type: 'ip' },
  object: { properties: { a: { type: 'keyword' }, b: { type: 'long' } } },
  nested: { type: 'nested', properties: { n: { type: 'long' } } },
};

type Mutation =
  | 'none'
  | 'reorder-keys'
  | 'json-whitespace'
  | 'same-value-rewrite'
  | 'change-value'
  | 'remove-field'
  | 'add-field'
  | 'delete-doc'
  | 'array-order'
  | 'case-change';
const NO_OPS: Mutation[] = ['none', 'reorder-keys', 'json-whitespace', 'same-value-rewrite'];

interface Trial {
  fields: { name: string; type: FieldType }[];
  docs: { values: Record<string, Val>; mutation: Mutation; pick: number; fresh: Val[] }[];
  extraDocs: number;
  batchSize: number;
}

const trialArb: fc.Arbitrary<Trial> = fc
  .uniqueArray(fc.constantFrom(...FIELD_TYPES), { minLength: 2, maxLength: 5 })
  .chain((types) => {
    const fields = types.map((type, i) => ({ name: `f${i}_${type}`, type }));
    const docArb = fc.record({
      values: fc.record(
        Object.fromEntries(fields.map((f) => [f.name, valueArb(f.type)])) as Record<
          string,
          fc.Arbitrary<Val>
        >,
        { requiredKeys: fields.slice(0, 1).map((f) => f.name) },
      ),
      mutation: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...NO_OPS) },
        {
          weight: 2,
          arbitrary: fc.constantFrom<Mutation>(
            'change-value',
            'remove-field',
            'add-field',
            'delete-doc',
            'array-order',
            'case-change',
          ),
        },
      ),
      pick: fc.nat(100),
      fresh: fc.tuple(...fields.map((f) => valueArb(f.type))),
    });
    return fc.record({
      fields: fc.constant(fields),
      docs: fc.array(docArb, { minLength: 15, maxLength: 40 }),
      extraDocs: fc.nat(2),
      batchSize: fc.integer({ min: 10, max: 25 }),
    });
  });

interface WriteOpts {
  reorder?: boolean;
  spaced?: boolean;
  rewrite?: boolean;
}

function write(v: Val, o: WriteOpts): string {
  if (isLeaf(v)) return o.rewrite && v.same !== undefined ? v.same : v.lit;
  const sep = o.spaced ? ' ,\t ' : ',';
  if (Array.isArray(v)) return `[${v.map((x) => write(x, o)).join(sep)}]`;
  const keys = Object.keys(v).sort();
  if (o.reorder) keys.reverse();
  return `{${keys.map((k) => `${JSON.stringify(k)}${o.spaced ? ' : ' : ':'}${write(v[k]!, o)}`).join(sep)}}`;
}

/** The identity of a value under the rules, independent of how it is written. */
function same(a: Val | undefined, b: Val | undefined): boolean {
  return (
    JSON.stringify(a === undefined ? null : plain(a)) === JSON.stringify(b === undefined ? null : plain(b))
  );
}
function plain(v: Val): unknown {
  if (isLeaf(v)) return v.lit;
  if (Array.isArray(v)) return v.map(plain);
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, plain(v[k]!)]),
  );
}

/** A different value of the same type: a leaf changed in a way no rule can equate. */
function changed(v: Val, type: FieldType): Val {
  if (isLeaf(v)) {
    if (v.lit === 'true' || v.lit === 'false') return { lit: v.lit === 'true' ? 'false' : 'true' };
    if (v.lit.startsWith('"')) {
      const s = JSON.parse(v.lit) as string;
      if (type === 'date')
        return { lit: JSON.stringify(s.replace(/^\d{4}/, (y) => String(Number(y) === 2031 ? 2032 : 2031))) };
      if (type === 'ip')
        return {
          lit: JSON.stringify(s.replace(/\d+$/, (o) => String(Number(o) === 255 ? 254 : Number(o) + 1))),
        };
      return { lit: JSON.stringify(`${s}z`) };
    }
    if (type === 'double') {
      const [i = '0', f = '0'] = v.lit.split('.');
      return { lit: `${Number(i) + 1}.${f}` };
    }
    const n = BigInt(v.lit);
    return { lit: (n === 2n ** 63n - 1n ? n - 1n : n + 1n).toString() };
  }
  if (Array.isArray(v))
    return [...v.slice(0, -1), changed(v[v.length - 1]!, type === 'nested' ? 'long' : type)];
  const k = Object.keys(v).sort()[0]!;
  return { ...v, [k]: changed(v[k]!, k === 'b' || k === 'n' ? 'long' : 'keyword') };
}

async function runTrial(main: SearchServer, dr: SearchServer, index: string, trial: Trial) {
  const body = {
    settings: { number_of_shards: 2, number_of_replicas: 0 },
    mappings: {
      dynamic: 'strict',
      properties: Object.fromEntries(trial.fields.map((f) => [f.name, MAPPING[f.type]])),
    },
  };
  for (const s of [main, dr]) await searchRequest(s.url, 'PUT', `/${index}`, body);
  const src: RawDoc[] = [];
  const dst: RawDoc[] = [];
  const expected = new Map<string, string>();
  trial.docs.forEach((d, i) => {
    const id = `d${String(i).padStart(3, '0')}`;
    src.push({ id, json: write(d.values, {}) });
    const values: Record<string, Val> = { ...d.values };
    let opts: WriteOpts = {};
    let real = false;
    const present = trial.fields.filter((f) => values[f.name] !== undefined);
    const absent = trial.fields.filter((f) => values[f.name] === undefined);
    const target = present[d.pick % present.length]!;
    switch (d.mutation) {
      case 'none':
        break;
      case 'reorder-keys':
        opts = { reorder: true };
        break;
      case 'json-whitespace':
        opts = { spaced: true };
        break;
      case 'same-value-rewrite':
        opts = { rewrite: true };
        break;
      case 'change-value':
        values[target.name] = changed(values[target.name]!, target.type);
        real = true;
        break;
      case 'remove-field':
        delete values[target.name];
        real = true;
        break;
      case 'add-field': {
        const f = absent[d.pick % Math.max(1, absent.length)];
        if (f) values[f.name] = d.fresh[trial.fields.indexOf(f)]!;
        else values[target.name] = changed(values[target.name]!, target.type);
        real = true;
        break;
      }
      case 'array-order': {
        const arr = present.find(
          (f) => Array.isArray(values[f.name]) && (values[f.name] as Val[]).length > 1,
        );
        const v = arr ? (values[arr.name] as Val[]) : undefined;
        if (arr && v && !same(v, [...v].reverse())) values[arr.name] = [...v].reverse();
        else values[target.name] = changed(values[target.name]!, target.type);
        real = true;
        break;
      }
      case 'case-change': {
        const v = values[target.name]!;
        if (isLeaf(v) && v.lit.startsWith('"') && target.type !== 'date' && target.type !== 'ip') {
          const s = JSON.parse(v.lit) as string;
          values[target.name] = { lit: JSON.stringify(s.toUpperCase() !== s ? s.toUpperCase() : `${s}Q`) };
        } else values[target.name] = changed(v, target.type);
        real = true;
        break;
      }
      case 'delete-doc':
        expected.set(id, 'missing');
        return;
    }
    if (real && !same({ ...d.values }, values)) expected.set(id, 'different');
    dst.push({ id, json: write(values, opts) });
  });
  for (let i = 0; i < trial.extraDocs; i++) {
    const id = `d${String(i * 7 + 1).padStart(3, '0')}x`;
    dst.push({ id, json: write(trial.docs[0]!.values, {}) });
    expected.set(id, 'extra');
  }
  await Promise.all([bulkRaw(main.url, index, src), bulkRaw(dr.url, index, dst)]);
  const result = await check(main, dr, { index, batchSize: trial.batchSize });
  return { result, expectedIds: expected };
}
