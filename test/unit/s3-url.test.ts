import { describe, expect, it } from 'vitest';
import { parseS3Url } from '../../checkers/s3/s3-url.js';
import { resolveSince, s3OptionsSchema } from '../../checkers/s3/options.js';
import { UsageError } from '../../src/errors.js';

describe('parseS3Url', () => {
  it('splits bucket and prefix', () => {
    expect(parseS3Url('s3://docs', 'source')).toEqual({ bucket: 'docs', prefix: '' });
    expect(parseS3Url('s3://docs/2024/05/', 'source')).toEqual({ bucket: 'docs', prefix: '2024/05/' });
    expect(parseS3Url('s3://', 'source')).toEqual({ prefix: '' });
  });

  it('rejects malformed URLs with a usage error naming the flag', () => {
    for (const bad of [
      'docs',
      'http://docs',
      's3:/docs',
      's3://-bad',
      's3://a',
      's3:///prefix',
      's3://bad bucket',
    ]) {
      expect(() => parseS3Url(bad, 'target'), bad).toThrow(UsageError);
    }
    expect(() => parseS3Url('docs', 'target')).toThrow(/--target/);
  });
});

describe('resolveSince', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  it('accepts a duration ago or an ISO time', () => {
    expect(resolveSince('2h', now)?.toISOString()).toBe('2026-11-22T10:00:00.000Z');
    expect(resolveSince('2026-11-01T00:00:00Z', now)?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(resolveSince('2026-11-01', now)?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
  });
  it('rejects anything else', () => {
    for (const bad of ['yesterday', '12', '2026-13-45T99:00:00Z', ''])
      expect(resolveSince(bad, now), bad).toBeUndefined();
  });
});

describe('s3OptionsSchema', () => {
  it('fills defaults and rejects unknown fields (typos in a runbook step)', () => {
    expect(s3OptionsSchema.parse({})).toMatchObject({
      download: false,
      compareModTime: false,
    });
    // Left out: chosen at run time from the cores and the endpoints (auto-concurrency.ts).
    expect(s3OptionsSchema.parse({}).concurrency).toBeUndefined();
    expect(s3OptionsSchema.safeParse({ bucket: 'x' }).success).toBe(false);
    expect(s3OptionsSchema.parse({ buckets: 'all' }).buckets).toBe('all');
    expect(s3OptionsSchema.safeParse({ buckets: [] }).success).toBe(false);
  });
});
