import { describe, expect, it } from 'vitest';
import { diffMetadata, type ObjectMetadata } from '../../checkers/s3/metadata.js';
import { describeScope } from '../../checkers/s3/scope.js';
import { summarize } from '../../checkers/s3/summary.js';

const md = (o: Partial<ObjectMetadata> = {}): ObjectMetadata => ({
  headers: { 'content-type': 'text/plain' },
  user: { owner: 'alice' },
  tags: { app: 'core' },
  ...o,
});

describe('diffMetadata', () => {
  it('is empty for equal metadata, whatever the order of entries', () => {
    expect(diffMetadata(md({ tags: { a: '1', b: '2' } }), md({ tags: { b: '2', a: '1' } }))).toEqual([]);
  });

  it('names each differing header, user metadata entry and tag, with both values', () => {
    const a = md({ headers: { 'content-type': 'application/pdf', 'cache-control': 'no-store' } });
    const b = md({
      headers: { 'content-type': 'application/octet-stream' },
      user: { owner: 'Alice' },
      tags: { app: 'core', class: 'x' },
    });
    expect(diffMetadata(a, b)).toEqual([
      'cache-control "no-store" vs (none)',
      'content-type "application/pdf" vs "application/octet-stream"',
      'x-amz-meta-owner "alice" vs "Alice"',
      'tag class (none) vs "x"',
    ]);
  });

  it('treats an empty value and a missing entry as different', () => {
    expect(diffMetadata(md({ tags: { app: '' } }), md({ tags: {} }))).toEqual(['tag app "" vs (none)']);
  });
});

describe('describeScope', () => {
  it('warns that ETags are not SHA-256 and metadata is not compared, by default', () => {
    const s = describeScope({ download: false, metadata: false, compareModTime: false }, undefined, 0);
    expect(s.basis).toBe('by size + ETag');
    expect(s.warnings.map((w) => w.kind)).toEqual([
      'content-not-downloaded',
      'metadata-not-compared',
      'not-compared',
    ]);
    expect(s.warnings.every((w) => w.severity === 'warning')).toBe(true);
    expect(s.warnings[0]!.message).toContain('crafted MD5 collision');
  });

  it('drops the warnings for what --download and --metadata do compare', () => {
    const s = describeScope({ download: true, metadata: true, compareModTime: true }, undefined, 0);
    expect(s.basis).toBe('by SHA-256 + metadata');
    expect(s.warnings.map((w) => w.kind)).toEqual(['not-compared']);
    expect(s.compared.join(' ')).toContain('tags');
    expect(s.compared).toContain('LastModified');
  });

  it('says what a --since window left out, and that presence was compared for every key', () => {
    const since = new Date('2026-11-29T00:00:00Z');
    const s = describeScope({ download: false, metadata: true, compareModTime: false }, since, 1234);
    const w = s.warnings.find((x) => x.kind === 'window')!;
    expect(w.message).toContain('1,234 object(s)');
    expect(w.message).toContain('presence was, for every key');
    expect(w.message).toContain('tag-only change');
  });
});

describe('summarize', () => {
  it('says how "same" was established and what the window skipped', () => {
    const counts = { buckets: 1, sourceObjects: 3, targetObjects: 3, same: 3, skippedOlder: 2 };
    const since = new Date('2026-11-29T00:00:00Z');
    expect(summarize(counts, 'consistent', since, 'by SHA-256')).toBe(
      '1 bucket, 3 vs 3 objects (0 B vs 0 B), content of 2 not modified since 2026-11-29T00:00:00.000Z not compared: consistent (3 same by SHA-256)',
    );
  });
});
