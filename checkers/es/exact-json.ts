/**
 * JSON that keeps every number as its literal text. `JSON.parse` turns numbers into doubles, so a
 * 19-digit `long` differing in the last digit, `1.0` vs `1` in a keyword field, or `-0.0` vs `0.0`
 * would compare equal. Node 20 has no reviver `context.source`, so this is a small strict
 * RFC 8259 reader: numbers become {@link JsonNumber}, duplicate object keys are kept (under
 * {@link DUPLICATE_KEYS}) rather than silently overwritten, strings are decoded as JSON.parse does.
 */

/** A JSON number as written; {@link decimalValue} gives its exact value. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Extra `[key, value]` pairs of an object whose keys repeat (only the last stays as a property). */
export const DUPLICATE_KEYS: unique symbol = Symbol('duplicate keys');

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
    this.name = 'JsonSyntaxError';
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

export function parseExactJson(text: string): JsonValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(what, i);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const str = (): string => {
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) fail('unterminated string');
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
        } else {
          const r = e === undefined ? undefined : ESCAPES[e];
          if (r === undefined) fail('bad escape');
          out += r;
          i += 2;
        }
        start = i;
        continue;
      }
      i++;
    }
  };
  const value = (depth: number): JsonValue => {
    if (depth > 10_000) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: JsonObject = {};
      const seen = new Set<string>();
      let dups: [string, JsonValue][] | undefined;
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const key = str();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        const v = value(depth + 1);
        if (seen.has(key)) (dups ??= []).push([key, obj[key]!]);
        seen.add(key);
        // defineProperty: a key named __proto__ is data, not the prototype.
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          if (dups) Object.defineProperty(obj, DUPLICATE_KEYS, { value: dups, enumerable: false });
          return obj;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('unexpected character');
    i += m[0].length;
    return new JsonNumber(m[0]);
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

/** JSON text of a value that may hold {@link JsonNumber}s, written back exactly as read. */
export function stringifyExact(v: unknown): string {
  if (v instanceof JsonNumber) return v.text;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stringifyExact).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stringifyExact(o[k])}`)
    .join(',')}}`;
}

/**
 * The exact value of a JSON number as `[sign][digits]e[exponent]` with no leading or trailing
 * zeros in the digits: `14850.00`, `14850` and `1.485e4` all give `1485e1`. Zero is `0` or, when `keepZeroSign` and the literal is negative, `-0`.
 */
export function decimalValue(text: string, keepZeroSign: boolean): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new Error(`not a JSON number: ${text}`);
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  let digits = int + frac;
  let e = BigInt(exp) - BigInt(frac.length);
  digits = digits.replace(/^0+/, '');
  if (digits === '') return keepZeroSign && sign === '-' ? '-0' : '0';
  const trimmed = digits.replace(/0+$/, '');
  e += BigInt(digits.length - trimmed.length);
  return `${sign}${trimmed}e${e}`;
}
