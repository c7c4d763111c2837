/**
 * A lean parser for ListObjectsV2 answers requested with `encoding-type=url`. The SDK's generic
 * XML deserializer costs ~17 µs per key, more than RGW spends producing it, so listings are
 * parsed here: keys arrive percent-encoded (control characters and all), which keeps them exact.
 */

/** One listed object. `key` is the UTF-8 bytes (the order S3 lists in); `name` the same as text. */
export class ListedObject {
  constructor(
    readonly key: Buffer,
    readonly size: number,
    readonly etag: string,
    readonly lastModified: string,
  ) {}

  /** Decoded on demand: most keys are only ever compared as bytes. */
  get name(): string {
    return this.key.toString('utf8');
  }
}

export interface ListedPage {
  objects: ListedObject[];
  isTruncated: boolean;
  /** Whether the server applied url encoding to the keys (it must; otherwise we decode XML text). */
  urlEncoded: boolean;
}

export class ListingFormatError extends Error {}

const ENTITY_RE = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Replaces the five XML entities and numeric character references. */
export function unescapeXml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY_RE, (_m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return NAMED[e] ?? _m;
  });
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes `%XX` (and `+` as a space, as AWS encodes it) into the exact key bytes. */
export function decodeUrlKey(text: string): Buffer {
  const src = Buffer.from(text, 'latin1');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 37 /* % */) {
      const hi = i + 2 < src.length ? hexValue(src[i + 1]!) : -1;
      const lo = i + 2 < src.length ? hexValue(src[i + 2]!) : -1;
      if (hi < 0 || lo < 0)
        throw new ListingFormatError(`bad percent-encoding in listed key ${JSON.stringify(text)}`);
      out[n++] = hi * 16 + lo;
      i += 2;
    } else {
      out[n++] = c === 43 /* + */ ? 32 : c;
    }
  }
  return Buffer.from(out.subarray(0, n));
}

const CONTENTS_OPEN = Buffer.from('<Contents>');
const CONTENTS_CLOSE = Buffer.from('</Contents>');
const RESULT_CLOSE = Buffer.from('</ListBucketResult>');
const LT = 0x3c;
const AMP = 0x26;
const QUOT_ENTITY = Buffer.from('&quot;');

const TAGS = new Map<string, [Buffer, Buffer]>();

function tagBytes(tag: string): [Buffer, Buffer] {
  let t = TAGS.get(tag);
  if (!t) TAGS.set(tag, (t = [Buffer.from(`<${tag}>`), Buffer.from(`</${tag}>`)]));
  return t;
}

/** Where the text of `<tag>…</tag>` in xml[from, to) starts; `valueEnd` is set to where it ends. */
let valueEnd = 0;
function tagValue(xml: Buffer, tag: string, from: number, to: number): number {
  const [open, close] = tagBytes(tag);
  const start = xml.indexOf(open, from);
  if (start < 0 || start >= to) return -1;
  const s = start + open.length;
  // Element text never holds '<' (it is escaped), so the first one is the closing tag.
  const end = xml.indexOf(LT, s);
  if (
    end < 0 ||
    end + close.length > to ||
    xml.compare(close, 0, close.length, end, end + close.length) !== 0
  )
    return -1;
  valueEnd = end;
  return s;
}

/** The text of `<tag>…</tag>` in xml[from, to), as a fresh string (never a slice of a big one). */
function tagText(xml: Buffer, tag: string, from: number, to: number): string | undefined {
  const s = tagValue(xml, tag, from, to);
  return s < 0 ? undefined : xml.toString('utf8', s, valueEnd);
}

/** Scratch space for one page's decoded keys (copied out, exactly sized, once per page). */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** Percent-decodes xml[s, e) into scratch at `at`; returns the new end, or -1 on bad encoding. */
function decodeInto(xml: Buffer, s: number, e: number, at: number): number {
  let n = at;
  for (let i = s; i < e; i++) {
    const c = xml[i]!;
    if (c === 37 /* % */) {
      const hi = i + 2 < e ? hexValue(xml[i + 1]!) : -1;
      const lo = i + 2 < e ? hexValue(xml[i + 2]!) : -1;
      if (hi < 0 || lo < 0) return -1;
      scratch[n++] = hi * 16 + lo;
      i += 2;
    } else {
      scratch[n++] = c === 43 /* + */ ? 32 : c;
    }
  }
  return n;
}

/** `&quot;…&quot;` (how RGW and AWS send every ETag) without a regex; anything else the slow way. */
function etagText(xml: Buffer, s: number, e: number): string {
  const q = QUOT_ENTITY.length;
  if (
    e - s >= 2 * q &&
    xml.compare(QUOT_ENTITY, 0, q, s, s + q) === 0 &&
    xml.compare(QUOT_ENTITY, 0, q, e - q, e) === 0
  ) {
    const inner = xml.indexOf(AMP, s + q);
    if (inner === e - q) return `"${xml.toString('utf8', s + q, e - q)}"`;
  }
  return unescapeXml(xml.toString('utf8', s, e));
}

/** The number in xml[s, e): plain digits without a string, anything else as Number() reads it. */
function decimal(xml: Buffer, s: number, e: number): number {
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = xml[i]! - 48;
    if (d < 0 || d > 9 || e - s > 15) return Number(xml.toString('latin1', s, e));
    v = v * 10 + d;
  }
  return s === e ? Number('') : v;
}

/**
 * Parses one ListObjectsV2 answer from its raw bytes. Fields are copied out, so nothing keeps
 * the page alive: the keys of a page share one exactly sized buffer, the rest are fresh strings.
 * Throws ListingFormatError when a required field is missing.
 */
export function parseListObjectsV2(xml: Buffer): ListedPage {
  // A body cut after a whole <Contents> would otherwise parse: the keys after the cut, on a last
  // page (IsTruncated false), would never be compared.
  let tail = xml.length;
  while (
    tail > 0 &&
    (xml[tail - 1] === 0x20 || xml[tail - 1] === 0x0a || xml[tail - 1] === 0x0d || xml[tail - 1] === 0x09)
  )
    tail--;
  if (tail < RESULT_CLOSE.length || !xml.subarray(tail - RESULT_CLOSE.length, tail).equals(RESULT_CLOSE))
    throw new ListingFormatError('truncated listing: the answer does not end with </ListBucketResult>');
  const head = xml.indexOf(CONTENTS_OPEN);
  const preambleEnd = head < 0 ? xml.length : head;
  const urlEncoded = tagText(xml, 'EncodingType', 0, preambleEnd) === 'url';
  let truncated = tagText(xml, 'IsTruncated', 0, preambleEnd);
  // A decoded key is never longer than its text; one page's keys fit in the page.
  if (scratch.length < xml.length) scratch = Buffer.allocUnsafe(xml.length);
  const keyEnds: number[] = [];
  const sizes: number[] = [];
  const etags: string[] = [];
  const modified: string[] = [];
  let used = 0;
  let pos = head;
  while (pos >= 0) {
    const end = xml.indexOf(CONTENTS_CLOSE, pos);
    if (end < 0) throw new ListingFormatError('truncated listing: <Contents> without </Contents>');
    const ks = tagValue(xml, 'Key', pos, end);
    const ke = valueEnd;
    const ss = tagValue(xml, 'Size', pos, end);
    const se = valueEnd;
    if (ks < 0 || ss < 0) throw new ListingFormatError('listed object without Key or Size');
    const amp = xml.indexOf(AMP, ks);
    if (urlEncoded && (amp < 0 || amp >= ke)) {
      const n = decodeInto(xml, ks, ke, used);
      if (n < 0) {
        throw new ListingFormatError(
          `bad percent-encoding in listed key ${JSON.stringify(xml.toString('utf8', ks, ke))}`,
        );
      }
      used = n;
    } else {
      // Entities (or a server that ignored encoding-type): the general, slower path.
      const text = unescapeXml(xml.toString('utf8', ks, ke));
      const bytes = urlEncoded ? decodeUrlKey(text) : Buffer.from(text, 'utf8');
      if (scratch.length < used + bytes.length) {
        const grown = Buffer.allocUnsafe(2 * (used + bytes.length));
        scratch.copy(grown, 0, 0, used);
        scratch = grown;
      }
      bytes.copy(scratch, used);
      used += bytes.length;
    }
    keyEnds.push(used);
    sizes.push(decimal(xml, ss, se));
    const es = tagValue(xml, 'ETag', pos, end);
    etags.push(es < 0 ? '' : etagText(xml, es, valueEnd));
    const ms = tagValue(xml, 'LastModified', pos, end);
    modified.push(ms < 0 ? '' : xml.toString('latin1', ms, valueEnd));
    pos = xml.indexOf(CONTENTS_OPEN, end);
    if (pos < 0) truncated ??= tagText(xml, 'IsTruncated', end, xml.length);
  }
  if (truncated === undefined) throw new ListingFormatError('listing without IsTruncated');
  const keys = Buffer.from(scratch.subarray(0, used));
  const objects: ListedObject[] = new Array<ListedObject>(keyEnds.length);
  let from = 0;
  for (let i = 0; i < keyEnds.length; i++) {
    const to = keyEnds[i]!;
    objects[i] = new ListedObject(keys.subarray(from, to), sizes[i]!, etags[i]!, modified[i]!);
    from = to;
  }
  return { objects, isTruncated: truncated === 'true', urlEncoded };
}
