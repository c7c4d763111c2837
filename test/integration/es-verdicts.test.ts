import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esChecker } from '../../checkers/es/index.js';
import type { EsOptionsInput } from '../../checkers/es/options.js';
import type { CheckResult, CheckTarget, Finding } from '../../checkers/types.js';
import { ConnectionError } from '../../src/errors.js';
import { bulkRaw, searchRequest, startSearch, type RawDoc, type SearchServer } from '../harness/search.js';

/**
 * The es verdict defects of issue 11 (items 12–16, 18, 19) and the frozen/killed node of issue
 * 14 (items 1, 10), each on a real OpenSearch Main/DR pair. Every case here gave a wrong verdict
 * (or an error, or a hang) before the fix.
 */

let main: SearchServer;
let dr: SearchServer;

async function check(opts: EsOptionsInput, signal = new AbortController().signal): Promise<CheckResult> {
  const target: CheckTarget = { kind: 'es', source: { url: main.url }, target: { url: dr.url } };
  return esChecker.run(target, esChecker.optionsSchema.parse(opts), { signal, progress: () => undefined });
}

const byKind = (r: CheckResult, kind: string): Finding[] => r.findings.filter((f) => f.kind === kind);
const idsOf = (r: CheckResult, kind: string): string[] =>
  byKind(r, kind)
    .map((f) => String(f.details?.id))
    .sort();

async function createBoth(index: string, body: unknown): Promise<void> {
  for (const s of [main, dr]) await searchRequest(s.url, 'PUT', `/${index}`, body);
}

const raw = (id: string, json: string, routing?: string): RawDoc => ({
  id,
  json,
  ...(routing === undefined ? {} : { routing }),
});

beforeAll(async () => {
  [main, dr] = await Promise.all([
    startSearch('opensearch', { heapMb: 384 }),
    startSearch('opensearch', { heapMb: 384 }),
  ]);
});
afterAll(async () => {
  dr?.thaw();
  await Promise.all([main?.stop(), dr?.stop()]);
});

describe('es verdicts (issue 11)', () => {
  it('12: compares numbers exactly: 19-digit longs, keyword literals, -0.0; 14850.00 = 14850 in a double', async () => {
    await createBoth('num', {
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: { properties: { big: { type: 'long' }, kw: { type: 'keyword' }, d: { type: 'double' } } },
    });
    const pairs: [string, string, string][] = [
      ['long-last-digit', '{"big":1832358299496895530}', '{"big":1832358299496895531}'],
      ['kw-1.0', '{"kw":1.0}', '{"kw":1}'],
      ['kw-1e2', '{"kw":1e2}', '{"kw":100}'],
      ['neg-zero', '{"d":-0.0}', '{"d":0.0}'],
      ['double-same-value', '{"d":14850.00}', '{"d":14850}'],
      ['double-exponent', '{"d":1.485e4}', '{"d":14850}'],
      ['key-order', '{"big":1,"kw":"a","d":2.5}', '{"d":2.5,"kw":"a","big":1}'],
      ['long-max', '{"big":9223372036854775807}', '{"big":9223372036854775807}'],
      // Same double, different decimal in _source: filter_path once rewrote both to 0.1.
      ['double-beyond-precision', '{"d":0.1}', '{"d":0.10000000000000001}'],
    ];
    await bulkRaw(
      main.url,
      'num',
      pairs.map(([id, a]) => raw(id, a)),
    );
    await bulkRaw(
      dr.url,
      'num',
      pairs.map(([id, , b]) => raw(id, b)),
    );
    const r = await check({ index: 'num' });
    expect(idsOf(r, 'different')).toEqual([
      'double-beyond-precision',
      'kw-1.0',
      'kw-1e2',
      'long-last-digit',
      'neg-zero',
    ]);
    expect(r.counts).toMatchObject({ matched: 4, different: 5, missing: 0, extra: 0 });
  });

  it('13: a repeated sort key across a page boundary is compared (duplicate --id-field and routed _ids)', async () => {
    await createBoth('dup', {
      settings: { number_of_shards: 3, number_of_replicas: 0 },
      mappings: { properties: { acct: { type: 'keyword' }, v: { type: 'keyword' } } },
    });
    // Sorted by acct, positions 8..12 share "k08": a page of 10 ends inside the run.
    const docs = (changed: boolean): RawDoc[] =>
      Array.from({ length: 25 }, (_, i) => {
        const acct = i >= 8 && i <= 12 ? 'k08' : `k${String(i).padStart(2, '0')}`;
        const v = changed && i === 11 ? 'changed' : `v${i}`;
        return raw(`d${i}`, JSON.stringify({ acct, v }));
      });
    await bulkRaw(main.url, 'dup', docs(false));
    await bulkRaw(dr.url, 'dup', docs(true));
    const r = await check({ index: 'dup', idField: 'acct', batchSize: 10 });
    expect(r.status).toBe('different');
    expect(idsOf(r, 'different')).toEqual(['d11']);
    expect(r.counts).toMatchObject({ docsSource: 25, docsTarget: 25, matched: 24 });

    // One _id under several routings lands on several shards: two documents, same _id.
    await createBoth('routed', { settings: { number_of_shards: 4, number_of_replicas: 0 } });
    const routed = (changed: boolean): RawDoc[] => [
      ...Array.from({ length: 9 }, (_, i) => raw(`a${i}`, `{"n":${i}}`)),
      ...['r1', 'r2', 'r3', 'r4', 'r5'].map((rt, j) =>
        raw('x', `{"copy":"${changed && j === 3 ? 'changed' : rt}"}`, rt),
      ),
      ...Array.from({ length: 9 }, (_, i) => raw(`z${i}`, `{"n":${i}}`)),
    ];
    await bulkRaw(main.url, 'routed', routed(false));
    await bulkRaw(dr.url, 'routed', routed(true));
    const { count } = await searchRequest<{ count: number }>(main.url, 'GET', '/routed/_count');
    expect(count).toBeGreaterThan(19); // several copies of x really exist
    const rr = await check({ index: 'routed', batchSize: 10 });
    expect(rr.status).toBe('different');
    expect(rr.counts.docsSource).toBe(count);
    expect(byKind(rr, 'different').length).toBeGreaterThanOrEqual(1);
  });

  it('14: _source disabled or excluding fields is unverified, never consistent', async () => {
    await createBoth('nosrc', {
      mappings: { _source: { enabled: false }, properties: { v: { type: 'keyword' } } },
    });
    await bulkRaw(main.url, 'nosrc', [raw('a', '{"v":"one"}'), raw('b', '{"v":"same"}')]);
    await bulkRaw(dr.url, 'nosrc', [raw('a', '{"v":"two"}'), raw('b', '{"v":"same"}')]);
    const r = await check({ index: 'nosrc' });
    expect(r.status).toBe('unverified');
    expect(byKind(r, 'source-disabled')).toHaveLength(1);
    expect(r.counts.matched).toBe(0);

    await createBoth('excl', {
      mappings: { _source: { excludes: ['secret'] }, properties: { secret: { type: 'keyword' } } },
    });
    await bulkRaw(main.url, 'excl', [raw('a', '{"v":1,"secret":"x"}')]);
    await bulkRaw(dr.url, 'excl', [raw('a', '{"v":1,"secret":"y"}')]);
    const e = await check({ index: 'excl' });
    expect(e.status).toBe('unverified');
    expect(byKind(e, 'source-filtered')[0]?.message).toMatch(/excludes secret/);
  });

  it('15: refresh disabled or writes not yet refreshed make the result unverified (and nothing is refreshed)', async () => {
    await createBoth('norefresh', {
      settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '-1' },
      mappings: { properties: { x: { type: 'long' } } },
    });
    await searchRequest(main.url, 'PUT', '/norefresh/_doc/only-main', { x: 1 });
    const got = await searchRequest<{ found: boolean }>(main.url, 'GET', '/norefresh/_doc/only-main');
    expect(got.found).toBe(true);
    const r = await check({ index: 'norefresh' });
    expect(r.status).toBe('unverified');
    expect(byKind(r, 'refresh-disabled').length).toBeGreaterThan(0);
    expect(byKind(r, 'unrefreshed').map((f) => f.details?.side)).toEqual(['source']);
    // Read-only: still invisible to search after the check.
    const c = await searchRequest<{ count: number }>(main.url, 'GET', '/norefresh/_count');
    expect(c.count).toBe(0);

    await createBoth('slowrefresh', {
      settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '1h' },
      mappings: { properties: { x: { type: 'long' } } },
    });
    await searchRequest(main.url, 'PUT', '/slowrefresh/_doc/pending', { x: 1 });
    const s = await check({ index: 'slowrefresh' });
    expect(s.status).toBe('unverified');
    expect(byKind(s, 'unrefreshed')).toHaveLength(1);
  });

  it('16: --since does not hide a deletion or a stray document outside the window', async () => {
    await createBoth('win', { mappings: { properties: { at: { type: 'date' } } } });
    const old = '2020-01-01T00:00:00Z';
    const recent = new Date(Date.now() - 60_000).toISOString();
    const docs = [
      raw('old-1', `{"at":"${old}"}`),
      raw('old-2', `{"at":"${old}"}`),
      raw('new', `{"at":"${recent}"}`),
    ];
    await bulkRaw(
      main.url,
      'win',
      docs.filter((d) => d.id !== 'old-2'),
    ); // deleted on Main
    await bulkRaw(dr.url, 'win', docs);
    const r = await check({ index: 'win', since: '2h', timeField: 'at' });
    expect(r.status).toBe('different');
    expect(idsOf(r, 'extra')).toEqual(['old-2']);
    expect(byKind(r, 'extra')[0]?.details?.outsideWindow).toBe(true);
    expect(r.counts).toMatchObject({ docsSource: 1, docsTarget: 1, matched: 1 });
  });

  it('18: --since 2h works on a long epoch-millis time field', async () => {
    await createBoth('epoch', { mappings: { properties: { ts: { type: 'long' }, v: { type: 'keyword' } } } });
    const now = Date.now();
    await bulkRaw(main.url, 'epoch', [
      raw('a', `{"ts":${now - 60_000},"v":"x"}`),
      raw('b', `{"ts":1000,"v":"y"}`),
    ]);
    await bulkRaw(dr.url, 'epoch', [
      raw('a', `{"ts":${now - 60_000},"v":"CHANGED"}`),
      raw('b', `{"ts":1000,"v":"y"}`),
    ]);
    const r = await check({ index: 'epoch', since: '2h', timeField: 'ts' });
    expect(idsOf(r, 'different')).toEqual(['a']);
    expect(r.counts).toMatchObject({ docsSource: 1, idsOutsideWindow: 1 });
  });

  it('18/19: exclusions are honoured; hidden and closed indices skipped by a wildcard are warned about', async () => {
    for (const name of ['pp-1', 'pp-2', 'pp-hidden', 'pp-closed'])
      await createBoth(name, {
        settings: {
          number_of_shards: 1,
          number_of_replicas: 0,
          ...(name === 'pp-hidden' ? { 'index.hidden': true } : {}),
        },
      });
    await bulkRaw(main.url, 'pp-1', [raw('a', '{"x":1}')]);
    await bulkRaw(dr.url, 'pp-1', [raw('a', '{"x":1}')]);
    await bulkRaw(main.url, 'pp-2', [raw('a', '{"x":1}')]);
    await bulkRaw(dr.url, 'pp-2', [raw('a', '{"x":2}')]);
    for (const s of [main, dr]) await searchRequest(s.url, 'POST', '/pp-closed/_close');

    const r = await check({ index: 'pp-*,-pp-2' });
    expect(r.status).toBe('consistent');
    expect(r.counts.indices).toBe(1);
    const skipped = byKind(r, 'skipped-index').map(
      (f) => `${String(f.details?.side)}:${f.object}:${String(f.details?.reason)}`,
    );
    expect(skipped.sort()).toEqual([
      'source:pp-closed:closed',
      'source:pp-hidden:hidden',
      'target:pp-closed:closed',
      'target:pp-hidden:hidden',
    ]);
    expect(r.evidence.compared).toMatch(/closed or hidden indices matched only by a wildcard/);

    const all = await check({ index: 'pp-*' });
    expect(all.status).toBe('different');
    expect(all.counts.indices).toBe(2);
  });

  it('18: a DR index that is closed is "missing/closed on target" (exit 1), not an error', async () => {
    await createBoth('closed-dr', { settings: { number_of_shards: 1, number_of_replicas: 0 } });
    await bulkRaw(main.url, 'closed-dr', [raw('a', '{"x":1}')]);
    await bulkRaw(dr.url, 'closed-dr', [raw('a', '{"x":1}')]);
    await searchRequest(dr.url, 'POST', '/closed-dr/_close');
    const r = await check({ index: 'closed-dr' });
    expect(r.status).toBe('different');
    expect(byKind(r, 'closed-index')[0]?.message).toMatch(/closed on the target/);
    expect(r.counts.missing).toBe(1);
  });
});

describe('es checker against a frozen or dying node (issue 14)', () => {
  it('1: a SIGSTOPped target ends the check within the request timeout, naming the side; an abort takes effect at once', async () => {
    await createBoth('frozen', { settings: { number_of_shards: 1, number_of_replicas: 0 } });
    await bulkRaw(main.url, 'frozen', [raw('a', '{"x":1}')]);
    await bulkRaw(dr.url, 'frozen', [raw('a', '{"x":1}')]);
    dr.freeze();
    try {
      let t = Date.now();
      const err = (await check({ index: 'frozen', requestTimeout: '2s' }).catch((e: unknown) => e)) as Error;
      const took = Date.now() - t;
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err.message).toMatch(
        /the target cluster at http:\/\/127\.0\.0\.1:\d+ did not answer .* within 2s/,
      );
      expect(took).toBeLessThan(8_000);

      const ac = new AbortController();
      t = Date.now();
      setTimeout(() => ac.abort(new Error('interrupted')), 500);
      const aborted = (await check({ index: 'frozen' }, ac.signal).catch((e: unknown) => e)) as Error;
      expect(aborted.message).toBe('interrupted');
      expect(Date.now() - t).toBeLessThan(2_500);
    } finally {
      dr.thaw();
    }
    const r = await check({ index: 'frozen' });
    expect(r.status).toBe('consistent');
  });

  it('10: a target killed mid-check ends with a clear connection error naming the side and the index', async () => {
    await createBoth('big', { settings: { number_of_shards: 1, number_of_replicas: 0 } });
    const docs = Array.from({ length: 6000 }, (_, i) =>
      raw(`d${i}`, `{"n":${i},"pad":"${'x'.repeat(200)}"}`),
    );
    await bulkRaw(main.url, 'big', docs);
    await bulkRaw(dr.url, 'big', docs);
    let killed = false;
    const target: CheckTarget = { kind: 'es', source: { url: main.url }, target: { url: dr.url } };
    const err = (await esChecker
      .run(target, esChecker.optionsSchema.parse({ index: 'big', batchSize: 50, requestTimeout: '10s' }), {
        signal: new AbortController().signal,
        progress: (e) => {
          if (e.phase === 'scan' && !killed) {
            killed = true;
            dr.kill();
          }
        },
      })
      .catch((e: unknown) => e)) as Error;
    expect(killed).toBe(true);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toMatch(
      /(lost the connection to|cannot reach) the target cluster at .* during index big/,
    );
  });
});
