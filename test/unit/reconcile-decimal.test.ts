import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDecimal, formatDecimal, parseDecimal, ZERO } from '../../src/reconcile/decimal.js';
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
