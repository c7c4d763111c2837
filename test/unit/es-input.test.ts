import { describe, expect, it } from 'vitest';
import { parseEsUrl } from '../../checkers/es/client.js';
import { diffSettings, lookupField } from '../../checkers/es/index-meta.js';
import { esOptionsSchema } from '../../checkers/es/options.js';
import { buildQuery, parseSince } from '../../checkers/es/time-range.js';
import { UsageError } from '../../src/errors.js';
import { clearSecrets, redact, registerCredentials } from '../../src/util/redact.js';

describe('es input', () => {
  it('moves URL credentials out of the URL without registering them (the entry does)', () => {
    clearSecrets();
    const p = parseEsUrl('https://ops:Pa%24%24word9@es-main.bank:9200/', 'source');
    expect(p).toEqual({ base: 'https://es-main.bank:9200', username: 'ops', password: 'Pa$$word9' });
    expect(redact('failed with Pa$$word9')).toBe('failed with Pa$$word9');
    registerCredentials({ url: 'https://ops:Pa%24%24word9@es-main.bank:9200/', apiKey: 'KeyKey42' });
    expect(redact('failed with Pa$$word9, KeyKey42')).toBe('failed with ***, ***');
    clearSecrets();
  });

  it('rejects malformed URLs without echoing a password', () => {
    expect(() => parseEsUrl('es-main:9200', 'source')).toThrow(UsageError);
    expect(() => parseEsUrl('http//ops:Secret77@x', 'target')).toThrow(
      /--target is not a URL: http\/\/\*\*\*@x/,
    );
    expect(() => parseEsUrl('ftp://x', 'source')).toThrow(/http:\/\/ or https:\/\//);
  });

  it('parses --since as a duration ago, epoch ms or ISO time, and nothing else', () => {
    const now = Date.parse('2026-11-22T02:00:00Z');
    expect(parseSince('2h', now)).toBe('2026-11-22T00:00:00.000Z');
    expect(parseSince('1700000000000', now)).toBe(1700000000000);
    expect(parseSince('2026-11-21T22:00:00Z', now)).toBe('2026-11-21T22:00:00Z');
    expect(() => parseSince('yesterday', now)).toThrow(/is not a time/);
    expect(buildQuery(undefined, undefined).inside).toEqual({ match_all: {} });
    const range = { range: { at: { gte: 5, format: 'strict_date_optional_time||epoch_millis' } } };
    expect(buildQuery('at', 5, 'date')).toEqual({ inside: range, outside: { bool: { must_not: [range] } } });
    // A numeric (epoch-millis long) field refuses a format: plain epoch milliseconds.
    expect(buildQuery('ts', '2026-11-22T00:00:00.000Z', 'long').inside).toEqual({
      range: { ts: { gte: Date.parse('2026-11-22T00:00:00.000Z') } },
    });
  });

  it('finds fields through objects, multi-fields and dotted names', () => {
    const m = {
      properties: {
        customer: { properties: { address: { properties: { city: { type: 'keyword' } } } } },
        name: { type: 'text', fields: { raw: { type: 'keyword' } } },
        'a.b': { type: 'date' },
      },
    };
    expect(lookupField(m, 'customer.address.city')?.type).toBe('keyword');
    expect(lookupField(m, 'name.raw')?.type).toBe('keyword');
    expect(lookupField(m, 'a.b')?.type).toBe('date');
    expect(lookupField(m, 'customer.zip')).toBeUndefined();
  });

  it('diffs only the settings that matter, and warns on the ones DR may change on purpose', () => {
    const a = {
      'index.number_of_shards': '3',
      'index.uuid': 'x',
      'index.analysis.analyzer.a.type': 'standard',
      'index.number_of_replicas': '1',
    };
    const b = {
      'index.number_of_shards': '1',
      'index.uuid': 'y',
      'index.analysis.analyzer.a.type': 'simple',
      'index.number_of_replicas': '0',
    };
    expect(diffSettings(a, b)).toEqual([
      { key: 'index.analysis.analyzer.a.type', source: 'standard', target: 'simple', severity: 'difference' },
      { key: 'index.number_of_shards', source: '3', target: '1', severity: 'warning' },
    ]);
  });

  it('applies documented defaults to runbook options', () => {
    expect(esOptionsSchema.parse({ index: 'payments-*' })).toMatchObject({
      index: 'payments-*',
      showFields: false,
      batchSize: 1000,
      maxFindings: 1000,
      keepAlive: '5m',
      scan: 'auto',
    });
    expect(esOptionsSchema.safeParse({ index: '' }).success).toBe(false);
    expect(esOptionsSchema.safeParse({ index: 'a', scan: 'shard_doc' }).success).toBe(false);
  });
});
