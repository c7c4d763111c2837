import * as crypto from 'node:crypto';
import type { EsClient } from './client.js';
import type { ClusterInfo } from './detect.js';
import type { JsonValue } from './exact-json.js';
import { bestEffort, encodeIndex, searchText, type ScanMethod } from './scan.js';
import { readSearchPage, type RawHit } from './search-page.js';

/**
 * One document as the hash join sees it: its identity (`_id` and routing) and a hash of the
 * routing and of `_source` exactly as received. Equal hashes mean equal bytes, hence equal
 * content; unequal hashes are settled by the canonical digest of `raw`, kept only while the
 * document waits for its twin.
 */
export interface RawEntry {
  id: string;
  routing?: string | undefined;
  hash: string;
  /** `_source` as received (undefined when not read or absent). */
  raw?: string | undefined;
}

export interface IndexOrderOptions {
  index: string;
  query: Record<string, unknown>;
  batchSize: number;
  keepAlive: string;
  /** false: ids (and routing) only, `_source: false`. */
  withSource: boolean;
  method: 'auto' | ScanMethod;
}

/**
 * How a server can stream an index in index order, without sorting it: a point in time sorted
 * on `_shard_doc` (Elasticsearch 7.12+), else a scroll sorted on `_doc` (any version; OpenSearch
 * has no `_shard_doc`, and `_doc` is not unique across shards, so it cannot page a point in time).
 * Undefined when the forced method cannot do it (`--scan pit` on OpenSearch): the caller then
 * uses the sorted merge-join.
 */
export function indexOrderMethod(info: ClusterInfo, method: 'auto' | ScanMethod): ScanMethod | undefined {
  const shardDoc =
    info.distribution === 'elasticsearch' && (info.major > 7 || (info.major === 7 && info.minor >= 12));
  if (method === 'scroll') return 'scroll';
  if (shardDoc) return 'pit';
  return method === 'auto' ? 'scroll' : undefined;
}

const hashText: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'base64')
    : (text) => crypto.createHash('sha256').update(text).digest('base64');

/** sha-256 of the routing and of the `_source` bytes as received. */
export function fastHash(routing: string | undefined, raw: string | undefined): string {
  return hashText(
    `${routing === undefined ? '-' : `r${JSON.stringify(routing)}`}\n${raw === undefined ? 'u' : `s${raw}`}`,
  );
}

function toEntry(h: RawHit, withSource: boolean): RawEntry {
  const raw = withSource ? h.source : undefined;
  const e: RawEntry = { id: h._id, hash: fastHash(h._routing, raw), raw };
  if (h._routing !== undefined) e.routing = h._routing;
  return e;
}

/**
 * Streams an index in index order, a page at a time, with the next page already requested
 * while the caller works on the current one. The order differs between clusters (it follows
 * segments and shards), so the caller joins by identity, never by position. Memory: two pages.
 */
export async function* scanIndexOrder(
  client: EsClient,
  info: ClusterInfo,
  opts: IndexOrderOptions,
  method: ScanMethod,
): AsyncGenerator<RawEntry[]> {
  const errOpts = { index: opts.index, sortField: '_shard_doc' };
  const index = encodeIndex(opts.index);
  const base = { size: opts.batchSize, query: opts.query, _source: opts.withSource };
  let next: (after: JsonValue[] | undefined) => Promise<RawHit[]>;
  let close: () => Promise<void>;
  if (method === 'pit') {
    const opened = await client.request<{ id?: string }>(
      'POST',
      `/${index}/_pit?keep_alive=${opts.keepAlive}`,
    );
    let pitId = opened.id ?? '';
    next = async (after) => {
      const body = {
        ...base,
        sort: ['_shard_doc'],
        // Counting is wasted work on every page (a scroll context refuses to disable it).
        track_total_hits: false,
        pit: { id: pitId, keep_alive: opts.keepAlive },
        ...(after ? { search_after: after } : {}),
      };
      const page = readSearchPage(await searchText(client, '/_search', body, errOpts));
      if (page.pitId) pitId = page.pitId;
      return page.hits;
    };
    close = () => bestEffort(() => client.request('DELETE', '/_pit', { id: pitId }, { allow: [404] }));
  } else {
    let scrollId: string | undefined;
    next = async () => {
      const text = scrollId
        ? await searchText(
            client,
            '/_search/scroll',
            { scroll: opts.keepAlive, scroll_id: scrollId },
            errOpts,
          )
        : await searchText(
            client,
            `/${index}/_search?scroll=${opts.keepAlive}`,
            { ...base, sort: ['_doc'] },
            errOpts,
          );
      const page = readSearchPage(text);
      scrollId = page.scrollId ?? scrollId;
      return page.hits;
    };
    close = async () => {
      const id = scrollId;
      if (id)
        await bestEffort(() =>
          client.request('DELETE', '/_search/scroll', { scroll_id: [id] }, { allow: [404] }),
        );
    };
  }
  try {
    let pending = next(undefined);
    for (;;) {
      const hits = await pending;
      if (hits.length === 0) return;
      const last = hits.length < opts.batchSize;
      if (!last) {
        pending = next(hits[hits.length - 1]!.sort ?? []);
        // The prefetch may fail while the caller is busy; it is awaited (and thrown) on the next turn.
        pending.catch(() => undefined);
      }
      yield hits.map((h) => toEntry(h, opts.withSource));
      if (last) return;
    }
  } finally {
    await close();
  }
}
