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

const NUMERIC = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'float',
  'double',
  'real',
  'year',
]);
const TEMPORAL = new Set(['date', 'datetime', 'timestamp', 'time']);
const BINARY = new Set([
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'bit',
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
]);

/** How a column's text can be written into the row encoding. */
export type ColumnClass = 'number' | 'temporal' | 'text' | 'binary';

export function classifyColumn(c: Pick<ColumnInfo, 'dataType' | 'charset'>): ColumnClass {
  if (NUMERIC.has(c.dataType)) return 'number';
  if (TEMPORAL.has(c.dataType)) return 'temporal';
  if (BINARY.has(c.dataType) || c.charset === null || c.charset === 'binary') return 'binary';
  return 'text';
}

const NUMBER_RE = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
const TEMPORAL_RE = /^[-\d :.]+$/;

/** A SQL literal for a raw value of column `c`, exact and in the column's own type and charset. */
export function sqlLiteral(c: Pick<ColumnInfo, 'dataType' | 'charset'>, value: Buffer | null): string {
  if (value === null) return 'NULL';
  const cls = classifyColumn(c);
  if (cls === 'number') {
    const text = value.toString('latin1');
    if (NUMBER_RE.test(text)) return text;
    return `X'${value.toString('hex')}'`;
  }
  if (cls === 'temporal') {
    const text = value.toString('latin1');
    if (TEMPORAL_RE.test(text)) return `'${text}'`;
    return `X'${value.toString('hex')}'`;
  }
  if (cls === 'binary') return value.length === 0 ? "''" : `X'${value.toString('hex')}'`;
  // A charset introducer keeps the column's collation in charge (index order), unlike a binary literal.
  const charset = c.charset!.replace(/[^a-z0-9_]/gi, '');
  return value.length === 0 ? `_${charset}''` : `_${charset} X'${value.toString('hex')}'`;
}

/**
 * The per-row text that is hashed. Unambiguous by construction:
 * - string and binary columns contribute their bytes, and their byte LENGTHs are appended at the
 *   end, so a separator inside a value cannot shift a boundary: ('x#y','z') ≠ ('x','y#z');
 * - numbers and temporal values never contain the separator;
 * - NULL is flagged in a leading bitmap of the nullable columns, so NULL ≠ '' ≠ a missing value.
 * A binary separator makes the whole text binary: no charset conversion, no collation mix errors.
 */
export function rowTextExpr(
  columns: readonly Pick<ColumnInfo, 'name' | 'dataType' | 'charset' | 'nullable'>[],
): string {
  const parts: string[] = [];
  const nullable = columns.filter((c) => c.nullable);
  if (nullable.length > 0)
    parts.push(`CONCAT(${nullable.map((c) => `ISNULL(${quoteIdent(c.name)})`).join(', ')})`);
  const lengths: string[] = [];
  for (const c of columns) {
    const id = quoteIdent(c.name);
    const cls = classifyColumn(c);
    parts.push(id);
    if (cls === 'text' || cls === 'binary') lengths.push(`LENGTH(${id})`);
  }
  parts.push(...lengths);
  return `CONCAT_WS(_binary'#', ${parts.join(', ')})`;
}

export type HashAlgorithm = 'crc32x2' | 'md5-64';

/** The hash used on this flavor: CRC32C exists in MariaDB ≥ 10.8 only; MySQL uses an MD5 prefix. */
export function chooseHashAlgorithm(flavor: Flavor, version: string): HashAlgorithm {
  if (flavor !== 'mariadb') return 'md5-64';
  const m = /^(\d+)\.(\d+)/.exec(version);
  const [maj, min] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  return maj > 10 || (maj === 10 && min >= 8) ? 'crc32x2' : 'md5-64';
}

/**
 * A 64-bit per-row hash as BIGINT UNSIGNED: CRC32 in the high half and CRC32C (a different
 * polynomial) in the low half, or the first 64 bits of MD5. Chunks SUM it (exact DECIMAL, no
 * overflow, no cancellation of identical changes the way BIT_XOR cancels pairs).
 */
export function rowHashExpr(text: string, algo: HashAlgorithm): string {
  if (algo === 'crc32x2') return `((CRC32(@t := ${text}) << 32) | CRC32C(@t))`;
  return `CAST(CONV(LEFT(MD5(${text}), 16), 16, 10) AS UNSIGNED)`;
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
    const cls = classifyColumn(c);
    if (cls === 'binary') return `${c.name}=0x${v.toString('hex')}`;
    if (cls === 'text') return `${c.name}='${v.toString('utf8')}'`;
    return `${c.name}=${v.toString('latin1')}`;
  });
  return parts.join(', ');
}
