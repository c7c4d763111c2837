import { UsageError } from '../../shared/errors.js';
import type { EsClient } from './client.js';
import { supportsPit, type ClusterInfo } from './detect.js';
import { parseExactJson, stringifyExact, type JsonObject, type JsonValue } from './exact-json.js';
import { sortKeyBytes } from './id-order.js';
import { digestDocument, type FieldKinds } from './source-digest.js';

/** One document as the merge-join sees it: its key, its order bytes and the digest of its content. */
export interface DocEntry {
  /** The `_id`, or the id field's value; undefined when the document lacks the id field. */
  key: string | undefined;
  sortKey: Buffer;
  id: string;
  /** Custom routing, when the document has one (part of its identity and of its digest). */
  routing?: string | undefined;
  hash: string;
  /** Kept only with --show-fields, for the duration of one page. */
  source?: JsonValue | undefined;
}

export interface ScanOptions {
  index: string;
  query: Record<string, unknown>;
  /** `_id` or a keyword field with doc values. */
  sortField: string;
  batchSize: number;
  keepAlive: string;
  keepSource: boolean;
  /** false: read ids (and routing) only, `_source: false`; the digest then covers no content. */
  withSource: boolean;
  /** Number rules per field path for the digest. */
  kinds: FieldKinds;
  /** `auto` (PIT where the server has it, else scroll), or force one. */
  method: 'auto' | ScanMethod;
}

export type ScanMethod = 'pit' | 'scroll';

interface Hit {
  _id: string;
  _routing?: string;
  _source?: JsonValue;
  sort?: JsonValue[];
}

interface SearchPage {
  hits?: { hits?: Hit[]; total?: { value?: { text: string } } | { text: string } };
  pit_id?: string;
  _scroll_id?: string;
}

// No `filter_path` on searches: with it the server re-serializes every `_source` through a
// filtering JSON generator that rewrites number literals through doubles (`0.10000000000000001`
// comes back as `0.1`, `14850.00` as `14850.0`), exactly the differences this checker must see.
// Without it `_source` is copied byte for byte as stored.

/** The documents of one sort key are more than one request may return: that key cannot be judged. */
export class KeyGroupTooLargeError extends Error {
  constructor(
    readonly side: 'source' | 'target',
    readonly key: string | null,
    readonly total: number,
    readonly max: number,
  ) {
    super(
      `${total} documents on the ${side} share the sort key ${key === null ? '(no id field)' : JSON.stringify(key)}; at most ${max} can be read together`,
    );
    this.name = 'KeyGroupTooLargeError';
  }
}

/** Most documents one key group may hold (Elasticsearch's default index.max_result_window). */
const GROUP_MAX = 10_000;

/**
 * Streams an index in the order of `sortField`, a page at a time, with the next page already
 * requested while the caller works on the current one. Point-in-time + search_after where the
 * server has it (a consistent snapshot, no server-side context per page), otherwise a sorted
 * scroll. Never `_shard_doc` order: it depends on shard layout and cannot be compared across
 * clusters. Memory: two pages.
 *
 * `search_after` on a key that repeats would skip the documents of that key not yet returned
 * when a page ends inside the run. Elasticsearch adds a unique `_shard_doc` tiebreaker to every
 * PIT search (the sort values then have two entries and are passed back whole); OpenSearch has
 * none, so there the run that ends a full page is cut off and read whole with a query for that
 * key, and the next page starts after the key. Every key's documents therefore arrive together
 * and complete, whatever the batch size.
 */
export async function* scanSorted(
  client: EsClient,
  info: ClusterInfo,
  opts: ScanOptions,
  onMethod?: (m: ScanMethod) => void,
): AsyncGenerator<DocEntry[]> {
  const session = await openSession(client, info, opts);
  onMethod?.(session.method);
  const byId = opts.sortField === '_id';
  const entries = (hits: Hit[]) => hits.map((h) => toEntry(h, byId, opts));
  try {
    let pending = session.next(undefined);
    for (;;) {
      const hits = await pending;
      if (hits.length === 0) return;
      if (hits.length < opts.batchSize) {
        yield entries(hits);
        return;
      }
      const sort = hits[hits.length - 1]!.sort ?? [];
      if (session.method === 'scroll' || sort.length > 1) {
        pending = session.next(sort);
        // The prefetch may fail while the caller is busy; it is awaited (and thrown) on the next turn.
        pending.catch(() => undefined);
        yield entries(hits);
        continue;
      }
      const key = sort[0] ?? null;
      const keyText = stringifyExact(key);
      let cut = hits.length;
      while (cut > 0 && stringifyExact(hits[cut - 1]!.sort?.[0] ?? null) === keyText) cut--;
      const group = session.group(key, client.label);
      // Documents without the id field sort last: nothing follows their group.
      pending = key === null ? Promise.resolve([]) : session.next([key]);
      pending.catch(() => undefined);
      const rest = await group;
      yield entries([...hits.slice(0, cut), ...rest]);
    }
  } finally {
    await session.close();
  }
}

function toEntry(h: Hit, byId: boolean, opts: ScanOptions): DocEntry {
  const raw = byId ? h._id : h.sort?.[0];
  // A keyword sort value is a string; a document without the field sorts last with null.
  const key = typeof raw === 'string' ? raw : undefined;
  const source = opts.withSource ? h._source : undefined;
  const entry: DocEntry = {
    key,
    sortKey: key === undefined ? Buffer.alloc(0) : sortKeyBytes(key),
    id: h._id,
    hash: digestDocument(source, h._routing, opts.kinds),
  };
  if (h._routing !== undefined) entry.routing = h._routing;
  if (opts.keepSource) entry.source = source;
  return entry;
}

interface Session {
  method: ScanMethod;
  next(searchAfter: JsonValue[] | undefined): Promise<Hit[]>;
  /** Every document whose sort key is `key` (null: without the id field). PIT only. */
  group(key: JsonValue, side: 'source' | 'target'): Promise<Hit[]>;
  close(): Promise<void>;
}

function keyFilter(opts: ScanOptions, key: JsonValue): Record<string, unknown> {
  if (key === null) return { bool: { must_not: { exists: { field: opts.sortField } } } };
  return opts.sortField === '_id' ? { ids: { values: [key] } } : { term: { [opts.sortField]: key } };
}

function totalOf(page: SearchPage): number {
  const t = page.hits?.total;
  const n = t && 'text' in t ? t : t?.value;
  return n ? Number(n.text) : 0;
}

function searchBody(opts: ScanOptions): Record<string, unknown> {
  const sort =
    opts.sortField === '_id'
      ? // An index without any mapping yet (nothing indexed) has "no mapping for [_id]" on OpenSearch.
        [{ _id: { order: 'asc', unmapped_type: 'keyword' } }]
      : [{ [opts.sortField]: { order: 'asc', missing: '_last' } }];
  return { size: opts.batchSize, query: opts.query, sort, _source: opts.withSource };
}

async function openSession(client: EsClient, info: ClusterInfo, opts: ScanOptions): Promise<Session> {
  if (opts.method === 'pit' || (opts.method === 'auto' && supportsPit(info))) {
    const pit = await openPit(client, info, opts);
    if (pit) return pit;
    if (opts.method === 'pit') {
      throw new UsageError(
        `the ${client.label} cluster (${info.distribution} ${info.version}) has no point-in-time search`,
        {
          hint: 'use --scan auto or --scan scroll',
        },
      );
    }
  }
  return openScroll(client, opts);
}

async function openPit(client: EsClient, info: ClusterInfo, opts: ScanOptions): Promise<Session | undefined> {
  const os = info.distribution === 'opensearch';
  const index = encodeIndex(opts.index);
  const path = os
    ? `/${index}/_search/point_in_time?keep_alive=${opts.keepAlive}`
    : `/${index}/_pit?keep_alive=${opts.keepAlive}`;
  const res = await client.send('POST', path);
  const text = res.text;
  // A server without PIT (plugin missing, older minor) answers 400/404/405: use scroll instead.
  if (res.status === 400 || res.status === 404 || res.status === 405) {
    if (/index_not_found/.test(text)) throw client.httpError('POST', path, res.status, text);
    return undefined;
  }
  if (!res.ok) throw client.httpError('POST', path, res.status, text);
  const opened = JSON.parse(text) as { id?: string; pit_id?: string };
  let pitId = (os ? opened.pit_id : opened.id) ?? '';
  const base = searchBody(opts);
  return {
    method: 'pit',
    async next(searchAfter) {
      const body = {
        ...base,
        track_total_hits: false,
        pit: { id: pitId, keep_alive: opts.keepAlive },
        ...(searchAfter ? { search_after: searchAfter } : {}),
      };
      const page = await search(client, '/_search', body, opts);
      if (page.pit_id) pitId = page.pit_id;
      return page.hits?.hits ?? [];
    },
    async group(key, side) {
      const body = {
        ...base,
        size: GROUP_MAX,
        query: { bool: { filter: [opts.query, keyFilter(opts, key)] } },
        track_total_hits: true,
        pit: { id: pitId, keep_alive: opts.keepAlive },
      };
      const page = await search(client, '/_search', body, opts);
      const hits = page.hits?.hits ?? [];
      const total = totalOf(page);
      if (total > hits.length) {
        throw new KeyGroupTooLargeError(side, typeof key === 'string' ? key : null, total, GROUP_MAX);
      }
      return hits;
    },
    async close() {
      await bestEffort(() =>
        os
          ? client.request('DELETE', '/_search/point_in_time', { pit_id: [pitId] }, { allow: [404] })
          : client.request('DELETE', '/_pit', { id: pitId }, { allow: [404] }),
      );
    },
  };
}

function openScroll(client: EsClient, opts: ScanOptions): Session {
  let scrollId: string | undefined;
  return {
    method: 'scroll',
    async next() {
      const page = scrollId
        ? await search(client, '/_search/scroll', { scroll: opts.keepAlive, scroll_id: scrollId }, opts)
        : await search(
            client,
            `/${encodeIndex(opts.index)}/_search?scroll=${opts.keepAlive}`,
            searchBody(opts),
            opts,
          );
      scrollId = page._scroll_id ?? scrollId;
      return page.hits?.hits ?? [];
    },
    group() {
      return Promise.reject(new Error('a scroll needs no key groups'));
    },
    async close() {
      const id = scrollId;
      if (id)
        await bestEffort(() =>
          client.request('DELETE', '/_search/scroll', { scroll_id: [id] }, { allow: [404] }),
        );
    },
  };
}

async function search(client: EsClient, path: string, body: unknown, opts: ScanOptions): Promise<SearchPage> {
  return parseExactJson(await searchText(client, path, body, opts)) as JsonObject as unknown as SearchPage;
}

/** The body of a successful search; a refused sort or any other failure is thrown as an error a person can act on. */
export async function searchText(
  client: EsClient,
  path: string,
  body: unknown,
  opts: Pick<ScanOptions, 'index' | 'sortField'>,
): Promise<string> {
  const res = await client.send('POST', path, stringifyExact(body));
  const text = res.text;
  if (res.ok) return text;
  if (res.status === 400 && /Fielddata access on the _id field is disallowed|id_field_data/i.test(text)) {
    throw new UsageError(`the ${client.label} cluster does not allow sorting on _id (index ${opts.index})`, {
      hint: 'pass --id-field <keyword field holding the document id> (Elasticsearch 8 disables _id field data by default)',
    });
  }
  if (
    res.status === 400 &&
    /No mapping found for \[|can't sort on|fielddata is disabled|Text fields are not optimised/i.test(text)
  ) {
    throw new UsageError(`the ${client.label} cluster cannot sort index ${opts.index} on ${opts.sortField}`, {
      hint: '--id-field must name a keyword field with doc values that holds a unique id',
    });
  }
  throw client.httpError('POST', path, res.status, text);
}

export async function bestEffort(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch {
    /* the server expires it after keep_alive anyway */
  }
}

/** Index names and patterns in a URL path: keep `*` and `,`, escape the rest. */
export function encodeIndex(index: string): string {
  return index
    .split(',')
    .map((p) => encodeURIComponent(p).replace(/%2A/gi, '*'))
    .join(',');
}
