import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExactJson, type JsonValue } from './exact-json.js';
import { joinGroup, type MergeSink } from './merge.js';
import type { RawEntry } from './scan-index-order.js';
import type { DocEntry } from './scan.js';
import { digestDocument, type FieldKinds } from './source-digest.js';

export interface HashJoinOptions {
  kinds: FieldKinds;
  /** Keep the parsed `_source` of differing documents for the sink (--show-fields). */
  keepSource: boolean;
  /** Bytes of waiting documents kept in memory before the join moves to disk. Default 64 MiB. */
  memoryBytes?: number;
  /** Documents expected on both sides together (sizes the partitions on disk). */
  expected: number;
}

type SideName = 'source' | 'target';
const ENTRY_OVERHEAD = 160;

/** Same `_id` and routing: the same document. */
function identity(e: RawEntry): string {
  return e.routing === undefined ? `${e.id}\u0000-` : `${e.id}\u0000r${e.routing}`;
}

/** FNV-1a of the `_id`: every document of one `_id` lands in the same partition. */
function partitionOf(id: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

const byIdBytes = (a: DocEntry, b: DocEntry): number =>
  a.id === b.id
    ? (a.routing ?? '') < (b.routing ?? '')
      ? -1
      : (a.routing ?? '') > (b.routing ?? '')
        ? 1
        : 0
    : Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));

interface Finding {
  kind: 'different' | 'missing' | 'extra';
  a: DocEntry;
  b?: DocEntry | undefined;
}

/**
 * Joins two streams of documents in any order by identity (`_id` + routing), the way a database
 * joins without an index: each document waits in a hash table until its twin arrives from the
 * other side. Two clusters holding the same data usually stream it in nearly the same order, so
 * few wait; when the waiting documents exceed `memoryBytes` every document from then on goes to
 * partition files on disk (by a hash of the `_id`), and each partition is joined alone at the
 * end: memory stays bounded whatever the order.
 *
 * Content: equal hashes of the bytes as received are a match; unequal ones are settled by the
 * canonical digest (key order, number spelling by field type, string escapes), so only the
 * documents whose bytes differ are ever parsed. Differences, missing and extra documents reach
 * the sink in `_id` byte order once both streams have ended, so a verdict lists the same
 * documents on every run.
 */
export class HashJoin {
  private readonly waiting: Record<SideName, Map<string, RawEntry>> = {
    source: new Map(),
    target: new Map(),
  };
  /** Documents whose identity repeats on one side (not expected in Elasticsearch; joined at the end). */
  private readonly repeated: Record<SideName, RawEntry[]> = { source: [], target: [] };
  private waitingBytes = 0;
  /** Joining one partition from disk: it fits by construction, nothing spills again. */
  private inPartition = false;
  private readonly findings: Finding[] = [];
  private spill: { dir: string; partitions: number; buffers: string[][]; sizes: number[] } | undefined;

  constructor(
    private readonly sink: MergeSink,
    private readonly opts: HashJoinOptions,
  ) {}

  /** Takes one page of one side. */
  add(side: SideName, entries: RawEntry[]): void {
    if (this.spill) {
      for (const e of entries) this.toDisk(side, e);
      return;
    }
    const other = side === 'source' ? 'target' : 'source';
    const mine = this.waiting[side];
    const theirs = this.waiting[other];
    for (const e of entries) {
      const key = identity(e);
      const twin = theirs.get(key);
      if (twin) {
        theirs.delete(key);
        this.waitingBytes -= sizeOf(twin);
        if (side === 'source') this.compare(e, twin);
        else this.compare(twin, e);
      } else if (mine.has(key)) this.repeated[side].push(detached(e));
      else {
        // The key from the copy too: a key built on the slice would hold the page as well.
        const d = detached(e);
        mine.set(identity(d), d);
        this.waitingBytes += sizeOf(e);
      }
    }
    if (!this.inPartition && this.waitingBytes > (this.opts.memoryBytes ?? 64 * 1024 * 1024))
      this.startSpill();
  }

  /** After both streams ended: joins what is left (and each partition on disk), then reports. */
  finish(): void {
    if (this.spill) {
      const { dir, partitions } = this.spill;
      for (let p = 0; p < partitions; p++) this.flushOne(p);
      try {
        for (let p = 0; p < partitions; p++) this.joinPartition(join(dir, `${p}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
        this.spill = undefined;
      }
    } else this.joinLeftovers();
    this.findings.sort((x, y) => byIdBytes(x.a, y.a));
    for (const f of this.findings) {
      if (f.kind === 'different') this.sink.different(f.a, f.b!);
      else if (f.kind === 'missing') this.sink.missing(f.a);
      else this.sink.extra(f.a);
    }
    this.findings.length = 0;
  }

  /** Removes the partition files if the join was abandoned. */
  dispose(): void {
    if (this.spill) rmSync(this.spill.dir, { recursive: true, force: true });
    this.spill = undefined;
  }

  private compare(a: RawEntry, b: RawEntry): void {
    if (a.hash === b.hash) {
      this.sink.match(this.doc(a, false), this.doc(b, false));
      return;
    }
    const da = this.doc(a, true);
    const db = this.doc(b, true);
    if (da.hash === db.hash) this.sink.match(da, db);
    else this.findings.push({ kind: 'different', a: this.slim(da), b: this.slim(db) });
  }

  /** The sink's view of an entry; `canonical`: with the canonical digest instead of the fast hash. */
  private doc(e: RawEntry, canonical: boolean): DocEntry {
    const d: DocEntry = { key: e.id, sortKey: EMPTY, id: e.id, hash: e.hash };
    if (e.routing !== undefined) d.routing = e.routing;
    if (canonical) {
      const source: JsonValue | undefined = e.raw === undefined ? undefined : parseExactJson(e.raw);
      d.hash = digestDocument(source, e.routing, this.opts.kinds);
      d.source = source;
    }
    return d;
  }

  private slim(d: DocEntry): DocEntry {
    if (!this.opts.keepSource) delete d.source;
    return d;
  }

  /** The documents still waiting, grouped by `_id` (a document under another routing may be its changed twin). */
  private joinLeftovers(): void {
    const byId = new Map<string, { a: RawEntry[]; b: RawEntry[] }>();
    const put = (e: RawEntry, side: 'a' | 'b') => {
      let g = byId.get(e.id);
      if (!g) byId.set(e.id, (g = { a: [], b: [] }));
      g[side].push(e);
    };
    for (const e of this.waiting.source.values()) put(e, 'a');
    for (const e of this.waiting.target.values()) put(e, 'b');
    for (const e of this.repeated.source) put(e, 'a');
    for (const e of this.repeated.target) put(e, 'b');
    this.waiting.source.clear();
    this.waiting.target.clear();
    this.repeated.source.length = 0;
    this.repeated.target.length = 0;
    this.waitingBytes = 0;
    const collect: MergeSink = {
      match: (a, b) => this.sink.match(a, b),
      different: (a, b) => this.findings.push({ kind: 'different', a: this.slim(a), b: this.slim(b) }),
      missing: (a) => this.findings.push({ kind: 'missing', a: this.slim(a) }),
      extra: (b) => this.findings.push({ kind: 'extra', a: this.slim(b) }),
      unverified: (e, side, reason) => this.sink.unverified(e, side, reason),
    };
    for (const { a, b } of byId.values()) {
      if (b.length === 0) for (const e of a) collect.missing(this.doc(e, false));
      else if (a.length === 0) for (const e of b) collect.extra(this.doc(e, false));
      else
        joinGroup(
          a.map((e) => this.doc(e, true)),
          b.map((e) => this.doc(e, true)),
          collect,
        );
    }
  }

  private startSpill(): void {
    const perPartition = (this.opts.memoryBytes ?? 64 * 1024 * 1024) / 2;
    const seen = Math.max(1, this.waiting.source.size + this.waiting.target.size);
    const estimate = (this.waitingBytes / seen) * Math.max(this.opts.expected, seen);
    const partitions = Math.min(1024, Math.max(4, Math.ceil(estimate / perPartition)));
    this.spill = {
      dir: mkdtempSync(join(tmpdir(), 'drctl-es-join-')),
      partitions,
      buffers: Array.from({ length: partitions }, () => []),
      sizes: new Array<number>(partitions).fill(0),
    };
    for (const side of ['source', 'target'] as const) {
      for (const e of this.waiting[side].values()) this.toDisk(side, e);
      for (const e of this.repeated[side]) this.toDisk(side, e);
      this.waiting[side].clear();
      this.repeated[side].length = 0;
    }
    this.waitingBytes = 0;
  }

  private toDisk(side: SideName, e: RawEntry): void {
    const s = this.spill!;
    const p = partitionOf(e.id, s.partitions);
    const line = JSON.stringify([side === 'source' ? 0 : 1, e.id, e.routing ?? null, e.hash, e.raw ?? null]);
    s.buffers[p]!.push(line);
    s.sizes[p]! += line.length;
    if (s.sizes[p]! > 256 * 1024) this.flushOne(p);
  }

  private flushOne(p: number): void {
    const s = this.spill!;
    if (s.buffers[p]!.length === 0) return;
    appendFileSync(join(s.dir, `${p}`), `${s.buffers[p]!.join('\n')}\n`);
    s.buffers[p] = [];
    s.sizes[p] = 0;
  }

  private joinPartition(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const pages: Record<SideName, RawEntry[]> = { source: [], target: [] };
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const [s, id, routing, hash, raw] = JSON.parse(line) as [
        0 | 1,
        string,
        string | null,
        string,
        string | null,
      ];
      const e: RawEntry = { id, hash };
      if (routing !== null) e.routing = routing;
      if (raw !== null) e.raw = raw;
      pages[s === 0 ? 'source' : 'target'].push(e);
    }
    const spill = this.spill;
    this.spill = undefined;
    this.inPartition = true;
    try {
      this.add('source', pages.source);
      this.add('target', pages.target);
      this.joinLeftovers();
    } finally {
      this.spill = spill;
      this.inPartition = false;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A copy of `s` that shares no memory with the string it was cut from. A page's `_source` texts
 * (and long `_id`s) are slices of the whole search answer, and V8 keeps a parent string alive
 * as long as any slice of it is: one waiting document would hold its whole page (1,000
 * documents). Short strings are copies already. UTF-8 both ways for text without surrogates (one
 * byte per ASCII character, as V8 keeps it), UTF-16 otherwise: exact either way.
 */
const SURROGATE = /[\uD800-\uDFFF]/;
function detach(s: string): string;
function detach(s: string | undefined): string | undefined;
function detach(s: string | undefined): string | undefined {
  if (s === undefined || s.length < 13) return s;
  return SURROGATE.test(s)
    ? Buffer.from(s, 'utf16le').toString('utf16le')
    : Buffer.from(s, 'utf8').toString('utf8');
}

/** The entry as it waits for its twin: holding only its own text (see detach). */
function detached(e: RawEntry): RawEntry {
  const d: RawEntry = { id: detach(e.id), hash: e.hash, raw: detach(e.raw) };
  if (e.routing !== undefined) d.routing = detach(e.routing);
  return d;
}

function sizeOf(e: RawEntry): number {
  return ENTRY_OVERHEAD + 2 * (e.id.length + (e.raw?.length ?? 0));
}

/**
 * Feeds both streams into a {@link HashJoin} as their pages arrive (neither waits for the other)
 * and reports when both have ended.
 */
export async function joinStreams(
  source: AsyncIterable<RawEntry[]>,
  target: AsyncIterable<RawEntry[]>,
  sink: MergeSink,
  opts: HashJoinOptions,
): Promise<void> {
  const join = new HashJoin(sink, opts);
  try {
    let stop = false;
    const pump = async (side: SideName, pages: AsyncIterable<RawEntry[]>) => {
      try {
        for await (const page of pages) {
          // The other side failed: end this scan too (its context is released on the way out).
          if (stop) return;
          join.add(side, page);
        }
      } catch (err) {
        stop = true;
        throw err;
      }
    };
    const pumps = [pump('source', source), pump('target', target)];
    // Both settle before an error is thrown, so neither scan is left holding its context.
    const results = await Promise.allSettled(pumps);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    join.finish();
  } finally {
    join.dispose();
  }
}
