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

const TAGS = new Map<string, [Buffer, Buffer]>();

function tagBytes(tag: string): [Buffer, Buffer] {
  let t = TAGS.get(tag);
  if (!t) TAGS.set(tag, (t = [Buffer.from(`<${tag}>`), Buffer.from(`</${tag}>`)]));
  return t;
}

/** The text of `<tag>…</tag>` in xml[from, to), as a fresh string (never a slice of a big one). */
function tagText(xml: Buffer, tag: string, from: number, to: number): string | undefined {
  const [open, close] = tagBytes(tag);
  const start = xml.indexOf(open, from);
  if (start < 0 || start >= to) return undefined;
  const end = xml.indexOf(close, start + open.length);
  if (end < 0 || end > to) return undefined;
  return xml.toString('utf8', start + open.length, end);
}

/**
 * Parses one ListObjectsV2 answer from its raw bytes. Fields are copied out, so nothing keeps
 * the page alive. Throws ListingFormatError when a required field is missing.
 */
export function parseListObjectsV2(xml: Buffer): ListedPage {
  const head = xml.indexOf(CONTENTS_OPEN);
  const preambleEnd = head < 0 ? xml.length : head;
  const urlEncoded = tagText(xml, 'EncodingType', 0, preambleEnd) === 'url';
  let truncated = tagText(xml, 'IsTruncated', 0, preambleEnd);
  const objects: ListedObject[] = [];
  let pos = head;
  while (pos >= 0) {
    const end = xml.indexOf(CONTENTS_CLOSE, pos);
    if (end < 0) throw new ListingFormatError('truncated listing: <Contents> without </Contents>');
    const rawKey = tagText(xml, 'Key', pos, end);
    const size = tagText(xml, 'Size', pos, end);
    if (rawKey === undefined || size === undefined)
      throw new ListingFormatError('listed object without Key or Size');
    const key = urlEncoded ? decodeUrlKey(unescapeXml(rawKey)) : Buffer.from(unescapeXml(rawKey), 'utf8');
    const lastModified = tagText(xml, 'LastModified', pos, end) ?? '';
    objects.push(
      new ListedObject(key, Number(size), unescapeXml(tagText(xml, 'ETag', pos, end) ?? ''), lastModified),
    );
    pos = xml.indexOf(CONTENTS_OPEN, end);
    if (pos < 0) truncated ??= tagText(xml, 'IsTruncated', end, xml.length);
  }
  if (truncated === undefined) throw new ListingFormatError('listing without IsTruncated');
  return { objects, isTruncated: truncated === 'true', urlEncoded };
}
