/**
 * A search response read without parsing the documents in it. Each hit's `_source` is kept as
 * the exact text the server sent (a slice of the response), so the checker can hash it as
 * received and parse only the few documents whose bytes differ from their twin's. Only the keys
 * the scan needs are decoded: `pit_id`, `_scroll_id`, and per hit `_id`, `_routing`, `sort`.
 *
 * The reader is strict about structure (it must find the end of every value it skips) but leaves
 * the grammar of skipped values to the exact parser that reads them later: a malformed `_source`
 * is a syntax error when (and only when) it has to be parsed.
 */
import { JsonSyntaxError, parseExactJson, type JsonValue } from './exact-json.js';

export interface RawHit {
  _id: string;
  _routing?: string;
  /** The `_source` JSON text exactly as received; undefined when the hit has none. */
  source?: string;
  sort?: JsonValue[];
}

export interface RawPage {
  hits: RawHit[];
  pitId?: string;
  scrollId?: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function ws(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Index just after the string that opens at `i`. */
function skipString(t: string, i: number): number {
  for (i++; ;) {
    const q = t.indexOf('"', i);
    if (q < 0) throw new JsonSyntaxError('unterminated string', i);
    // A quote preceded by an odd number of backslashes is escaped.
    let b = q - 1;
    while (b >= i && t.charCodeAt(b) === BACKSLASH) b--;
    if ((q - 1 - b) % 2 === 0) return q + 1;
    i = q + 1;
  }
}

/** Index just after the value that starts at `i` (after whitespace). */
function skipValue(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === QUOTE) return skipString(t, i);
  if (c !== 0x7b && c !== 0x5b) {
    // A literal or a number: up to the next delimiter.
    let j = i;
    for (;;) {
      const d = t.charCodeAt(j);
      if (Number.isNaN(d) || d === 0x2c || d === 0x7d || d === 0x5d || d <= 0x20) break;
      j++;
    }
    if (j === i) throw new JsonSyntaxError('expected a value', i);
    return j;
  }
  let depth = 0;
  for (let j = i; j < t.length;) {
    const d = t.charCodeAt(j);
    if (d === QUOTE) {
      j = skipString(t, j);
      continue;
    }
    if (d === 0x7b || d === 0x5b) depth++;
    else if (d === 0x7d || d === 0x5d) {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  throw new JsonSyntaxError('unterminated value', i);
}

function readString(t: string, i: number): [string, number] {
  if (t.charCodeAt(i) !== QUOTE) throw new JsonSyntaxError('expected a string', i);
  const end = skipString(t, i);
  const raw = t.slice(i + 1, end - 1);
  return [raw.includes('\\') ? (JSON.parse(t.slice(i, end)) as string) : raw, end];
}

/** Calls `onKey(key, valueStart)` for each member of the object at `i`; it returns the value's end. */
function eachMember(t: string, i: number, onKey: (key: string, at: number) => number): number {
  i = ws(t, i);
  if (t.charCodeAt(i) !== 0x7b) throw new JsonSyntaxError('expected an object', i);
  i = ws(t, i + 1);
  if (t.charCodeAt(i) === 0x7d) return i + 1;
  for (;;) {
    const [key, afterKey] = readString(t, ws(t, i));
    i = ws(t, afterKey);
    if (t.charCodeAt(i) !== 0x3a) throw new JsonSyntaxError('expected ":"', i);
    i = ws(t, onKey(key, ws(t, i + 1)));
    const c = t.charCodeAt(i);
    if (c === 0x2c) {
      i++;
      continue;
    }
    if (c === 0x7d) return i + 1;
    throw new JsonSyntaxError('expected "," or "}"', i);
  }
}

function readHit(t: string, i: number, out: RawHit[]): number {
  const hit: Partial<RawHit> = {};
  const end = eachMember(t, i, (key, at) => {
    const after = skipValue(t, at);
    if (key === '_id') hit._id = readString(t, at)[0];
    else if (key === '_routing') hit._routing = readString(t, at)[0];
    else if (key === '_source') hit.source = t.slice(at, after);
    else if (key === 'sort') hit.sort = parseExactJson(t.slice(at, after)) as JsonValue[];
    return after;
  });
  if (typeof hit._id !== 'string') throw new JsonSyntaxError('a hit without _id', i);
  out.push(hit as RawHit);
  return end;
}

function readHitsArray(t: string, i: number, out: RawHit[]): number {
  if (t.charCodeAt(i) !== 0x5b) return skipValue(t, i);
  i = ws(t, i + 1);
  if (t.charCodeAt(i) === 0x5d) return i + 1;
  for (;;) {
    i = ws(t, readHit(t, ws(t, i), out));
    const c = t.charCodeAt(i);
    if (c === 0x2c) {
      i++;
      continue;
    }
    if (c === 0x5d) return i + 1;
    throw new JsonSyntaxError('expected "," or "]"', i);
  }
}

/** Reads one search (or scroll) response; see the module comment. */
export function readSearchPage(text: string): RawPage {
  const page: RawPage = { hits: [] };
  const end = eachMember(text, 0, (key, at) => {
    if (key === 'pit_id') {
      const [v, after] = readString(text, at);
      page.pitId = v;
      return after;
    }
    if (key === '_scroll_id') {
      const [v, after] = readString(text, at);
      page.scrollId = v;
      return after;
    }
    if (key !== 'hits' || text.charCodeAt(at) !== 0x7b) return skipValue(text, at);
    return eachMember(text, at, (k, a) =>
      k === 'hits' ? readHitsArray(text, a, page.hits) : skipValue(text, a),
    );
  });
  if (ws(text, end) !== text.length) throw new JsonSyntaxError('trailing characters', end);
  return page;
}
