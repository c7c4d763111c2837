import type { DocEntry } from './scan.js';

/** What the merge-join found, one call per document (or pair of documents). */
export interface MergeSink {
  match(a: DocEntry, b: DocEntry): void;
  different(a: DocEntry, b: DocEntry): void;
  missing(a: DocEntry): void;
  extra(b: DocEntry): void;
  /** A document that cannot be matched: no id field, or an id seen twice on one side. */
  unverified(e: DocEntry, side: 'source' | 'target', reason: 'no-id-field' | 'duplicate-id'): void;
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

class Cursor {
  private page: DocEntry[] = [];
  private i = 0;
  private done = false;
  private prev: DocEntry | undefined;

  constructor(
    private readonly it: AsyncIterator<DocEntry[]>,
    readonly side: 'source' | 'target',
  ) {}

  /** The current document, or undefined at the end. */
  async head(): Promise<DocEntry | undefined> {
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

  advance(): void {
    this.prev = this.page[this.i];
    this.i++;
  }

  /** Checks order against the previous document; true when the current one repeats its key. */
  isDuplicate(e: DocEntry): boolean {
    const p = this.prev;
    if (!p || p.key === undefined || e.key === undefined) return false;
    const c = Buffer.compare(e.sortKey, p.sortKey);
    if (c < 0) throw new ScanOrderError(this.side, p.key, e.key);
    return c === 0;
  }

  async close(): Promise<void> {
    await this.it.return?.(undefined);
  }
}

/**
 * Merge-join of two streams sorted by the same key: O(1) memory beyond the pages in flight, so
 * 100M documents need no 100M-entry map. Documents without a key sort last on both sides.
 */
export async function mergeSorted(
  source: AsyncIterable<DocEntry[]>,
  target: AsyncIterable<DocEntry[]>,
  sink: MergeSink,
): Promise<void> {
  const a = new Cursor(source[Symbol.asyncIterator](), 'source');
  const b = new Cursor(target[Symbol.asyncIterator](), 'target');
  try {
    let x = await a.head();
    let y = await b.head();
    while (x || y) {
      if (x && (x.key === undefined || a.isDuplicate(x))) {
        sink.unverified(x, 'source', x.key === undefined ? 'no-id-field' : 'duplicate-id');
        a.advance();
        x = await a.head();
        continue;
      }
      if (y && (y.key === undefined || b.isDuplicate(y))) {
        sink.unverified(y, 'target', y.key === undefined ? 'no-id-field' : 'duplicate-id');
        b.advance();
        y = await b.head();
        continue;
      }
      const c = !x ? 1 : !y ? -1 : Buffer.compare(x.sortKey, y.sortKey);
      if (c === 0) {
        if (x!.hash === y!.hash) sink.match(x!, y!);
        else sink.different(x!, y!);
        a.advance();
        b.advance();
        [x, y] = await Promise.all([a.head(), b.head()]);
      } else if (c < 0) {
        sink.missing(x!);
        a.advance();
        x = await a.head();
      } else {
        sink.extra(y!);
        b.advance();
        y = await b.head();
      }
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
