import type { DocEntry } from './scan.js';

/** What the merge-join found, one call per document (or pair of documents). */
export interface MergeSink {
  match(a: DocEntry, b: DocEntry): void;
  different(a: DocEntry, b: DocEntry): void;
  missing(a: DocEntry): void;
  extra(b: DocEntry): void;
  /** A document that cannot be matched: it has no id field. */
  unverified(e: DocEntry, side: 'source' | 'target', reason: 'no-id-field'): void;
}

/** A stream that did not arrive in the order the merge relies on; nothing after it can be judged. */
export class ScanOrderError extends Error {
  constructor(
    readonly side: 'source' | 'target',
    readonly previous: string,
    readonly current: string,
  ) {
    super(
      `the ${side} stream is not sorted: ${JSON.stringify(current)} came after ${JSON.stringify(previous)}`,
    );
    this.name = 'ScanOrderError';
  }
}

/** The documents of one sort key, as one side delivered them (the scan keeps them together). */
interface Group {
  key: string | undefined;
  sortKey: Buffer;
  items: DocEntry[];
}

class Cursor {
  private page: DocEntry[] = [];
  private i = 0;
  private done = false;
  private prev: Group | undefined;

  constructor(
    private readonly it: AsyncIterator<DocEntry[]>,
    readonly side: 'source' | 'target',
  ) {}

  private async peek(): Promise<DocEntry | undefined> {
    while (this.i >= this.page.length) {
      if (this.done) return undefined;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return undefined;
      }
      this.page = r.value;
      this.i = 0;
    }
    return this.page[this.i];
  }

  /**
   * The next run of documents sharing a key (a document without a key is a run of its own), with
   * the order checked against the previous run: keys strictly increase, keyless documents last.
   */
  async group(): Promise<Group | undefined> {
    const first = await this.peek();
    if (!first) return undefined;
    this.i++;
    const p = this.prev;
    if (
      p &&
      (p.key === undefined
        ? first.key !== undefined
        : first.key !== undefined && Buffer.compare(first.sortKey, p.sortKey) <= 0)
    ) {
      throw new ScanOrderError(this.side, p.key ?? '(no id field)', first.key ?? '(no id field)');
    }
    const g: Group = { key: first.key, sortKey: first.sortKey, items: [first] };
    if (first.key !== undefined) {
      for (
        let e = await this.peek();
        e && e.key !== undefined && Buffer.compare(e.sortKey, g.sortKey) === 0;
        e = await this.peek()
      ) {
        g.items.push(e);
        this.i++;
      }
    }
    this.prev = g;
    return g;
  }

  async close(): Promise<void> {
    await this.it.return?.(undefined);
  }
}

/**
 * Joins the documents of one key on both sides. One each: the same document (match or
 * different, whatever their `_id`s when matching on an id field). Several (a repeated id field,
 * or one `_id` under several custom routings): documents with the same `_id` and routing pair
 * up first, then documents with equal content; one left on each side is a changed document, the
 * rest are missing or extra. A key group is consistent only when both sides hold the same
 * multiset of documents.
 */
export function joinGroup(a: DocEntry[], b: DocEntry[], sink: MergeSink): void {
  if (a.length === 1 && b.length === 1) {
    if (a[0]!.hash === b[0]!.hash) sink.match(a[0]!, b[0]!);
    else sink.different(a[0]!, b[0]!);
    return;
  }
  const identity = (e: DocEntry) => `${e.id}\u0000${e.routing ?? ''}`;
  const leftA: DocEntry[] = [];
  const byIdentity = new Map<string, DocEntry[]>();
  for (const e of b) byIdentity.set(identity(e), [...(byIdentity.get(identity(e)) ?? []), e]);
  const usedB = new Set<DocEntry>();
  for (const e of a) {
    const other = byIdentity.get(identity(e))?.find((x) => !usedB.has(x));
    if (!other) {
      leftA.push(e);
      continue;
    }
    usedB.add(other);
    if (e.hash === other.hash) sink.match(e, other);
    else sink.different(e, other);
  }
  let leftB = b.filter((x) => !usedB.has(x));
  const stillA: DocEntry[] = [];
  for (const e of leftA) {
    const j = leftB.findIndex((x) => x.hash === e.hash);
    if (j < 0) {
      stillA.push(e);
      continue;
    }
    sink.match(e, leftB[j]!);
    leftB = leftB.filter((_, k) => k !== j);
  }
  if (stillA.length === 1 && leftB.length === 1) {
    sink.different(stillA[0]!, leftB[0]!);
    return;
  }
  for (const e of stillA) sink.missing(e);
  for (const e of leftB) sink.extra(e);
}

/**
 * Merge-join of two streams sorted by the same key (UTF-8 byte order). Memory: the current page
 * of each side (and one key group), so 100M documents need no 100M-entry map. Documents
 * without a key sort last on both sides.
 */
export async function mergeSorted(
  source: AsyncIterable<DocEntry[]>,
  target: AsyncIterable<DocEntry[]>,
  sink: MergeSink,
): Promise<void> {
  const a = new Cursor(source[Symbol.asyncIterator](), 'source');
  const b = new Cursor(target[Symbol.asyncIterator](), 'target');
  try {
    let [x, y] = await Promise.all([a.group(), b.group()]);
    while (x || y) {
      if (x && x.key === undefined) {
        for (const e of x.items) sink.unverified(e, 'source', 'no-id-field');
        x = await a.group();
        continue;
      }
      if (y && y.key === undefined) {
        for (const e of y.items) sink.unverified(e, 'target', 'no-id-field');
        y = await b.group();
        continue;
      }
      const c = !x ? 1 : !y ? -1 : Buffer.compare(x.sortKey, y.sortKey);
      if (c === 0) {
        joinGroup(x!.items, y!.items, sink);
        [x, y] = await Promise.all([a.group(), b.group()]);
      } else if (c < 0) {
        for (const e of x!.items) sink.missing(e);
        x = await a.group();
      } else {
        for (const e of y!.items) sink.extra(e);
        y = await b.group();
      }
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
