import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDecimal, formatDecimal, parseDecimal, ZERO } from '../../src/reconcile/decimal.js';
import { equalityFor } from '../../src/reconcile/scan.js';
import { parseBlacklistTarget, parseColumnPair } from '../../src/reconcile/spec.js';

/** Money sums in reconcile are exact: DECIMAL text in, DECIMAL text out, never a float. */
const SEED = 18_2026;
const cents = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n });
const asText = (c: bigint) => {
  const neg = c < 0n;
  const d = (neg ? -c : c).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${d.slice(0, -2)}.${d.slice(-2)}`;
};

describe('exact decimal sums', () => {
  it('sums DECIMAL(…,2) text exactly (seeded property)', () => {
    fc.assert(
      fc.property(fc.array(cents, { maxLength: 50 }), (values) => {
        const sum = values.reduce((acc, v) => addDecimal(acc, parseDecimal(asText(v))!), ZERO);
        const want = values.reduce((a, b) => a + b, 0n);
        expect(formatDecimal(sum)).toBe(values.length ? asText(want) : '0');
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps the largest scale and refuses what is not a number', () => {
    expect(formatDecimal(addDecimal(parseDecimal('0.1')!, parseDecimal('0.20')!))).toBe('0.30');
    expect(formatDecimal(addDecimal(parseDecimal('-5')!, parseDecimal('4.999')!))).toBe('-0.001');
    for (const bad of ['', 'abc', '1e5', '.', null, '1.2.3']) expect(parseDecimal(bad)).toBeUndefined();
  });
});

/** A value of `units` at `scale` as the server prints DECIMAL(…, printed): 12.5 at 3 → "12.500". */
const printed = (units: bigint, scale: number, printedScale: number) =>
  formatDecimal({ units: units * 10n ** BigInt(printedScale - scale), scale: printedScale });

describe('compared columns: equal by value when both are exact numbers or both temporal', () => {
  const b = (s: string) => Buffer.from(s);
  it('DECIMAL and integers of any scale are equal exactly when their values are (seeded property)', () => {
    const same = equalityFor('decimal', 'decimal');
    fc.assert(
      fc.property(
        cents,
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.bigInt({ min: -3n, max: 3n }),
        (units, extraA, extraB, delta) => {
          // the log at scale 2+extraA, the ledger at 2+extraB; delta moves the ledger by one unit of its last digit
          const a = printed(units, 2, 2 + extraA);
          const ledgerUnits = units * 10n ** BigInt(extraB) + delta;
          const c = formatDecimal({ units: ledgerUnits, scale: 2 + extraB });
          expect(same(b(a), b(c))).toBe(delta === 0n);
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
    expect(equalityFor('int', 'decimal')(b('10'), b('10.00'))).toBe(true);
    expect(equalityFor('bigint', 'bigint')(b('-0'), b('0'))).toBe(true);
    expect(equalityFor('decimal', 'decimal')(b('10.00'), b('10.0001'))).toBe(false);
  });

  it('text, floats and unlike kinds stay byte for byte', () => {
    expect(equalityFor('varchar', 'varchar')(b('10.0'), b('10.00'))).toBe(false);
    expect(equalityFor('double', 'double')(b('1.0'), b('1'))).toBe(false);
    expect(equalityFor('decimal', 'varchar')(b('10.50'), b('10.5'))).toBe(false);
    expect(equalityFor(undefined, 'decimal')(b('10.50'), b('10.5'))).toBe(false);
    expect(equalityFor('time', 'datetime')(b('10:00:00'), b('10:00:00'))).toBe(true);
    expect(equalityFor('time', 'datetime')(b('10:00:00.0'), b('10:00:00'))).toBe(false);
  });

  it('DATETIME/TIMESTAMP of any fractional precision: trailing zero digits do not count, others do', () => {
    const same = equalityFor('datetime', 'timestamp');
    expect(same(b('2026-11-29 10:00:00.500'), b('2026-11-29 10:00:00.500000'))).toBe(true);
    expect(same(b('2026-11-29 10:00:00.000'), b('2026-11-29 10:00:00'))).toBe(true);
    expect(same(b('2026-11-29 10:00:00.501'), b('2026-11-29 10:00:00.500000'))).toBe(false);
    expect(same(b('2026-11-29 10:00:10'), b('2026-11-29 10:00:01'))).toBe(false);
    expect(same(b('2026-11-29 10:00:00'), b('2026-11-29 10:00:01'))).toBe(false);
  });
});

describe('reconcile input', () => {
  it('reads log=ledger column pairs and blacklist targets', () => {
    expect(parseColumnPair('amount=value', '--amount')).toEqual({ log: 'amount', ledger: 'value' });
    expect(() => parseColumnPair('amount; DROP', '--amount')).toThrow(
      /--amount: "amount; DROP" is not a column name/,
    );
    expect(parseBlacklistTarget('redis://:pw@h:6379/2')).toMatchObject({
      kind: 'redis',
      key: 'bcf.blacklist.accounts',
    });
    expect(parseBlacklistTarget('mysql://u:pw@h:3306#bank.blacklist')).toMatchObject({
      kind: 'mysql',
      table: { db: 'bank', table: 'blacklist' },
    });
    expect(() => parseBlacklistTarget('mysql://u@h:3306')).toThrow(/needs its table after #/);
    expect(() => parseBlacklistTarget('http://h')).toThrow(/scheme must be/);
  });
});
