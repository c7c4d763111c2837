/**
 * Where to cut the rest of a key range so that several workers can list it at once. S3 cannot
 * count keys in a range, so the cuts are guessed from the keys seen: at each position near
 * where the keys vary, the next characters of the same class (digits, letters) likely start
 * blocks of keys (`obj/0000999` → `obj/0001`…`obj/0009`, then `obj/001`…`obj/009`, …).
 *
 * Every piece is bounded by a listing prefix (`within`), so listing it ends exactly where the
 * piece ends instead of reading a page past it, and a wrong guess costs one empty listing.
 * Every `within` and `startAfter` is valid UTF-8: cuts are made only at ASCII bytes.
 */

/** A part of the key space (relative to the listing prefix): keys k with `within` ≤ k's start,
 *  k ≥ `from`, k < `before`. */
export interface KeyRange {
  /** Every key starts with this; it is sent as the listing Prefix. */
  within: Buffer;
  /** StartAfter for the first page (UTF-8 text relative to the prefix). */
  startAfter?: string | undefined;
  /** Inclusive lower bound (keys below are skipped); undefined = none. */
  from?: Buffer | undefined;
  /** Exclusive upper bound; undefined = end of `within`. May shrink while the range is listed. */
  before?: Buffer | undefined;
}

/** Positions above the varying one that get cuts: far above, whole classes are usually empty. */
const DEPTH = 3;
/** U+10FFFF: appended to a StartAfter to skip every key with that prefix (whose next character is lower). */
const MAX_CHAR = '\u{10FFFF}';

function classAbove(c: number): number[] {
  const upTo =
    c >= 48 && c <= 57 ? 57 : c >= 97 && c <= 122 ? 122 : c >= 65 && c <= 90 ? 90 : c < 0x7f ? c + 1 : c;
  return Array.from({ length: upTo - c }, (_, i) => c + 1 + i);
}

export function commonPrefixLength(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

const isContinuation = (b: number | undefined) => b !== undefined && b >= 0x80 && b < 0xc0;

export interface SplitPlan {
  /** The new, narrower bounds of the range being listed (keys in (lo, L] stay with it). */
  current: { within: Buffer; before: Buffer };
  /** The rest of the range, in ascending key order. */
  pieces: KeyRange[];
}

/**
 * Cuts the part of `range` above `last` into pieces. `first` is an earlier key of the same page
 * (the span first..last shows which positions vary); `lowest` is the lowest position any side's
 * listing of the range has reached (keys between it and `last` must stay in the current range).
 * Returns undefined when no useful cut exists.
 */
export function planSplit(
  range: KeyRange,
  first: Buffer,
  last: Buffer,
  lowest: Buffer,
  maxPieces = 120,
): SplitPlan | undefined {
  const w = range.within.length;
  const d = Math.min(commonPrefixLength(first, last), last.length - 1);
  if (d < w) return undefined;
  const pieces: KeyRange[] = [];
  let pMin = d + 1;
  for (let p = d; p >= Math.max(w, d - DEPTH); p--) {
    const c = last[p]!;
    if (c >= 0x80) break; // cut only at ASCII bytes, which are always character boundaries
    const head = last.subarray(0, p);
    const block: KeyRange[] = classAbove(c).map((v) => ({ within: Buffer.concat([head, Buffer.of(v)]) }));
    const m = block.length > 0 ? c + block.length : c;
    // The gap: keys with this head whose next byte is beyond the class.
    const gap: KeyRange = {
      within: Buffer.from(head),
      startAfter: head.toString('utf8') + String.fromCharCode(m) + MAX_CHAR,
      from: Buffer.concat([head, Buffer.of(m + 1)]),
    };
    if (pieces.length + block.length + 1 > maxPieces) break;
    pieces.push(...block, gap);
    pMin = p;
  }
  if (pieces.length === 0) return undefined;
  // Everything in the range beyond last[0..pMin): unbounded by a prefix unless pMin == w.
  if (pMin > w) {
    const head = last.subarray(0, pMin);
    const inc = Buffer.from(last.subarray(0, pMin));
    inc[pMin - 1] = inc[pMin - 1]! + 1;
    pieces.push({
      within: range.within,
      startAfter: head.toString('utf8') + MAX_CHAR,
      from: inc,
      before: range.before,
    });
  }
  const lower = (r: KeyRange) => r.from ?? r.within;
  // Clip pieces to the range's own upper bound; drop those entirely above it.
  const kept = pieces.filter((r) => range.before === undefined || Buffer.compare(lower(r), range.before) < 0);
  for (const r of kept) {
    if (
      range.before !== undefined &&
      (r.before === undefined || Buffer.compare(r.before, range.before) > 0)
    ) {
      r.before = range.before;
    }
  }
  if (kept.length === 0) return undefined;
  // The current range keeps (lowest, first piece): narrow its prefix to what those keys share.
  let k = Math.min(d + 1, commonPrefixLength(lowest, last));
  while (k > w && isContinuation(last[k])) k--;
  return {
    current: { within: Buffer.from(last.subarray(0, Math.max(k, w))), before: lower(kept[0]!) },
    pieces: kept,
  };
}
