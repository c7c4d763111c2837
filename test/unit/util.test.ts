import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.js';
import { parseMysqlDsn } from '../../src/util/dsn.js';
import { clearSecrets, redact, registerCredentials } from '../../src/util/redact.js';
import { globToRegExp, matchIds } from '../../src/runbook/glob.js';

describe('durations', () => {
  it('parses', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    for (const bad of ['ten', '', '10', 'm10', '10 m', '1h-5m']) expect(parseDuration(bad)).toBeUndefined();
  });
  it('formats durations that parse back (exactly under an hour, to the minute)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 86_399 }), (s) => {
        const text = formatDuration(s * 1000);
        const back = parseDuration(text)!;
        if (s < 3600) expect(back).toBe(s * 1000);
        else expect(Math.abs(back - s * 1000)).toBeLessThan(60_000);
      }),
    );
  });
});

describe('DSN and redaction', () => {
  it('parses a DSN purely and never displays the password; the entry registers it', () => {
    clearSecrets();
    const d = parseMysqlDsn('mysql://dba:p%40ss-w0rd@10.1.2.3:3307/bank?ssl=true', '--source');
    expect(d).toMatchObject({
      host: '10.1.2.3',
      port: 3307,
      user: 'dba',
      password: 'p@ss-w0rd',
      database: 'bank',
      display: 'dba@10.1.2.3:3307/bank',
    });
    // Parsing registers nothing (issue 15 item 6): the loader and `drctl check` register at entry.
    expect(redact('error for p@ss-w0rd')).toBe('error for p@ss-w0rd');
    registerCredentials('mysql://dba:p%40ss-w0rd@10.1.2.3:3307/bank?ssl=true');
    expect(redact('error for p@ss-w0rd and p%40ss-w0rd')).toBe('error for *** and ***');
    clearSecrets();
  });
  it('rejects a malformed DSN without echoing it', () => {
    expect(() => parseMysqlDsn('not a dsn', '--target')).toThrow(/--target: not a MySQL DSN/);
    expect(() => parseMysqlDsn('dba:secret@host', '--target')).toThrow(
      /^(?!.*secret).*--target: scheme must be mysql/,
    );
    expect(() => parseMysqlDsn('postgres://a:b@h', '--target')).toThrow(/scheme must be mysql/);
  });
  it('masks URL passwords and key=value secrets', () => {
    expect(redact('redis://:abc@h:6379 and mysql://u:xyz@h')).toBe('redis://:***@h:6379 and mysql://u:***@h');
    expect(redact('password=abc secretAccessKey: "zz"')).toBe('password=*** secretAccessKey: "***"');
  });
});

describe('globs', () => {
  it('match step ids', () => {
    expect(matchIds('switch-*', ['switch-a', 'switch-b', 'switchx', 'a-switch-c'])).toEqual([
      'switch-a',
      'switch-b',
    ]);
    expect(matchIds('db-?', ['db-1', 'db-10'])).toEqual(['db-1']);
    expect(globToRegExp('modules/**/*.yaml').test('modules/a/b/c.yaml')).toBe(true);
    expect(globToRegExp('modules/*.yaml').test('modules/a/c.yaml')).toBe(false);
  });
});
