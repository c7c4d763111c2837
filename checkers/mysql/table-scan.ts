import {
  encodeKey,
  keysPredicate,
  quoteIdent,
  quoteTable,
  rangePredicate,
  rowHashExpr,
  rowHashNeverNull,
  rowTextExpr,
  compareKeysBinary,
  chunkChecksumSql,
  splitChunkSum,
  valueExpr,
  type HashAlgorithm,
  type KeyColumn,
} from './row-sql.js';
import type { ColumnInfo } from './schema.js';
import { onBothSides, type Session } from './session.js';
import type { RateLimiter } from './rate-limit.js';

/** What to compare in one table. */
export interface TablePlan {
  db: string;
  table: string;
  /** Row key (primary key or unique NOT NULL key); undefined = compare the table whole. */
  key: KeyColumn[] | undefined;
  keyIndex: string | undefined;
  /** Columns compared (present on both sides), in source order; includes the key. */
  columns: ColumnInfo[];
  /** Rows estimated from table statistics (chunk planning only; 0 if unknown). */
  estimatedRows: number;
  /** Extra WHERE predicate (time window), or ''. */
  filter: string;
  algo: HashAlgorithm;
}

/** `unverified`: a row seen in a range that could not be read back by its key. */
export type RowDiffKind = 'missing' | 'extra' | 'different' | 'unverified';

export interface RowDiff {
  kind: RowDiffKind;
  key: (Buffer | null)[];
  /** Columns whose values differ (kind `different`). */
  columns?: string[];
  /** The source row (all plan columns) when known: for `missing` and `different`. */
  sourceRow?: (Buffer | null)[];
  /** Why the row could not be compared (kind `unverified`). */
  reason?: string;
}

export interface ScanStats {
  rowsSource: number;
  rowsTarget: number;
  missing: number;
  extra: number;
  different: number;
  unverified: number;
  chunks: number;
  mismatchedChunks: number;
}

export interface ScanOptions {
  chunkTimeMs: number;
  limiter: RateLimiter;
  signal: AbortSignal;
  /** Called for each differing key, in binary key order within a chunk. */
  onDiff: (diff: RowDiff) => void;
  /** Fetch source rows of missing keys too (for --fix-sql). */
  wantSourceRows: boolean;
  onProgress?: (rowsDone: number) => void;
}

interface Checksum {
  count: number;
  sum: string;
}

/** A row could not be hashed or a range not be walked: the table is unverified, never passed. */
export class UnverifiableError extends Error {}

const LEAF_ROWS = 2000;
const SPLIT_WAYS = 8;
const MIN_CHUNK = 200;
const MAX_CHUNK = 2_000_000;
/** SHA-256 chunks GROUP_CONCAT 64 hex digits per row: keep them well inside group_concat_max_len. */
const MAX_CHUNK_SHA = 200_000;
const FETCH_BATCH = 200;

/**
 * Compares one table: walks the key in chunks whose size adapts to `chunkTimeMs`, checksums each
 * chunk on both sides at once, and drills a mismatching chunk down to the exact keys.
 */
export async function scanTable(
  plan: TablePlan,
  source: Session,
  target: Session,
  opts: ScanOptions,
): Promise<ScanStats> {
  const stats: ScanStats = {
    rowsSource: 0,
    rowsTarget: 0,
    missing: 0,
    extra: 0,
    different: 0,
    unverified: 0,
    chunks: 0,
    mismatchedChunks: 0,
  };
  const table = quoteTable(plan.db, plan.table);
  const hash = rowHashExpr(rowTextExpr(plan.columns, plan.algo), plan.algo);
  const where = (range: string) => (plan.filter ? `${range} AND (${plan.filter})` : range);
  const neverNull = rowHashNeverNull(plan.columns);
  const aggregate = (from: string) => chunkChecksumSql(hash, from, plan.algo, neverNull);
  const maxChunk = plan.algo === 'sha256' ? MAX_CHUNK_SHA : MAX_CHUNK;

  if (!plan.key) {
    const sql = aggregate(`${table}${plan.filter ? ` WHERE ${plan.filter}` : ''}`);
    const [a, b] = await onBothSides(checksum(source, sql, plan.algo), checksum(target, sql, plan.algo));
    stats.rowsSource = a.count;
    stats.rowsTarget = b.count;
    stats.chunks = 1;
    if (a.count !== b.count || a.sum !== b.sum) stats.mismatchedChunks = 1;
    return stats;
  }

  const key = plan.key;
  const keyList = key.map((k) => valueExpr(k)).join(', ');
  const keyOrder = key.map((k) => quoteIdent(k.name)).join(', ');
  const force = plan.keyIndex ? ` FORCE INDEX (${quoteIdent(plan.keyIndex)})` : '';
  const checksumSql = (range: string) => aggregate(`${table}${force} WHERE ${where(range)}`);
  const boundarySql = (range: string, offset: number) =>
    `SELECT ${keyList} FROM ${table}${force} WHERE ${where(range)} ORDER BY ${keyOrder} LIMIT 1 OFFSET ${offset}`;
  const summed = (s: Session, sql: string) => checksum(s, sql, plan.algo);

  const findBoundary = async (s: Session, range: string, offset: number) => {
    const rows = await s.queryRaw(boundarySql(range, offset));
    return rows[0];
  };

  const compareRange = async (
    base: string,
    lower: (Buffer | null)[] | undefined,
    upper: (Buffer | null)[] | undefined,
    a: Checksum,
    b: Checksum,
  ): Promise<void> => {
    if (a.count === b.count && a.sum === b.sum) return;
    const range = withBase(base, rangePredicate(key, lower, upper));
    const biggest = Math.max(a.count, b.count);
    if (biggest <= LEAF_ROWS) {
      await compareLeaf(range);
      return;
    }
    // Split by keys of the side with more rows in this range.
    const side = a.count >= b.count ? source : target;
    const step = Math.ceil(biggest / SPLIT_WAYS);
    const bounds: ((Buffer | null)[] | undefined)[] = [lower];
    for (let i = 1; i < SPLIT_WAYS; i++) {
      const k = await findBoundary(side, range, i * step - 1);
      if (!k) break;
      bounds.push(k);
    }
    bounds.push(upper);
    for (let i = 0; i + 1 < bounds.length; i++) {
      const sub = withBase(base, rangePredicate(key, bounds[i], bounds[i + 1]));
      const [sa, sb] = await onBothSides(summed(source, checksumSql(sub)), summed(target, checksumSql(sub)));
      // Each part holds at most `step` rows of the bigger side; if not, the key bounds did not
      // cut the range (they must round-trip exactly): stop rather than split forever.
      if (Math.max(sa.count, sb.count) >= biggest)
        throw new UnverifiableError(
          `a chunk of ${biggest} rows could not be split by its key bounds (keys that do not round-trip)`,
        );
      await compareRange(base, bounds[i], bounds[i + 1], sa, sb);
    }
  };

  const compareLeaf = async (range: string): Promise<void> => {
    const sql = `SELECT ${keyList}, ${hash} FROM ${table}${force} WHERE ${where(range)}`;
    const [srcRows, dstRows] = await onBothSides(source.queryRaw(sql), target.queryRaw(sql));
    const n = key.length;
    const dst = new Map<string, { key: (Buffer | null)[]; h: string }>();
    for (const r of dstRows) dst.set(encodeKey(r.slice(0, n)), { key: r.slice(0, n), h: String(r[n]) });
    const missing: (Buffer | null)[][] = [];
    const differing: (Buffer | null)[][] = [];
    const unhashed = (rows: (Buffer | null)[][]) =>
      rows.filter((r) => r[n] === null).map((r) => r.slice(0, n));
    const noHash = [...unhashed(srcRows), ...unhashed(dstRows)];
    for (const r of srcRows) {
      const k = encodeKey(r.slice(0, n));
      const other = dst.get(k);
      if (!other) missing.push(r.slice(0, n));
      else {
        if (other.h !== String(r[n])) differing.push(r.slice(0, n));
        dst.delete(k);
      }
    }
    const extra = [...dst.values()].map((v) => v.key);
    const diffs: RowDiff[] = [];
    for (const k of noHash)
      diffs.push({
        kind: 'unverified',
        key: k,
        reason: 'its row hash is NULL (row text beyond max_allowed_packet)',
      });
    for (const k of extra) diffs.push({ kind: 'extra', key: k });
    if (missing.length > 0) {
      const rows = opts.wantSourceRows
        ? await fetchRows(source, missing)
        : new Map<string, (Buffer | null)[]>();
      for (const k of missing) {
        const row = rows.get(encodeKey(k));
        diffs.push(row ? { kind: 'missing', key: k, sourceRow: row } : { kind: 'missing', key: k });
      }
    }
    if (differing.length > 0) {
      const [a, b] = await onBothSides(fetchRows(source, differing), fetchRows(target, differing));
      for (const k of differing) {
        const ek = encodeKey(k);
        const sr = a.get(ek);
        const tr = b.get(ek);
        if (!sr || !tr) {
          // Seen in the range but not found by its key: never skipped.
          diffs.push({
            kind: 'unverified',
            key: k,
            reason: `the row could not be read back by its key on the ${!sr ? 'source' : 'target'}`,
          });
          continue;
        }
        const cols = plan.columns
          .filter((_c, i) => !sameBytes(sr[i] ?? null, tr[i] ?? null))
          .map((c) => c.name);
        diffs.push({ kind: 'different', key: k, columns: cols, sourceRow: sr });
      }
    }
    diffs.sort((x, y) => compareKeysBinary(x.key, y.key));
    for (const d of diffs) {
      stats[d.kind]++;
      opts.onDiff(d);
    }
  };

  const colList = plan.columns.map((c) => valueExpr(c)).join(', ');
  const keyPos = key.map((k) => plan.columns.findIndex((c) => c.name === k.name));
  const fetchRows = async (s: Session, keys: (Buffer | null)[][]) => {
    const out = new Map<string, (Buffer | null)[]>();
    for (let i = 0; i < keys.length; i += FETCH_BATCH) {
      const batch = keys.slice(i, i + FETCH_BATCH);
      const rows = await s.queryRaw(`SELECT ${colList} FROM ${table} WHERE ${keysPredicate(key, batch)}`);
      for (const r of rows) out.set(encodeKey(keyPos.map((p) => r[p] ?? null)), r);
    }
    return out;
  };

  const runChunk = async (
    range: string,
    lower: KeyTuple | undefined,
    upper: KeyTuple | undefined,
    base: string,
  ) => {
    if (opts.signal.aborted)
      throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('interrupted');
    const t0 = performance.now();
    const [a, b] = await onBothSides(summed(source, checksumSql(range)), summed(target, checksumSql(range)));
    const elapsed = performance.now() - t0;
    stats.chunks++;
    stats.rowsSource += a.count;
    stats.rowsTarget += b.count;
    if (a.count !== b.count || a.sum !== b.sum) {
      stats.mismatchedChunks++;
      await compareRange(base, lower, upper, a, b);
    }
    opts.onProgress?.(stats.rowsSource);
    await opts.limiter.take(Math.max(a.count, b.count), opts.signal);
    // Adapt to the target time; bounded growth so one slow chunk does not explode it.
    return elapsed > 0 ? Math.min(4, Math.max(0.25, opts.chunkTimeMs / elapsed)) : 4;
  };

  await probeKeyRoundTrip(plan, source, keyList, keyOrder, force);
  const span = await integerKeySpan(plan, source, target);
  if (span) {
    // Dense integer keys: chunks are value ranges of the first key column, no boundary scans.
    const col = quoteIdent(key[0]!.name);
    const density = Number(span.max - span.min + 1n) / Math.max(1, plan.estimatedRows);
    let step = BigInt(Math.max(1, Math.round(1000 * density)));
    for (let lo = span.min; lo <= span.max;) {
      const hi = lo + step; // exclusive
      const base = `${col} >= ${lo} AND ${col} < ${hi}`;
      const factor = await runChunk(base, undefined, undefined, base);
      lo = hi;
      step = BigInt(Math.max(1, Math.round(Math.min(Number(step) * factor, maxChunk * density))));
    }
    return stats;
  }

  let lower: KeyTuple | undefined;
  let size = 1000;
  for (;;) {
    const upper = await findBoundary(source, rangePredicate(key, lower, undefined), size - 1);
    const factor = await runChunk(rangePredicate(key, lower, upper), lower, upper, '');
    if (!upper) break;
    lower = upper;
    size = Math.round(Math.min(maxChunk, Math.max(MIN_CHUNK, size * factor)));
  }
  return stats;
}

type KeyTuple = (Buffer | null)[];

function withBase(base: string, range: string): string {
  return base === '' ? range : range === '1=1' ? base : `${base} AND ${range}`;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

/**
 * MIN and MAX of the first key column over both sides when it is an integer and the keys are
 * dense enough (at most 4 values per estimated row) for value ranges to make even chunks.
 */
async function integerKeySpan(
  plan: TablePlan,
  source: Session,
  target: Session,
): Promise<{ min: bigint; max: bigint } | undefined> {
  const first = plan.key?.[0];
  if (!first || !INTEGER_TYPES.has(first.dataType) || plan.estimatedRows < 1000) return undefined;
  const col = quoteIdent(first.name);
  const sql = `SELECT MIN(${col}) AS lo, MAX(${col}) AS hi FROM ${quoteTable(plan.db, plan.table)}`;
  const rows = await onBothSides(
    source.query<{ lo: string | null; hi: string | null }>(sql),
    target.query<{ lo: string | null; hi: string | null }>(sql),
  );
  const los = rows
    .map((r) => r[0]?.lo)
    .filter((v): v is string => v !== null && v !== undefined)
    .map((v) => BigInt(v));
  const his = rows
    .map((r) => r[0]?.hi)
    .filter((v): v is string => v !== null && v !== undefined)
    .map((v) => BigInt(v));
  if (los.length === 0 || his.length === 0) return undefined;
  const min = los.reduce((a, b) => (a < b ? a : b));
  const max = his.reduce((a, b) => (a > b ? a : b));
  if (Number(max - min + 1n) > 4 * plan.estimatedRows + 10_000) return undefined;
  return { min, max };
}

async function checksum(s: Session, sql: string, algo: HashAlgorithm): Promise<Checksum> {
  const [row] = await s.query<{ n: string | number; nh?: string | number; h: string | number | null }>(sql);
  const count = Number(row?.n ?? 0);
  let unhashed: number;
  let sum: string;
  if (algo === 'sha256') {
    unhashed = count - Number(row?.nh ?? 0);
    sum = String(row?.h ?? '');
  } else {
    const split = splitChunkSum(String(row?.h ?? '0'));
    unhashed = Number(split.nulls);
    sum = split.sum.toString();
  }
  if (unhashed !== 0)
    throw new UnverifiableError(
      `${unhashed} row(s) on the ${s.side} could not be hashed (row text beyond max_allowed_packet)`,
    );
  if (algo === 'sha256' && count * 64 > SHA_CONCAT_LIMIT)
    throw new UnverifiableError(`${count} rows in one part are too many for --hash sha256 without a key`);
  return { count, sum };
}

/** group_concat_max_len set by every session (see session.ts). */
const SHA_CONCAT_LIMIT = 256 * 1024 * 1024;

/**
 * Reads the first and last keys and looks each up by its literal: a key type whose values do not
 * round-trip exactly would make ranges and drill-downs miss rows, so the table is unverified.
 */
async function probeKeyRoundTrip(
  plan: TablePlan,
  s: Session,
  keyList: string,
  keyOrder: string,
  force: string,
): Promise<void> {
  const key = plan.key!;
  const table = quoteTable(plan.db, plan.table);
  const desc = key.map((k) => `${quoteIdent(k.name)} DESC`).join(', ');
  for (const order of [keyOrder, desc]) {
    const [k] = await s.queryRaw(`SELECT ${keyList} FROM ${table}${force} ORDER BY ${order} LIMIT 1`);
    if (!k) return;
    const [row] = await s.query<{ n: string | number }>(
      `SELECT COUNT(*) AS n FROM ${table} WHERE ${keysPredicate(key, [k])}`,
    );
    if (Number(row?.n ?? 0) !== 1)
      throw new UnverifiableError(
        `its key (${key.map((c) => `${c.name} ${c.dataType}`).join(', ')}) does not round-trip as a SQL literal; rows cannot be located`,
      );
  }
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

/** Re-reads the given keys on both sides; returns the ones that still differ (lag settles, loss stays). */
export async function recheckKeys(
  plan: TablePlan,
  source: Session,
  target: Session,
  keys: (Buffer | null)[][],
): Promise<Set<string>> {
  const still = new Set<string>();
  if (!plan.key || keys.length === 0) return still;
  const key = plan.key;
  const table = quoteTable(plan.db, plan.table);
  const hash = rowHashExpr(rowTextExpr(plan.columns, plan.algo), plan.algo);
  const keyList = key.map((k) => valueExpr(k)).join(', ');
  const n = key.length;
  for (let i = 0; i < keys.length; i += FETCH_BATCH) {
    const batch = keys.slice(i, i + FETCH_BATCH);
    const sql = `SELECT ${keyList}, ${hash} FROM ${table} WHERE (${keysPredicate(key, batch)})${plan.filter ? ` AND (${plan.filter})` : ''}`;
    const [a, b] = await onBothSides(source.queryRaw(sql), target.queryRaw(sql));
    const m = new Map(b.map((r) => [encodeKey(r.slice(0, n)), r[n] === null ? null : String(r[n])]));
    const seen = new Set<string>();
    for (const r of a) {
      const k = encodeKey(r.slice(0, n));
      seen.add(k);
      const other = m.get(k);
      if (other === undefined || other === null || r[n] === null || other !== String(r[n])) still.add(k);
    }
    for (const k of m.keys()) if (!seen.has(k)) still.add(k);
  }
  return still;
}
