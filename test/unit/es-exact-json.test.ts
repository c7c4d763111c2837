import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decimalValue,
  DUPLICATE_KEYS,
  JsonNumber,
  parseExactJson,
  stringifyExact,
  type JsonValue,
} from '../../checkers/es/exact-json.js';

const SEED = 20261129;

/** The exact parse with numbers turned back into doubles: must equal JSON.parse. */
function asDoubles(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(asDoubles);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asDoubles(x)]));
  return v;
}

describe('parseExactJson', () => {
  it('reads what JSON.parse reads, for any JSON text (seeded)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        expect(asDoubles(parseExactJson(text))).toEqual(JSON.parse(text));
        expect(stringifyExact(parseExactJson(text))).toBe(JSON.stringify(value));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps number literals exactly, beyond doubles', () => {
    const v = parseExactJson('{"a":1832358299496895531,"b":1.0,"c":-0.0,"d":1e2,"e":[18446744073709551615]}');
    expect(stringifyExact(v)).toBe(
      '{"a":1832358299496895531,"b":1.0,"c":-0.0,"d":1e2,"e":[18446744073709551615]}',
    );
  });

  it('decodes escapes and surrogate pairs like JSON.parse', () => {
    const text = '"\\u00e9\\ud83c\\udfe6 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t"';
    expect(parseExactJson(text)).toBe(JSON.parse(text));
  });

  it('keeps repeated keys instead of dropping one', () => {
    const v = parseExactJson('{"a":1,"a":2}') as Record<string | symbol, unknown>;
    expect((v.a as JsonNumber).text).toBe('2');
    expect((v[DUPLICATE_KEYS] as [string, JsonNumber][]).map(([k, n]) => `${k}=${n.text}`)).toEqual(['a=1']);
    expect(Object.getPrototypeOf(parseExactJson('{"__proto__":{"x":1}}'))).toBe(Object.prototype);
  });

  it('refuses malformed JSON', () => {
    for (const bad of ['{"a":1,}', '[1 2]', '01', '1.', '"\\x"', '{"a":1} x', '"a\nb"', 'nul', '-'])
      expect(() => parseExactJson(bad), bad).toThrow();
  });
});

describe('decimalValue', () => {
  it('equal values with different literals compare equal; different values never do', () => {
    expect(decimalValue('14850.00', false)).toBe(decimalValue('14850', false));
    expect(decimalValue('1.485e4', false)).toBe(decimalValue('14850', false));
    expect(decimalValue('148.5E+2', false)).toBe(decimalValue('14850', false));
    expect(decimalValue('1832358299496895530', false)).not.toBe(decimalValue('1832358299496895531', false));
    expect(decimalValue('0.1', false)).not.toBe(decimalValue('0.10000000000000001', false));
    expect(decimalValue('-0.0', true)).not.toBe(decimalValue('0.0', true));
    expect(decimalValue('-0', false)).toBe(decimalValue('0.000', false));
  });

  it('is the value: any mantissa and exponent written several ways agree (seeded)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.integer({ min: -40, max: 40 }),
        fc.integer({ min: 0, max: 5 }),
        (m, e, pad) => {
          const digits = (m < 0n ? -m : m).toString();
          const sign = m < 0n ? '-' : '';
          const plain = `${sign}${digits}${'0'.repeat(pad)}e${e - pad}`;
          const frac = `${sign}${digits}${pad > 0 ? `.${'0'.repeat(pad)}` : ''}e${e}`;
          expect(decimalValue(plain, false)).toBe(decimalValue(frac, false));
          const other = `${sign}${(BigInt(digits) + 1n).toString()}e${e}`;
          expect(decimalValue(other, false)).not.toBe(decimalValue(frac, false));
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });
});
