import { describe, expect, it } from 'vitest';
import { compareObjects, multipartParts, normalizeEtag } from '../../checkers/s3/compare.js';
import type { ListedObject } from '../../checkers/s3/list-xml.js';

const obj = (size: number, etag: string, lastModified = '2026-11-22T00:00:00.000Z'): ListedObject => ({
  key: Buffer.from('k'),
  name: 'k',
  size,
  etag,
  lastModified,
});

describe('compareObjects', () => {
  it('matches equal size and plain ETag, whatever LastModified says', () => {
    expect(compareObjects(obj(4, '"abc"'), obj(4, '"ABC"', '2027-01-01T00:00:00Z')).verdict).toBe('=');
  });

  it('reports a size change and a same-size content change', () => {
    expect(compareObjects(obj(4, '"abc"'), obj(5, '"abc"'))).toMatchObject({
      verdict: '*',
      reason: 'size 4 vs 5',
    });
    expect(compareObjects(obj(4, '"abc"'), obj(4, '"abd"'))).toMatchObject({ verdict: '*' });
  });

  it('never counts multipart vs single part as a match, even when content may be equal', () => {
    const c = compareObjects(
      obj(10, '"d41d8cd98f00b204e9800998ecf8427e"'),
      obj(10, '"0123456789abcdef0123456789abcdef-2"'),
    );
    expect(c).toMatchObject({ verdict: '?', needsContent: true });
    expect(c.reason).toContain('single part vs 2 parts');
  });

  it('compares multipart ETags with the same part count; differing ones stay unverified', () => {
    expect(compareObjects(obj(10, '"aa-2"'), obj(10, '"aa-2"')).verdict).toBe('=');
    expect(compareObjects(obj(10, '"aa-2"'), obj(10, '"bb-2"')).verdict).toBe('?');
    expect(compareObjects(obj(10, '"aa-2"'), obj(10, '"aa-3"')).verdict).toBe('?');
  });

  it('a size difference wins over an uncomparable ETag', () => {
    expect(compareObjects(obj(10, '"aa-2"'), obj(11, '"bb"')).verdict).toBe('*');
  });

  it('an empty ETag is unverified, not a match', () => {
    expect(compareObjects(obj(1, ''), obj(1, '')).verdict).toBe('?');
  });

  it('compares LastModified only when asked', () => {
    const a = obj(1, '"x"', '2026-11-22T00:00:00.000Z');
    const b = obj(1, '"x"', '2026-11-22T00:00:01.000Z');
    expect(compareObjects(a, b).verdict).toBe('=');
    expect(compareObjects(a, b, true).verdict).toBe('*');
  });

  it('parses ETags', () => {
    expect(normalizeEtag('W/"ABC-3"')).toBe('abc-3');
    expect(multipartParts('"abc-12"')).toBe(12);
    expect(multipartParts('"abc"')).toBeUndefined();
  });
});
