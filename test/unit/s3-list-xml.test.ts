import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ListingFormatError,
  decodeUrlKey,
  parseListObjectsV2,
  unescapeXml,
} from '../../checkers/s3/list-xml.js';

// An answer as Ceph RGW (Pacific) gives it for list-type=2&encoding-type=url.
const RGW_PAGE = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><EncodingType>url</EncodingType><Name>enc</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a%20b%2Bc%2F%C3%A9%26%3C.txt</Key><LastModified>2026-11-22T02:19:55.360Z</LastModified><ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents><Contents><Key>ctl%01x</Key><LastModified>2026-11-22T02:19:55.383Z</LastModified><ETag>&quot;0123-2&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>z%F0%9F%98%80</Key><LastModified>2026-11-22T02:19:55.377Z</LastModified><ETag>&quot;9dd4&quot;</ETag><Size>0</Size></Contents><KeyCount>3</KeyCount></ListBucketResult>`;

/** Percent-encodes every byte outside [A-Za-z0-9-_.~], as S3 servers do for encoding-type=url. */
function percentEncode(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

describe('parseListObjectsV2', () => {
  it('decodes url-encoded keys to exact bytes, ETags and sizes', () => {
    const page = parseListObjectsV2(Buffer.from(RGW_PAGE));
    expect(page.isTruncated).toBe(true);
    expect(page.urlEncoded).toBe(true);
    expect(page.objects.map((o) => o.name)).toEqual(['a b+c/é&<.txt', 'ctl\u0001x', 'z😀']);
    expect(page.objects[2]!.key).toEqual(Buffer.from([0x7a, 0xf0, 0x9f, 0x98, 0x80]));
    expect(page.objects.map((o) => o.etag)).toEqual([
      '"9dd4e461268c8034f5c8564e155c67a6"',
      '"0123-2"',
      '"9dd4"',
    ]);
    expect(page.objects.map((o) => o.size)).toEqual([1, 12, 0]);
    expect(page.objects[0]!.lastModified).toBe('2026-11-22T02:19:55.360Z');
  });

  it('reads an empty last page', () => {
    const xml =
      '<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>';
    expect(parseListObjectsV2(Buffer.from(xml))).toEqual({
      objects: [],
      isTruncated: false,
      urlEncoded: false,
    });
  });

  it('falls back to XML text keys when the server ignored encoding-type', () => {
    const xml =
      '<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a &amp; b&#x01;</Key><ETag>"x"</ETag><Size>3</Size></Contents></ListBucketResult>';
    expect(parseListObjectsV2(Buffer.from(xml)).objects[0]!.name).toBe('a & b\u0001');
  });

  it('refuses a last page cut after a whole <Contents> (the keys after the cut would go unchecked)', () => {
    const last = RGW_PAGE.replace('<IsTruncated>true</IsTruncated>', '<IsTruncated>false</IsTruncated>');
    expect(parseListObjectsV2(Buffer.from(`${last}\n`)).objects).toHaveLength(3);
    const cut = last.slice(0, last.indexOf('</Contents>') + '</Contents>'.length);
    expect(() => parseListObjectsV2(Buffer.from(cut))).toThrow(/does not end with <\/ListBucketResult>/);
    expect(() => parseListObjectsV2(Buffer.from(last.slice(0, -1)))).toThrow(ListingFormatError);
  });

  it('fails loudly on a broken answer instead of guessing', () => {
    expect(() => parseListObjectsV2(Buffer.from('<ListBucketResult><Contents><Key>a</Key>'))).toThrow(
      ListingFormatError,
    );
    expect(() =>
      parseListObjectsV2(
        Buffer.from(
          '<ListBucketResult><Contents><Size>1</Size></Contents><IsTruncated>false</IsTruncated></ListBucketResult>',
        ),
      ),
    ).toThrow(ListingFormatError);
    expect(() => parseListObjectsV2(Buffer.from('<ListBucketResult></ListBucketResult>'))).toThrow(
      /IsTruncated/,
    );
    expect(() => decodeUrlKey('bad%2')).toThrow(ListingFormatError);
    expect(() => decodeUrlKey('bad%zz')).toThrow(ListingFormatError);
  });

  it('round-trips any UTF-8 key through percent-encoding (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (key) => {
        const bytes = Buffer.from(key, 'utf8');
        expect(decodeUrlKey(percentEncode(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('unescapes the XML entities', () => {
    expect(unescapeXml('&quot;a&quot; &lt;&gt; &amp;amp; &#65;&#x42; &apos;')).toBe('"a" <> &amp; AB \'');
  });
});
