import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esChecker } from '../../checkers/es/index.js';
import type { CheckResult, CheckTarget, Finding } from '../../checkers/types.js';
import type { EsOptionsInput } from '../../checkers/es/options.js';
import type { SearchFlavor, SearchServer } from '../harness/search.js';
import { sharedSearchPair } from '../harness/shared-servers.js';

/**
 * The es checker against real clusters: one Main/DR pair per server line, the same planted
 * differences on each. Elasticsearch 8 refuses to sort on _id, so there the id field is used;
 * OpenSearch sorts on _id (with ids of every Uid encoding: numeric, base64-like, UTF-8).
 */

const INDEX = 'payments-2026.11';
const OTHER = 'payments-2026.10';
const OLD = '2026-01-01T00:00:00Z';
const RECENT = '2026-11-20T00:00:00Z';

const MAPPING = {
  properties: {
    id: { type: 'keyword' },
    amount: { type: 'double' },
    status: { type: 'keyword' },
    updated_at: { type: 'date' },
    customer: {
      properties: { name: { type: 'text' }, address: { properties: { city: { type: 'keyword' } } } },
    },
  },
};

/** Ids that hit all three `_id` encodings so the local order must match the server's. */
function idFor(i: number): string {
  switch (i % 4) {
    case 0:
      return String(i * 7);
    case 1:
      return Buffer.from(`doc-${i}`).toString('base64url');
    case 2:
      return `acct ${i}/é`;
    default:
      return `AB${i}`;
  }
}

function docFor(i: number): Record<string, unknown> {
  return {
    id: idFor(i),
    amount: i * 1.5,
    status: i % 3 === 0 ? 'settled' : 'pending',
    updated_at: OLD,
    customer: { name: `Customer ${i}`, address: { city: i % 2 ? 'Jakarta' : 'Surabaya' } },
  };
}

const N = 1500;
const MISSING = 10;
const CHANGED = 20;
const NESTED = 30;
const REORDERED = 40;
const EXTRA_ID = 'only-on-dr';

async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  ndjson = false,
): Promise<unknown> {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
    ...(body === undefined ? {} : { body: ndjson ? (body as string) : JSON.stringify(body) }),
  });
  const json = (await res.json()) as { errors?: boolean };
  if (!res.ok || json.errors)
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}

async function bulk(url: string, index: string, docs: Record<string, unknown>[]): Promise<void> {
  const lines = docs.flatMap((d) => [
    JSON.stringify({ index: { _index: index, _id: d.id } }),
    JSON.stringify(d),
  ]);
  await call(url, 'POST', '/_bulk?refresh=true', lines.join('\n') + '\n', true);
}

async function seed(source: string, target: string): Promise<void> {
  for (const url of [source, target]) {
    for (const index of [INDEX, OTHER]) {
      await call(url, 'PUT', `/${index}`, {
        settings: { number_of_shards: 2, number_of_replicas: 0 },
        mappings: MAPPING,
      });
    }
  }
  const docs = Array.from({ length: N }, (_, i) => docFor(i));
  await bulk(source, INDEX, docs);
  await bulk(source, OTHER, docs);
  await bulk(target, OTHER, docs);
  const dr = docs
    .filter((_, i) => i !== MISSING)
    .map((d, i) => {
      const n = i >= MISSING ? i + 1 : i;
      if (n === CHANGED) return { ...d, amount: 999999.99, updated_at: RECENT };
      if (n === NESTED)
        return {
          ...d,
          customer: { name: d.customer && `Customer ${n}`, address: { city: 'Bandung' } },
          updated_at: RECENT,
        };
      // Same content, keys in the reverse order: must count as equal.
      if (n === REORDERED) return Object.fromEntries(Object.entries(d).reverse());
      return d;
    });
  dr.push({
    id: EXTRA_ID,
    amount: 1,
    status: 'pending',
    updated_at: RECENT,
    customer: { name: 'X', address: { city: 'Medan' } },
  });
  await bulk(target, INDEX, dr);
  // The source side of the changed docs is recent too, so incremental mode sees them.
  await bulk(source, INDEX, [
    { ...docFor(CHANGED), updated_at: RECENT },
    { ...docFor(NESTED), updated_at: RECENT },
  ]);
  await bulk(target, INDEX, [{ ...(dr.find((d) => d.id === idFor(CHANGED)) ?? {}) }]);
}

async function check(pair: { source: string; target: string }, opts: EsOptionsInput): Promise<CheckResult> {
  const target: CheckTarget = { kind: 'es', source: { url: pair.source }, target: { url: pair.target } };
  const options = esChecker.optionsSchema.parse(opts);
  return esChecker.run(target, options, { signal: new AbortController().signal, progress: () => undefined });
}

function ids(findings: Finding[], kind: string): string[] {
  return findings.filter((f) => f.kind === kind).map((f) => String(f.details?.id));
}

const flavors: { flavor: SearchFlavor; idField?: string }[] = [
  { flavor: 'opensearch' },
  { flavor: 'elasticsearch' },
  { flavor: 'elasticsearch7' },
];

describe.each(flavors)('es checker on $flavor', ({ flavor, idField }) => {
  let main: SearchServer;
  let dr: SearchServer;
  let pair: { source: string; target: string };
  const base = idField ? { idField } : {};

  let release: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ main, dr, release } = await sharedSearchPair(flavor));
    pair = { source: main.url, target: dr.url };
    await seed(main.url, dr.url);
  });
  afterAll(async () => {
    await release?.();
  });

  it('reports exactly the planted missing, extra and different documents', async () => {
    const r = await check(pair, { index: INDEX, showFields: true, batchSize: 100, ...base });
    expect(r.status).toBe('different');
    expect(ids(r.findings, 'missing')).toEqual([idFor(MISSING)]);
    expect(ids(r.findings, 'extra')).toEqual([EXTRA_ID]);
    const different = r.findings.filter((f) => f.kind === 'different');
    expect(different.map((f) => f.details?.id).sort()).toEqual([idFor(CHANGED), idFor(NESTED)].sort());
    const fields: Record<string, unknown> = Object.fromEntries(
      different.map((f) => [String(f.details?.id), f.details?.fields]),
    );
    expect(fields[idFor(CHANGED)]).toEqual(['amount']);
    expect(fields[idFor(NESTED)]).toEqual(['customer.address.city']);
    expect(r.counts).toMatchObject({
      missing: 1,
      extra: 1,
      different: 2,
      matched: N - 3,
      docsSource: N,
      docsTarget: N,
      unverified: 0,
    });
    // Matching on _id needs no sort: index order, a point in time where _shard_doc pages it
    // (Elasticsearch 7.12+), else a scroll (OpenSearch has no _shard_doc).
    const method = flavor === 'opensearch' ? 'scroll' : 'pit';
    expect(r.evidence.indices).toMatchObject([
      { join: 'hash', scanMethod: { source: method, target: method } },
    ]);
    expect(r.findings.filter((f) => f.severity !== 'warning').length).toBe(4);
  });

  it('finds the same with a sorted scroll instead of a point in time', async () => {
    const r = await check(pair, { index: INDEX, scan: 'scroll', batchSize: 77, ...base });
    expect(r.counts).toMatchObject({ missing: 1, extra: 1, different: 2, matched: N - 3 });
    expect(r.evidence.indices).toMatchObject([{ scanMethod: { source: 'scroll', target: 'scroll' } }]);
  });

  it('counts an identical index (keys in any order) as consistent', async () => {
    const r = await check(pair, { index: OTHER, ...base });
    expect(r.status).toBe('consistent');
    expect(r.ok).toBe(true);
    expect(r.counts).toMatchObject({
      matched: N,
      docsSource: N,
      docsTarget: N,
      countSource: N,
      countTarget: N,
    });
  });

  it('scans a wildcard pattern, index by index', async () => {
    const r = await check(pair, { index: 'payments-*', batchSize: 333, ...base });
    expect(r.counts).toMatchObject({ indices: 2, missing: 1, extra: 1, different: 2 });
  });

  it('compares only recent documents in incremental mode', async () => {
    const r = await check(pair, {
      index: INDEX,
      since: '2026-11-01T00:00:00Z',
      timeField: 'updated_at',
      ...base,
    });
    expect(r.counts).toMatchObject({ docsSource: 2, docsTarget: 3, different: 2, extra: 1 });
    // The document missing on DR is old: outside the window, yet its id is still compared.
    expect(ids(r.findings, 'missing')).toEqual([idFor(MISSING)]);
    expect(r.findings.find((f) => f.kind === 'missing')?.details?.outsideWindow).toBe(true);
    expect(r.evidence.mode).toBe('incremental');
  });

  it('reports a mapping difference and a missing index', async () => {
    const id = { type: 'keyword' };
    await call(dr.url, 'PUT', '/mapping-test', { mappings: { properties: { id, a: { type: 'keyword' } } } });
    await call(main.url, 'PUT', '/mapping-test', { mappings: { properties: { id, a: { type: 'text' } } } });
    await call(main.url, 'PUT', '/only-main', { mappings: { properties: { id } } });
    const r = await check(pair, { index: 'mapping-test,only-main', ...base });
    expect(r.findings.map((f) => f.kind)).toEqual(expect.arrayContaining(['mapping', 'missing-index']));
    expect(r.status).toBe('different');
  });

  it('rejects a time field that does not exist and a pattern matching nothing', async () => {
    await expect(
      check(pair, { index: INDEX, since: '1h', timeField: 'no_such_field', ...base }),
    ).rejects.toThrow(/time field no_such_field does not exist/);
    await expect(check(pair, { index: 'nothing-here-*', ...base })).rejects.toThrow(/matches no open index/);
    await expect(check(pair, { index: INDEX, idField: 'amount' })).rejects.toThrow(
      /id field amount .* is a double/,
    );
  });

  it('finds the same sorted on a keyword --id-field (merge-join)', async () => {
    const r = await check(pair, { index: INDEX, idField: 'id', showFields: true, batchSize: 100 });
    expect(ids(r.findings, 'missing')).toEqual([idFor(MISSING)]);
    expect(ids(r.findings, 'extra')).toEqual([EXTRA_ID]);
    expect(r.counts).toMatchObject({ missing: 1, extra: 1, different: 2, matched: N - 3, unverified: 0 });
    expect(r.evidence.indices).toMatchObject([{ join: 'merge' }]);
  });
});
