import { UsageError } from '../../src/errors.js';
import { hashSource } from './canonical.js';
import type { EsClient } from './client.js';
import { supportsPit, type ClusterInfo } from './detect.js';
import { sortKeyBytes } from './id-order.js';

/** One document as the merge-join sees it: its key, its order bytes and the hash of its _source. */
export interface DocEntry {
  /** The `_id`, or the id field's value; undefined when the document lacks the id field. */
  key: string | undefined;
  sortKey: Buffer;
  id: string;
  hash: string;
  /** Kept only with --show-fields, for the duration of one page. */
  source?: unknown;
}

export interface ScanOptions {
  index: string;
  query: Record<string, unknown>;
  /** `_id` or a keyword field with doc values. */
  sortField: string;
  batchSize: number;
  keepAlive: string;
  keepSource: boolean;
  /** `auto` (PIT where the server has it, else scroll), or force one. */
  method: 'auto' | ScanMethod;
}

export type ScanMethod = 'pit' | 'scroll';

interface Hit {
  _id: string;
  _source?: unknown;
  sort?: unknown[];
}

interface SearchPage {
  hits?: { hits?: Hit[] };
  pit_id?: string;
  _scroll_id?: string;
}

const FILTER = 'filter_path=pit_id,_scroll_id,hits.hits._id,hits.hits._source,hits.hits.sort';

/**
 * Streams an index in the order of `sortField`, a page at a time, with the next page already
 * requested while the caller works on the current one. Point-in-time + search_after where the
 * server has it (a consistent snapshot, no server-side context per page), otherwise a sorted
 * scroll. Never `_shard_doc` order: it depends on shard layout and cannot be compared across
 * clusters. Memory: two pages.
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
  try {
    let pending = session.next(undefined);
    for (;;) {
      const hits = await pending;
      if (hits.length === 0) return;
      const last = hits[hits.length - 1]!;
      pending = hits.length < opts.batchSize ? Promise.resolve([]) : session.next(last.sort);
      // The prefetch may fail while the caller is busy; it is awaited (and thrown) on the next turn.
      pending.catch(() => undefined);
      yield hits.map((h) => toEntry(h, byId, opts.keepSource));
    }
  } finally {
    await session.close();
  }
}

function toEntry(h: Hit, byId: boolean, keepSource: boolean): DocEntry {
  const raw = byId ? h._id : h.sort?.[0];
  // A keyword sort value is a string; a document without the field sorts last with null.
  const key = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : undefined;
  const entry: DocEntry = {
    key,
    sortKey: key === undefined ? Buffer.alloc(0) : sortKeyBytes(key),
    id: h._id,
    hash: hashSource(h._source ?? null),
  };
  if (keepSource) entry.source = h._source;
  return entry;
}

interface Session {
  method: ScanMethod;
  next(searchAfter: unknown[] | undefined): Promise<Hit[]>;
  close(): Promise<void>;
}

function searchBody(opts: ScanOptions): Record<string, unknown> {
  const sort =
    opts.sortField === '_id'
      ? [{ _id: { order: 'asc' } }]
      : [{ [opts.sortField]: { order: 'asc', missing: '_last' } }];
  return { size: opts.batchSize, query: opts.query, sort, _source: true };
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
  const text = await res.text();
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
      const page = await search(client, `/_search?${FILTER}`, body, opts);
      if (page.pit_id) pitId = page.pit_id;
      return page.hits?.hits ?? [];
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
        ? await search(
            client,
            `/_search/scroll?${FILTER}`,
            { scroll: opts.keepAlive, scroll_id: scrollId },
            opts,
          )
        : await search(
            client,
            `/${encodeIndex(opts.index)}/_search?scroll=${opts.keepAlive}&${FILTER}`,
            searchBody(opts),
            opts,
          );
      scrollId = page._scroll_id ?? scrollId;
      return page.hits?.hits ?? [];
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
  const res = await client.send('POST', path, body);
  const text = await res.text();
  if (res.ok) return JSON.parse(text) as SearchPage;
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

async function bestEffort(fn: () => Promise<unknown>): Promise<void> {
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
