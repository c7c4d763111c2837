import { setMaxListeners } from 'node:events';
import { compareObjects, type Verdict } from './compare.js';
import type { ListedObject } from './list-xml.js';
import { RangeCursor, type ListingSource } from './range-cursor.js';
import { planSplit, type KeyRange } from './split-points.js';

/** One compared key, as reported: the rclone symbol, the key relative to the prefix, and why. */
export interface ObjectResult {
  verdict: Verdict;
  /** The key as text (decoded only when used). */
  readonly name: string;
  reason?: string | undefined;
  source?: ListedObject | undefined;
  target?: ListedObject | undefined;
  /** Only for `?`: hashing both copies could settle it. */
  needsContent?: boolean | undefined;
}

export interface ScanOptions {
  concurrency: number;
  /** Compare the content only of keys modified after this instant on either side (presence: all). */
  since?: Date | undefined;
  compareModTime: boolean;
  signal: AbortSignal;
  /** Called for every key in range order within a key range (ranges run in parallel). */
  onObject: (r: ObjectResult) => Promise<void> | void;
  /**
   * When given, called instead of onObject for keys listed the same on both sides: a consumer
   * that only counts those spares an object per key (most keys, in a healthy DR copy).
   */
  onSame?: (() => void) | undefined;
}

export interface ScanCounts {
  sourceObjects: number;
  targetObjects: number;
  sourceBytes: number;
  targetBytes: number;
  skippedOlder: number;
  ranges: number;
  listRequests: number;
}

/**
 * Compares two listings by merge-join on key bytes. The key space is cut into ranges that are
 * listed and merged independently, several at once; a range splits its own remainder whenever
 * workers would otherwise sit idle, so one big flat bucket is still listed many ways at once.
 * Memory: per active range, at most two pages per side.
 */
export async function scanBucketPair(
  source: ListingSource,
  target: ListingSource,
  opts: ScanOptions,
): Promise<ScanCounts> {
  const counts: ScanCounts = {
    sourceObjects: 0,
    targetObjects: 0,
    sourceBytes: 0,
    targetBytes: 0,
    skippedOlder: 0,
    ranges: 0,
    listRequests: 0,
  };
  const queue: KeyRange[] = [{ within: Buffer.alloc(0) }];
  let active = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // The first failing range stops the others: a partial answer is no answer.
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  setMaxListeners(0, signal); // every in-flight request listens for the abort
  const sinceMs = opts.since?.getTime();
  const isRecent = (o: ListedObject | undefined) => o !== undefined && Date.parse(o.lastModified) > sinceMs!;

  // Synchronous unless the consumer needs to wait (a download, a full output pipe): most keys
  // then cost no promise at all.
  const report = (src: ListedObject | undefined, tgt: ListedObject | undefined): Promise<void> | void => {
    if (src) {
      counts.sourceObjects++;
      counts.sourceBytes += src.size;
    }
    if (tgt) {
      counts.targetObjects++;
      counts.targetBytes += tgt.size;
    }
    // The window narrows only the content comparison: a key on one side only is always
    // reported, since a deletion inside the window leaves no recent object on either side.
    if (src && tgt && sinceMs !== undefined && !isRecent(src) && !isRecent(tgt)) {
      counts.skippedOlder++;
      return;
    }
    if (src && tgt) {
      const c = compareObjects(src, tgt, opts.compareModTime);
      if (c.verdict === '=' && opts.onSame) return opts.onSame();
      return opts.onObject({
        verdict: c.verdict,
        get name() {
          return src.name;
        },
        reason: c.reason,
        source: src,
        target: tgt,
        needsContent: c.needsContent,
      });
    } else if (src) {
      return opts.onObject({ verdict: '+', name: src.name, reason: 'missing on target', source: src });
    } else {
      return opts.onObject({ verdict: '-', name: tgt!.name, reason: 'only on target', target: tgt });
    }
  };

  /** Hands the rest of `range` (beyond what both sides have fetched) to idle workers. */
  const splitRemainder = (range: KeyRange, a: RangeCursor, b: RangeCursor) => {
    const live = [a, b].filter((c) => c.hasMore);
    if (live.some((c) => c.position === undefined)) return;
    const ahead = [a, b].reduce<RangeCursor | undefined>((m, c) => {
      if (c.position === undefined) return m;
      return m === undefined || Buffer.compare(c.position, m.position!) > 0 ? c : m;
    }, undefined);
    if (!ahead?.position || !ahead.pageFirst) return;
    const positions = live.map((c) => c.position!);
    const lowest = positions.reduce((m, p) => (Buffer.compare(p, m) < 0 ? p : m), ahead.position);
    const plan = planSplit(range, ahead.pageFirst, ahead.position, lowest);
    if (!plan) return;
    range.within = plan.current.within;
    range.before = plan.current.before;
    queue.push(...plan.pieces);
    notify();
  };

  const mergeRange = async (range: KeyRange) => {
    counts.ranges++;
    const a = new RangeCursor(source, range, signal);
    const b = new RangeCursor(target, range, signal);
    let pagesSeen = 0;
    try {
      let x = a.tryNext();
      let y = b.tryNext();
      if (x === null || y === null) [x, y] = await Promise.all([x ?? a.next(), y ?? b.next()]);
      while (x !== undefined || y !== undefined) {
        signal.throwIfAborted();
        const c = x === undefined ? 1 : y === undefined ? -1 : Buffer.compare(x.key, y.key);
        const pending = c === 0 ? report(x, y) : c < 0 ? report(x, undefined) : report(undefined, y);
        if (pending) await pending;
        if (c <= 0) x = a.tryNext();
        if (c >= 0) y = b.tryNext();
        if (x === null || y === null) [x, y] = await Promise.all([x ?? a.next(), y ?? b.next()]);
        // Idle workers and more to list here: hand the rest of this range to them.
        const pages = a.pages + b.pages;
        if (pages !== pagesSeen) {
          pagesSeen = pages;
          if ((a.hasMore || b.hasMore) && queue.length + active < opts.concurrency)
            splitRemainder(range, a, b);
        }
      }
    } finally {
      counts.listRequests += a.pages + b.pages;
    }
  };

  const worker = async () => {
    for (;;) {
      const range = queue.shift();
      if (range === undefined) {
        if (active === 0) return;
        await new Promise<void>((resolve) => {
          const prev = wake;
          wake = () => {
            prev?.();
            resolve();
          };
        });
        continue;
      }
      active++;
      try {
        await mergeRange(range);
      } catch (err) {
        if (!stop.signal.aborted) stop.abort(err);
        throw err;
      } finally {
        active--;
        notify();
      }
    }
  };

  const results = await Promise.allSettled(Array.from({ length: opts.concurrency }, worker));
  if (results.some((r) => r.status === 'rejected'))
    throw opts.signal.aborted ? opts.signal.reason : stop.signal.reason;
  return counts;
}
