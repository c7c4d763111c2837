import type { ColumnInfo } from './schema.js';
import type { Flavor } from './replication.js';

/**
 * SQL text builders for the row scan, pure. Values travel as raw bytes (Buffer) and are written
 * back into SQL as typed literals, so that keys compare exactly as the index orders them and
 * repair statements restore the exact bytes.
 */

export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export function quoteTable(db: string, table: string): string {
  return `${quoteIdent(db)}.${quoteIdent(table)}`;
}

const INTEGER = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);
const DECIMAL = new Set(['decimal', 'numeric']);
const FLOAT = new Set(['float', 'double', 'real', 'double precision']);
const ORDINAL = new Set(['bit', 'enum', 'set']);
const TEMPORAL = new Set(['date', 'datetime', 'timestamp', 'time']);
const BINARY = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
/** Types whose values can be far bigger than a row: hashed alone, so a row text stays small. */
const LARGE = new Set([
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'json',
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
]);

/**
 * How a column's value is read exactly and written back as a literal that compares exactly:
 * - `integer`, `decimal`: the server's text, written bare;
 * - `float`: `CAST(col AS DOUBLE)` (shortest round-trip text, unlike FLOAT's 6 digits), written as a double;
 * - `ordinal` (BIT, ENUM, SET): `col+0`, its number, which is also the index order;
 * - `temporal`: the text at time_zone +00:00, quoted;
 * - `text`: `CAST(col AS BINARY)`, the stored bytes in the column's own charset, written as
 *   `_charset X'…'` (the column's collation stays in charge of the comparison);
 * - `binary`: the bytes, `X'…'`;
 * - `opaque` (UUID, INET4/6, geometry, any type unknown here): `CAST(col AS BINARY)`, its binary
 *   form, written as `X'…'`, which these types accept as their binary form.
 */
export type ColumnClass =
  'integer' | 'decimal' | 'float' | 'ordinal' | 'temporal' | 'text' | 'binary' | 'opaque';

export function classifyColumn(c: Pick<ColumnInfo, 'dataType' | 'charset'>): ColumnClass {
  const t = c.dataType;
  if (INTEGER.has(t)) return 'integer';
  if (DECIMAL.has(t)) return 'decimal';
  if (FLOAT.has(t)) return 'float';
  if (ORDINAL.has(t)) return 'ordinal';
  if (TEMPORAL.has(t)) return 'temporal';
  if (BINARY.has(t)) return 'binary';
  if (c.charset === 'binary') return 'binary';
  if (c.charset !== null) return 'text';
  return 'opaque';
}

/** The SQL expression that reads a column's value exactly (see ColumnClass). */
export function valueExpr(c: Pick<ColumnInfo, 'name' | 'dataType' | 'charset'>): string {
  const id = quoteIdent(c.name);
  switch (classifyColumn(c)) {
    case 'float':
      return `CAST(${id} AS DOUBLE)`;
    case 'ordinal':
      return `(${id}+0)`;
    case 'text':
    case 'opaque':
      return `CAST(${id} AS BINARY)`;
    case 'integer':
    case 'decimal':
    case 'temporal':
    case 'binary':
      return id;
  }
}

const NUMBER_RE = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
const INTEGER_RE = /^[-+]?\d+$/;
const TEMPORAL_RE = /^[-\d :.]+$/;

/** A SQL literal for a value read by valueExpr, exact and in the column's own type and charset. */
export function sqlLiteral(c: Pick<ColumnInfo, 'dataType' | 'charset'>, value: Buffer | null): string {
  if (value === null) return 'NULL';
  const text = () => value.toString('latin1');
  const hex = `X'${value.toString('hex')}'`;
  switch (classifyColumn(c)) {
    case 'integer':
    case 'decimal':
    case 'ordinal':
      return (classifyColumn(c) === 'decimal' ? NUMBER_RE : INTEGER_RE).test(text()) ? text() : hex;
    case 'float': {
      const t = text();
      if (!NUMBER_RE.test(t)) return hex;
      // A double literal (an exponent), never a DECIMAL one that would be compared otherwise.
      return /e/i.test(t) ? t : `${t}e0`;
    }
    case 'temporal':
      return TEMPORAL_RE.test(text()) ? `'${text()}'` : hex;
    case 'binary':
    case 'opaque':
      return value.length === 0 ? "''" : hex;
    case 'text': {
      const charset = c.charset!.replace(/[^a-z0-9_]/gi, '');
      return value.length === 0 ? `_${charset}''` : `_${charset} ${hex}`;
    }
  }
}

/**
 * The per-row text that is hashed. Exact and unambiguous by construction:
 * - every value is read by valueExpr (stored bytes, exact numbers);
 * - string, binary and opaque values contribute their bytes, and their byte LENGTHs are appended at
 *   the end, so a separator inside a value cannot shift a boundary: ('x#y','z') ≠ ('x','y#z');
 * - numbers and temporal values never contain the separator;
 * - NULL is flagged in a leading bitmap of the nullable columns, so NULL ≠ '' ≠ a missing value;
 * - BLOB/TEXT/JSON/geometry values are replaced by their own digest, so that a row of large
 *   values never makes a text beyond max_allowed_packet (which the server turns into NULL).
 * A binary separator makes the whole text binary: no charset conversion, no collation mix errors.
 *
 * The text is `p1#p2#…#pn`. Runs of parts that cannot be NULL are joined by one CONCAT_WS (one
 * function instead of a separator argument per part: ~15% less server CPU per row, issue 19); a
 * part that could be NULL (a digest, an opaque type's binary form) stays a direct CONCAT argument,
 * so that it still makes the whole text NULL (CONCAT_WS would skip it silently). The bytes are
 * the same as `CONCAT(p1, '#', p2, …)`.
 */
export function rowTextExpr(
  columns: readonly (Pick<ColumnInfo, 'name' | 'dataType' | 'charset' | 'nullable'> &
    Partial<Pick<ColumnInfo, 'type'>>)[],
  algo: HashAlgorithm = 'crc32x2',
): string {
  const parts: TextPart[] = [];
  const nullable = columns.filter((c) => c.nullable);
  if (nullable.length > 0)
    parts.push({
      sql: `CONCAT(${nullable.map((c) => `ISNULL(${quoteIdent(c.name)})`).join(', ')})`,
      neverNull: true,
    });
  const lengths: TextPart[] = [];
  for (const c of columns) {
    const id = quoteIdent(c.name);
    const v = valueExpr(c);
    const cls = classifyColumn(c);
    const large = LARGE.has(c.dataType);
    // A NULL column is said by the ISNULL flags above and contributes ''. Any other NULL (a
    // value the server could not build, e.g. longer than max_allowed_packet) makes the whole
    // text NULL, so the row hash is NULL and the table unverified.
    const present = (e: string): string => (c.nullable ? `IF(${id} IS NULL, _binary'', ${e})` : e);
    parts.push({ sql: present(large ? valueDigestExpr(v, algo) : v), neverNull: valueNeverNull(c, cls) });
    // LENGTH counts bytes (sql_mode is '' in every session), the same as of CAST(… AS BINARY).
    if (cls === 'text' || cls === 'binary') lengths.push({ sql: present(`LENGTH(${id})`), neverNull: true });
    else if (cls === 'opaque') lengths.push({ sql: present(`LENGTH(${v})`), neverNull: false });
  }
  parts.push(...lengths);
  if (parts.length === 1) return `CONCAT(${parts[0]!.sql})`;
  const pieces: string[] = [];
  for (let i = 0; i < parts.length;) {
    let j = i;
    while (j < parts.length && parts[j]!.neverNull) j++;
    if (j - i >= 2) {
      pieces.push(
        `CONCAT_WS(${SEP}, ${parts
          .slice(i, j)
          .map((p) => p.sql)
          .join(', ')})`,
      );
      i = j;
    } else {
      pieces.push(parts[i]!.sql);
      i++;
    }
  }
  if (pieces.length === 1) return pieces[0]!;
  return `CONCAT(${pieces.flatMap((p, i) => (i === 0 ? [p] : [SEP, p])).join(', ')})`;
}

const SEP = "_binary'#'";

/** The smallest max_allowed_packet a server accepts: a CAST of a string this short is never NULL. */
const MIN_PACKET = 1024;

/**
 * Whether the value part of a non-NULL column can never be NULL. A bare column, a DOUBLE CAST and
 * `col+0` cannot; `CAST(col AS BINARY)` is NULL when the value is longer than max_allowed_packet,
 * so a string column is safe only if its declared length (at most 4 bytes a character in any
 * charset) fits in the smallest packet; digests and opaque types are never taken as safe.
 */
function valueNeverNull(
  c: Pick<ColumnInfo, 'dataType'> & Partial<Pick<ColumnInfo, 'type'>>,
  cls: ColumnClass,
): boolean {
  if (LARGE.has(c.dataType)) return false;
  switch (cls) {
    case 'integer':
    case 'decimal':
    case 'float':
    case 'ordinal':
    case 'temporal':
    case 'binary':
      return true;
    case 'text': {
      const m = /^(?:var)?char\((\d+)\)/i.exec(c.type ?? '');
      return m !== null && Number(m[1]) * 4 <= MIN_PACKET;
    }
    case 'opaque':
      return false;
  }
}

/**
 * Whether the row text (hence the row hash) can never be NULL, in any session: every part is one
 * that cannot be NULL (valueNeverNull; no digest, no opaque type), and the longest text the
 * declared types allow fits in the smallest max_allowed_packet (1,024 bytes), beyond which
 * CONCAT/CONCAT_WS return NULL. Then a chunk sums the hashes bare, without the IFNULL that
 * counts NULL ones (~6% of the chunk query's server CPU, issue 19). Any type whose longest text
 * is not known here answers false.
 */
export function rowHashNeverNull(
  columns: readonly (Pick<ColumnInfo, 'name' | 'dataType' | 'charset' | 'nullable'> &
    Partial<Pick<ColumnInfo, 'type'>>)[],
): boolean {
  let bytes = columns.some((c) => c.nullable) ? columns.length + 1 : 0; // the NULL bitmap and its separator
  for (const c of columns) {
    const cls = classifyColumn(c);
    if (cls === 'opaque' || !valueNeverNull(c, cls)) return false;
    const longest = longestValueText(c, cls);
    if (longest === undefined) return false;
    bytes += longest + 1;
    if (cls === 'text' || cls === 'binary') bytes += LENGTH_TEXT + 1;
  }
  return bytes <= MIN_PACKET;
}

/** The longest decimal text of an integer (`-9223372036854775808`, `18446744073709551615`). */
const LENGTH_TEXT = 20;

/** The longest text valueExpr gives for a column of this declared type, in bytes; undefined = unknown. */
function longestValueText(
  c: Pick<ColumnInfo, 'dataType'> & Partial<Pick<ColumnInfo, 'type'>>,
  cls: ColumnClass,
): number | undefined {
  const declared = (re: RegExp): number | undefined => {
    const m = re.exec(c.type ?? '');
    return m ? Number(m[1]) : undefined;
  };
  switch (cls) {
    case 'integer':
    case 'ordinal':
      return LENGTH_TEXT; // BIT/ENUM/SET as col+0: a BIGINT UNSIGNED
    case 'decimal': {
      const p = declared(/^(?:decimal|numeric)\((\d+)/i);
      return p === undefined ? undefined : p + 2; // sign and point
    }
    case 'float':
      return 32; // a double's shortest round-trip text: at most 24 characters
    case 'temporal':
      return 32; // at most 26: 'YYYY-MM-DD HH:MM:SS.ffffff'
    case 'text': {
      const n = declared(/^(?:var)?char\((\d+)\)/i);
      return n === undefined ? undefined : n * 4; // at most 4 bytes a character in any charset
    }
    case 'binary':
      return declared(/^(?:var)?binary\((\d+)\)/i);
    case 'opaque':
      return undefined;
  }
}

/**
 * One part of the row text. `neverNull`: NULL only if the column is (said by the ISNULL flags and
 * replaced by ''): a bare column, a CAST of a bounded string, `col+0`, a LENGTH.
 */
interface TextPart {
  sql: string;
  neverNull: boolean;
}

function valueDigestExpr(v: string, algo: HashAlgorithm): string {
  if (algo === 'crc32x2') return `CONCAT(CRC32(${v}), ',', CRC32C(${v}))`;
  if (algo === 'sha256') return `SHA2(${v}, 256)`;
  return `MD5(${v})`;
}

/**
 * `crc32x2` and `md5-64`: fast 64-bit row hashes summed per chunk; they catch accidental
 * corruption with overwhelming probability but are not a defence against a crafted change.
 * `sha256`: SHA-256 per row, and per chunk SHA-256 of the sorted row digests (no linearity).
 */
export type HashAlgorithm = 'crc32x2' | 'md5-64' | 'sha256';

/** The hash used on this flavor: CRC32C exists in MariaDB ≥ 10.8 only; MySQL uses an MD5 prefix. */
export function chooseHashAlgorithm(
  flavor: Flavor,
  version: string,
  wanted: 'fast' | 'sha256' = 'fast',
): HashAlgorithm {
  if (wanted === 'sha256') return 'sha256';
  if (flavor !== 'mariadb') return 'md5-64';
  const m = /^(\d+)\.(\d+)/.exec(version);
  const [maj, min] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  return maj > 10 || (maj === 10 && min >= 8) ? 'crc32x2' : 'md5-64';
}

/**
 * The per-row hash: a BIGINT UNSIGNED of CRC32 in the high half and CRC32C (a different
 * polynomial) in the low half, or the first 64 bits of MD5; or SHA-256 as 64 hex digits.
 * NULL only if the row text could not be built; callers count that as unverified.
 */
export function rowHashExpr(text: string, algo: HashAlgorithm): string {
  if (algo === 'crc32x2') return `((CRC32(@t := ${text}) << 32) | CRC32C(@t))`;
  if (algo === 'sha256') return `SHA2(${text}, 256)`;
  return `CAST(CONV(LEFT(MD5(${text}), 16), 16, 10) AS UNSIGNED)`;
}

/**
 * What a 64-bit row hash adds to a chunk sum when it is NULL (its row text could not be built):
 * 2^128, beyond any sum of fewer than 2^64 hashes below 2^64, so the sum carries the count of
 * NULL hashes in its high part (`sum / 2^128`) and the exact sum of the others in its low part.
 */
export const NULL_HASH_WEIGHT = 1n << 128n;

/**
 * The chunk checksum query over `from` (a table with its WHERE): `n` rows and `h`, the aggregate
 * of the row hashes. For the 64-bit hashes it is one plain aggregate over the rows,
 * `SUM(IFNULL(hash, 2^128))` (exact DECIMAL): no derived table, whose materialisation of every
 * row cost up to a third of the server CPU (issue 19); read it with splitChunkSum. When the hash
 * can never be NULL (rowHashNeverNull) the hashes are summed bare. For SHA-256 it
 * is the SHA-256 of the row digests in sorted order (a multiset digest) and `nh` counts the
 * non-NULL digests.
 */
export function chunkChecksumSql(
  hash: string,
  from: string,
  algo: HashAlgorithm,
  hashNeverNull = false,
): string {
  if (algo === 'sha256')
    return `SELECT COUNT(*) AS n, COUNT(h) AS nh, COALESCE(SHA2(GROUP_CONCAT(h ORDER BY h SEPARATOR ''), 256), '') AS h FROM (SELECT ${hash} AS h FROM ${from}) AS x`;
  const summed = hashNeverNull ? hash : `IFNULL(${hash}, ${NULL_HASH_WEIGHT})`;
  return `SELECT COUNT(*) AS n, COALESCE(SUM(${summed}), 0) AS h FROM ${from}`;
}

/** Splits a 64-bit chunk sum (chunkChecksumSql) into the NULL hash count and the sum of the others. */
export function splitChunkSum(sum: string): { nulls: bigint; sum: bigint } {
  const total = BigInt(sum);
  return { nulls: total / NULL_HASH_WEIGHT, sum: total % NULL_HASH_WEIGHT };
}

export interface KeyColumn {
  name: string;
  dataType: string;
  charset: string | null;
}

/** `(k1, k2) > (v1, v2)` written as an OR of ANDs, which every optimizer turns into a range. */
export function keyComparison(
  key: readonly KeyColumn[],
  values: readonly (Buffer | null)[],
  op: '>' | '<=',
): string {
  const ors: string[] = [];
  for (let i = 0; i < key.length; i++) {
    const ands: string[] = [];
    for (let j = 0; j < i; j++)
      ands.push(`${quoteIdent(key[j]!.name)} = ${sqlLiteral(key[j]!, values[j] ?? null)}`);
    const last = i === key.length - 1;
    const cmp = op === '>' ? '>' : last ? '<=' : '<';
    ands.push(`${quoteIdent(key[i]!.name)} ${cmp} ${sqlLiteral(key[i]!, values[i] ?? null)}`);
    ors.push(ands.length === 1 ? ands[0]! : `(${ands.join(' AND ')})`);
  }
  return ors.length === 1 ? ors[0]! : `(${ors.join(' OR ')})`;
}

/** A key range (lower exclusive, upper inclusive; undefined = unbounded) as a WHERE predicate. */
export function rangePredicate(
  key: readonly KeyColumn[],
  lower: readonly (Buffer | null)[] | undefined,
  upper: readonly (Buffer | null)[] | undefined,
): string {
  const parts: string[] = [];
  if (lower) parts.push(keyComparison(key, lower, '>'));
  if (upper) parts.push(keyComparison(key, upper, '<='));
  return parts.length === 0 ? '1=1' : parts.join(' AND ');
}

/** `(k1 = v1 AND k2 = v2) OR …` for fetching a batch of keys. */
export function keysPredicate(
  key: readonly KeyColumn[],
  keys: readonly (readonly (Buffer | null)[])[],
): string {
  if (key.length === 1) {
    return `${quoteIdent(key[0]!.name)} IN (${keys.map((k) => sqlLiteral(key[0]!, k[0] ?? null)).join(', ')})`;
  }
  return keys
    .map(
      (k) => `(${key.map((c, i) => `${quoteIdent(c.name)} = ${sqlLiteral(c, k[i] ?? null)}`).join(' AND ')})`,
    )
    .join(' OR ');
}

/** A stable map key for a row key (length-prefixed bytes, so composite keys cannot collide). */
export function encodeKey(values: readonly (Buffer | null)[]): string {
  return values.map((v) => (v === null ? 'N' : `${v.length}:${v.toString('hex')}`)).join('|');
}

/** Compares two raw keys in binary (byte) order, column by column; NULL first. */
export function compareKeysBinary(a: readonly (Buffer | null)[], b: readonly (Buffer | null)[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === null || y === null) {
      if (x !== y) return x === null ? -1 : 1;
      continue;
    }
    const c = Buffer.compare(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

/** A key for people: `id=42` or `(a=1, b='x')`. */
export function formatKey(key: readonly KeyColumn[], values: readonly (Buffer | null)[]): string {
  const parts = key.map((c, i) => {
    const v = values[i] ?? null;
    if (v === null) return `${c.name}=NULL`;
    switch (classifyColumn(c)) {
      case 'binary':
        return `${c.name}=0x${v.toString('hex')}`;
      case 'opaque':
        return `${c.name}=${formatOpaque(c.dataType, v)}`;
      case 'text':
        return `${c.name}='${decodeText(c.charset!, v)}'`;
      case 'ordinal':
        return c.dataType === 'bit'
          ? `${c.name}=${v.toString('latin1')}`
          : `${c.name}=#${v.toString('latin1')}`;
      case 'integer':
      case 'decimal':
      case 'float':
      case 'temporal':
        return `${c.name}=${v.toString('latin1')}`;
    }
  });
  return parts.join(', ');
}

/** Stored bytes of a charset as text for people (unknown charsets as hex). */
export function decodeText(charset: string, v: Buffer): string {
  const cs = charset.toLowerCase();
  if (cs.startsWith('utf8')) return v.toString('utf8');
  if (cs === 'latin1' || cs === 'ascii') return v.toString('latin1');
  if (cs === 'utf16' || cs === 'ucs2') return Buffer.from(v).swap16().toString('utf16le');
  if (cs === 'utf16le') return v.toString('utf16le');
  if (cs === 'utf32') {
    let out = '';
    for (let i = 0; i + 3 < v.length; i += 4) out += String.fromCodePoint(v.readUInt32BE(i));
    return out;
  }
  return `0x${v.toString('hex')}`;
}

function formatOpaque(dataType: string, v: Buffer): string {
  if (dataType === 'uuid' && v.length === 16) {
    const h = v.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  if (dataType === 'inet4' && v.length === 4) return [...v].join('.');
  return `0x${v.toString('hex')}`;
}
