/**
 * The es verdict corpus, generated: for every field type the checker meets, every kind of
 * difference (changed, missing, extra, whitespace-only, case-only, encoding-only, number text vs
 * value, at the type's limits, null vs missing vs empty array, array order, scalar vs array) and
 * identical twins written differently (key order, JSON whitespace, escapes, equal numbers) that
 * must pass. Each case is one document pair; its expected verdict follows from the documented
 * rules (docs/checkers/es.md "What is compared").
 */

export type Verdict = 'equal' | 'different' | 'missing' | 'extra';

export interface CorpusCase {
  /** Document id, unique in the corpus; sorts the cases so that pages shift around missing ones. */
  id: string;
  type: string;
  kind: string;
  /** Full document JSON on Main / DR; undefined = no such document on that side. */
  source: string | undefined;
  target: string | undefined;
  expect: Verdict;
}

export interface TypeSpec {
  name: string;
  mapping: Record<string, unknown>;
  /** Numbers in this field compare by value (`integer`: -0 = 0; `float`: -0 ≠ 0). */
  numeric?: 'integer' | 'float';
  /** [value, a different valid value] pairs, as JSON literals; limits included. */
  values: [string, string][];
  /** [literal, another literal] pairs that are the same data (equal) or not (different). */
  rewrites?: [string, string, Verdict][];
  /** String values: add whitespace-only, case-only, NFC/NFD and escape-only cases. */
  strings?: boolean;
  /** Server lines that have this type (default all). */
  only?: ('opensearch' | 'elasticsearch')[];
}

const nfc = 'caf\u00e9';
const nfd = 'cafe\u0301';

export const TYPES: TypeSpec[] = [
  {
    name: 'long',
    mapping: { type: 'long' },
    numeric: 'integer',
    values: [
      ['0', '1'],
      ['9223372036854775807', '9223372036854775806'],
      ['-9223372036854775808', '-9223372036854775807'],
      ['1832358299496895530', '1832358299496895531'],
    ],
    rewrites: [
      ['42', '42.0', 'equal'],
      ['0', '-0', 'equal'],
      ['7', '7.00', 'equal'],
    ],
  },
  {
    name: 'unsigned_long',
    mapping: { type: 'unsigned_long' },
    numeric: 'integer',
    values: [
      ['18446744073709551615', '18446744073709551614'],
      ['9223372036854775808', '9223372036854775809'],
      ['0', '1'],
    ],
  },
  {
    name: 'integer',
    mapping: { type: 'integer' },
    numeric: 'integer',
    values: [
      ['2147483647', '2147483646'],
      ['-2147483648', '-2147483647'],
    ],
    rewrites: [['5', '5.0', 'equal']],
  },
  {
    name: 'short',
    mapping: { type: 'short' },
    numeric: 'integer',
    values: [
      ['32767', '32766'],
      ['-32768', '-32767'],
    ],
  },
  {
    name: 'byte',
    mapping: { type: 'byte' },
    numeric: 'integer',
    values: [
      ['127', '126'],
      ['-128', '-127'],
    ],
  },
  {
    name: 'double',
    mapping: { type: 'double' },
    numeric: 'float',
    values: [
      ['14850.00', '14850.01'],
      ['1.7976931348623157e308', '1.7976931348623156e308'],
      ['5e-324', '1e-323'],
      ['-1.5', '1.5'],
    ],
    rewrites: [
      ['14850.00', '14850', 'equal'],
      ['14850', '1.485e4', 'equal'],
      ['-1.5', '-15e-1', 'equal'],
      ['0.0', '0', 'equal'],
      ['-0.0', '0.0', 'different'],
      ['0.1', '0.10000000000000001', 'different'],
    ],
  },
  {
    name: 'float',
    mapping: { type: 'float' },
    numeric: 'float',
    values: [
      ['3.4028235e38', '3.4028234e38'],
      ['1.5', '1.25'],
    ],
    rewrites: [['1.5', '1.50', 'equal']],
  },
  {
    name: 'half_float',
    mapping: { type: 'half_float' },
    numeric: 'float',
    values: [
      ['65504', '65503'],
      ['0.5', '0.25'],
    ],
    rewrites: [['0.5', '5e-1', 'equal']],
  },
  {
    name: 'scaled_float',
    mapping: { type: 'scaled_float', scaling_factor: 100 },
    numeric: 'integer',
    values: [
      ['12.34', '12.35'],
      ['-7.5', '7.5'],
    ],
    rewrites: [
      ['12.34', '12.340', 'equal'],
      ['0', '-0', 'equal'],
    ],
  },
  {
    name: 'keyword',
    mapping: { type: 'keyword' },
    strings: true,
    values: [
      ['"abc"', '"abd"'],
      [JSON.stringify('Ünïcödé ✓ 🏦'), JSON.stringify('Ünïcödé ✓ 🏧')],
      [JSON.stringify(nfc), JSON.stringify('cafe')],
      ['""', '" "'],
    ],
    rewrites: [
      ['1.0', '1', 'different'],
      ['1e2', '100', 'different'],
      ['1', '"1"', 'different'],
      [JSON.stringify(nfc), JSON.stringify(nfd), 'different'],
    ],
  },
  {
    name: 'text',
    mapping: { type: 'text' },
    strings: true,
    values: [['"The quick brown fox"', '"The quick brown fix"']],
  },
  {
    name: 'date',
    mapping: { type: 'date' },
    values: [
      ['"2026-11-21T00:00:00Z"', '"2026-11-21T00:00:01Z"'],
      ['1700000000000', '1700000000001'],
    ],
    // Dates compare by their text as stored: equal instants written differently are reported.
    rewrites: [['"2026-11-21T00:00:00Z"', '"2026-11-21T00:00:00.000Z"', 'different']],
  },
  {
    name: 'date_nanos',
    mapping: { type: 'date_nanos' },
    values: [['"2026-11-21T00:00:00.123456789Z"', '"2026-11-21T00:00:00.123456788Z"']],
  },
  {
    name: 'boolean',
    mapping: { type: 'boolean' },
    values: [
      ['true', 'false'],
      ['false', 'true'],
    ],
    rewrites: [['true', '"true"', 'different']],
  },
  {
    name: 'ip',
    mapping: { type: 'ip' },
    values: [
      ['"10.0.0.1"', '"10.0.0.2"'],
      ['"2001:db8::ff00:42:8329"', '"2001:db8::ff00:42:832a"'],
    ],
    rewrites: [['"::1"', '"0:0:0:0:0:0:0:1"', 'different']],
  },
  {
    name: 'geo_point',
    mapping: { type: 'geo_point' },
    values: [['{"lat":1.5,"lon":2.5}', '{"lat":1.5,"lon":2.6}']],
    rewrites: [
      ['{"lat":1.5,"lon":2.5}', '{"lon":2.5,"lat":1.5}', 'equal'],
      ['{"lat":1.5,"lon":2.5}', '"1.5,2.5"', 'different'],
    ],
  },
  {
    name: 'object',
    mapping: { properties: { a: { type: 'keyword' }, b: { type: 'long' } } },
    values: [['{"a":"x","b":1}', '{"a":"x","b":2}']],
    rewrites: [
      ['{"a":"x","b":1}', '{"b":1,"a":"x"}', 'equal'],
      ['{"a":"x","b":1}', '{"a":"x","b":1.0}', 'equal'],
      ['{"a":"x","b":1}', '{"a":"x"}', 'different'],
      ['{"a":"x","b":1}', '{"a":"X","b":1}', 'different'],
    ],
  },
  {
    name: 'nested',
    mapping: { type: 'nested', properties: { n: { type: 'long' }, s: { type: 'keyword' } } },
    values: [['[{"n":1,"s":"a"},{"n":2,"s":"b"}]', '[{"n":1,"s":"a"},{"n":3,"s":"b"}]']],
    rewrites: [
      ['[{"n":1,"s":"a"},{"n":2,"s":"b"}]', '[{"n":2,"s":"b"},{"n":1,"s":"a"}]', 'different'],
      ['[{"n":1,"s":"a"},{"n":2,"s":"b"}]', '[{"s":"a","n":1.0},{"n":2,"s":"b"}]', 'equal'],
    ],
  },
  {
    name: 'flattened',
    mapping: { type: 'flattened' },
    only: ['elasticsearch'],
    values: [['{"k":"v","n":"1"}', '{"k":"v","n":"2"}']],
    rewrites: [
      ['{"k":"v","n":"1"}', '{"n":"1","k":"v"}', 'equal'],
      ['{"k":"v","n":1}', '{"k":"v","n":1.0}', 'different'],
    ],
  },
  {
    name: 'flat_object',
    mapping: { type: 'flat_object' },
    only: ['opensearch'],
    values: [['{"k":"v","n":"1"}', '{"k":"v","n":"2"}']],
    rewrites: [['{"k":"v","n":"1"}', '{"n":"1","k":"v"}', 'equal']],
  },
  {
    name: 'binary',
    mapping: { type: 'binary' },
    values: [['"AQID"', '"AQIE"']],
  },
  {
    name: 'disabled_object',
    mapping: { type: 'object', enabled: false },
    values: [['{"n":1}', '{"n":2}']],
    // Not indexed: only _source holds it, so its text is the data.
    rewrites: [['{"n":1.0}', '{"n":1}', 'different']],
  },
];

/** A document as JSON text, written one of several ways that must not matter. */
function doc(
  id: string,
  field: string | undefined,
  style: 'plain' | 'reordered' | 'spaced' = 'plain',
): string {
  const idPart = `"id":${JSON.stringify(id)}`;
  if (field === undefined) return `{${idPart}}`;
  if (style === 'reordered') return `{"f":${field},${idPart}}`;
  if (style === 'spaced') return `{ ${idPart.replace(':', ' : ')} ,\t"f" :  ${field} }`;
  return `{${idPart},"f":${field}}`;
}

/** Escapes every non-ASCII character (and the first letter) of a JSON string literal. */
function escaped(literal: string): string {
  const s = JSON.parse(literal) as string;
  return `"${[...s]
    .map((ch, i) => {
      const c = ch.codePointAt(0)!;
      if (i === 0 || c > 0x7e) {
        return ch
          .split('')
          .map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`)
          .join('');
      }
      return JSON.stringify(ch).slice(1, -1);
    })
    .join('')}"`;
}

/** Every case of one type, ids prefixed so a type's cases sort together. */
export function casesFor(t: TypeSpec): CorpusCase[] {
  const out: CorpusCase[] = [];
  const add = (
    kind: string,
    source: string | undefined,
    target: string | undefined,
    expect: Verdict,
    style?: 'reordered' | 'spaced',
  ) => {
    const id = `${t.name}-${String(out.length).padStart(3, '0')}-${kind}`;
    out.push({
      id,
      type: t.name,
      kind,
      source: kind === 'extra-doc' ? undefined : doc(id, source),
      target: kind === 'missing-doc' ? undefined : doc(id, target, style),
      expect,
    });
  };
  for (const [i, [v, changed]] of t.values.entries()) {
    add('twin', v, v, 'equal');
    add('twin-key-order', v, v, 'equal', 'reordered');
    add('twin-json-whitespace', v, v, 'equal', 'spaced');
    add('changed', v, changed, 'different');
    add('scalar-vs-array', v, `[${v}]`, 'different');
    add('twin-array', `[${v},${changed}]`, `[${v},${changed}]`, 'equal');
    add('array-order', `[${v},${changed}]`, `[${changed},${v}]`, 'different');
    if (i === 0) {
      add('null-vs-missing', 'null', undefined, 'different');
      add('empty-array-vs-missing', '[]', undefined, 'different');
      add('null-vs-empty-array', 'null', '[]', 'different');
      add('twin-null', 'null', 'null', 'equal');
      add('twin-missing', undefined, undefined, 'equal');
      add('missing-doc', v, v, 'missing');
      add('extra-doc', v, v, 'extra');
    }
    if (t.strings && v.startsWith('"')) {
      const s = JSON.parse(v) as string;
      add('whitespace-only', v, JSON.stringify(`${s} `), 'different');
      add('leading-whitespace-only', v, JSON.stringify(` ${s}`), 'different');
      if (s.toUpperCase() !== s) add('case-only', v, JSON.stringify(s.toUpperCase()), 'different');
      if (s.normalize('NFD') !== s) add('nfc-vs-nfd', v, JSON.stringify(s.normalize('NFD')), 'different');
      if (s !== '') add('escape-only', v, escaped(v), 'equal');
    }
  }
  for (const [a, b, verdict] of t.rewrites ?? []) add(`rewrite-${verdict}`, a, b, verdict);
  return out;
}
