import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chunkChecksumSql,
  classifyColumn,
  quoteIdent,
  rowHashExpr,
  rowHashNeverNull,
  splitChunkSum,
  rowTextExpr,
  valueExpr,
  type HashAlgorithm,
} from '../../checkers/mysql/row-sql.js';
import { readSchema, type ColumnInfo } from '../../checkers/mysql/schema.js';
import { openSession, type Session } from '../../checkers/mysql/session.js';
import { startMariaDb } from '../harness/mysql.js';
import { mulberry32 } from '../harness/prng.js';
import { corpusTypes } from './mysql-corpus-types.js';

/**
 * The row text was rewritten for speed (issue 19: CONCAT_WS over runs of parts that cannot be
 * NULL, LENGTH of the column instead of LENGTH of its binary CAST). The new text must be the
 * old one byte for byte, and NULL exactly when the old one was: then it distinguishes every row
 * the old one did. Checked on a real server over seeded random tables of every corpus type,
 * nullable and not, with NULLs, '', separators inside values and the corpus' changed values.
 */
const SEED = Number(process.env['DRCTL_PROP_SEED'] ?? 20261930);
const TABLES = 40;

/** The row text before issue 19, frozen here as the reference. */
function legacyRowTextExpr(
  columns: readonly Pick<ColumnInfo, 'name' | 'dataType' | 'charset' | 'nullable'>[],
  algo: HashAlgorithm,
): string {
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
  const digest = (v: string) =>
    algo === 'crc32x2'
      ? `CONCAT(CRC32(${v}), ',', CRC32C(${v}))`
      : algo === 'sha256'
        ? `SHA2(${v}, 256)`
        : `MD5(${v})`;
  const parts: string[] = [];
  const nullable = columns.filter((c) => c.nullable);
  if (nullable.length > 0)
    parts.push(`CONCAT(${nullable.map((c) => `ISNULL(${quoteIdent(c.name)})`).join(', ')})`);
  const lengths: string[] = [];
  for (const c of columns) {
    const v = valueExpr(c);
    const cls = classifyColumn(c);
    const present = (e: string): string =>
      c.nullable ? `IF(${quoteIdent(c.name)} IS NULL, _binary'', ${e})` : e;
    parts.push(present(LARGE.has(c.dataType) ? digest(v) : v));
    if (cls === 'text' || cls === 'binary' || cls === 'opaque') lengths.push(present(`LENGTH(${v})`));
  }
  parts.push(...lengths);
  return `CONCAT(${parts.flatMap((p, i) => (i === 0 ? [p] : [`_binary'#'`, p])).join(', ')})`;
}

let server: Awaited<ReturnType<typeof startMariaDb>>;
let session: Session;

beforeAll(async () => {
  server = await startMariaDb();
  session = await openSession(server.dsn, 'source');
}, 120_000);

afterAll(async () => {
  await session?.close();
  await server?.stop();
});

describe(`row text after issue 19 (seed ${SEED}, ${TABLES} tables)`, () => {
  it('is the old text byte for byte, and NULL exactly when it was', async () => {
    const next = mulberry32(SEED);
    const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
    const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
    const types = corpusTypes();
    // Values that stress boundaries: separators and length-like digits inside strings.
    const tricky = ["''", "'#'", "'1#2'", "'#16'", "' '", "'NULL'", "'0'"];
    await server.query('CREATE DATABASE rt');
    const made: { name: string; decls: string[] }[] = [];
    for (let t = 0; t < TABLES; t++) {
      const cols = Array.from({ length: int(1, 5) }, () => ({ spec: pick(types), nullable: next() < 0.6 }));
      const decls = cols.map((c, i) => `c${i} ${c.spec.decl} ${c.nullable ? 'NULL' : 'NOT NULL'}`);
      await server.query(`CREATE TABLE rt.t${t} (id INT PRIMARY KEY, ${decls.join(', ')})`);
      const rows: string[] = [];
      for (let r = 0; r < 12; r++) {
        const values = cols.map((c) => {
          if (c.nullable && next() < 0.2) return 'NULL';
          const pool = [...c.spec.values, ...c.spec.changes.flatMap(([, a, b]) => [a, b])].filter(
            (v) => v !== 'NULL',
          );
          if (/char|text/i.test(c.spec.decl) && next() < 0.3) pool.push(...tricky);
          return pick(pool);
        });
        rows.push(`(${r}, ${values.join(', ')})`);
      }
      // IGNORE: a value out of a type's range (a corpus change of another type) is clipped, not fatal.
      await server.query(`SET SESSION sql_mode = ''; INSERT IGNORE INTO rt.t${t} VALUES ${rows.join(', ')}`);
      made.push({ name: `t${t}`, decls });
    }
    const schema = await readSchema(session, ['rt']);
    let rowsCompared = 0;
    for (const { name, decls } of made) {
      const columns = schema.tables.get(`rt.${name}`)!.columns;
      for (const algo of ['crc32x2', 'md5-64', 'sha256'] as const) {
        const now = rowTextExpr(columns, algo);
        const old = legacyRowTextExpr(columns, algo);
        const [row] = await session.query<{ n: string; same: string; hashSame: string }>(
          `SELECT COUNT(*) AS n, SUM((${now}) <=> (${old})) AS same,
             SUM((${rowHashExpr(now, algo)}) <=> (${rowHashExpr(old, algo)})) AS hashSame FROM rt.${name}`,
        );
        const context = `seed ${SEED}, rt.${name} (${decls.join(', ')}), ${algo}\nnew: ${now}\nold: ${old}`;
        expect(Number(row!.same), context).toBe(Number(row!.n));
        expect(Number(row!.hashSame), context).toBe(Number(row!.n));
        rowsCompared += Number(row!.n);
      }
    }
    console.log(`mysql row text: ${made.length} tables, ${rowsCompared} row texts equal to the old encoding`);
    expect(rowsCompared).toBeGreaterThan(TABLES * 3 * 10);
  }, 120_000);

  it('is NULL exactly when the old text was, for values over a lowered max_allowed_packet', async () => {
    await server.query(`
      CREATE DATABASE wide;
      CREATE TABLE wide.t (id INT PRIMARY KEY, v VARCHAR(30000) NOT NULL, n VARCHAR(30000) NULL,
        s VARCHAR(20) NOT NULL, b BLOB NULL) CHARACTER SET latin1;
      INSERT INTO wide.t VALUES (1, REPEAT('x', 30000), NULL, 'a', NULL), (2, 'short', REPEAT('y', 20000), '#', ''),
        (3, 'short', 'short', '', REPEAT('z', 20000)), (4, '', NULL, 'b', X'00')`);
    const [{ p } = { p: 0 }] = (await server.query('SELECT @@GLOBAL.max_allowed_packet AS p')) as {
      p: number;
    }[];
    await server.query('SET GLOBAL max_allowed_packet = 16384');
    const low = await openSession(server.dsn, 'source'); // takes the lowered global value
    try {
      const columns = (await readSchema(low, ['wide'])).tables.get('wide.t')!.columns;
      for (const algo of ['crc32x2', 'md5-64', 'sha256'] as const) {
        const now = rowTextExpr(columns, algo);
        const old = legacyRowTextExpr(columns, algo);
        const rows = await low.query<{ id: number; same: string; isNull: string }>(
          `SELECT id, (${now}) <=> (${old}) AS same, (${now}) IS NULL AS isNull FROM wide.t ORDER BY id`,
        );
        expect(
          rows.map((r) => [Number(r.id), Number(r.same), Number(r.isNull)]),
          `${algo}: ${now}`,
        ).toEqual([
          [1, 1, 1],
          [2, 1, 1],
          [3, 1, 0], // the BLOB is read by its digest
          [4, 1, 0],
        ]);
      }
    } finally {
      await low.close();
      await server.query(`SET GLOBAL max_allowed_packet = ${p}`);
    }
  });

  it('sums row hashes bare only when no row text can reach the smallest max_allowed_packet', async () => {
    // At max_allowed_packet = 1024 (the least a server accepts), CONCAT_WS gives NULL for a text
    // over 1,024 bytes. `edge` holds the longest text its declared type allows (250 four-byte
    // characters: 1,005 bytes), so its hash is said never NULL; `over` could exceed the packet,
    // and does: its hash is NULL, so its chunks keep the IFNULL that counts such rows.
    await server.query(`
      CREATE DATABASE pk;
      CREATE TABLE pk.edge (v VARCHAR(250) CHARACTER SET utf8mb4 NOT NULL);
      CREATE TABLE pk.over (v VARCHAR(250) CHARACTER SET utf8mb4 NOT NULL, w VARCHAR(20) CHARACTER SET utf8mb4 NOT NULL);
      INSERT INTO pk.edge VALUES (REPEAT(_utf8mb4 X'F09F9880', 250)), ('#');
      INSERT INTO pk.over VALUES (REPEAT(_utf8mb4 X'F09F9880', 250), REPEAT(_utf8mb4 X'F09F9880', 20)), ('a', 'b')`);
    const [{ p } = { p: 0 }] = (await server.query('SELECT @@GLOBAL.max_allowed_packet AS p')) as {
      p: number;
    }[];
    await server.query('SET GLOBAL max_allowed_packet = 1024');
    const low = await openSession(server.dsn, 'source'); // takes the lowered global value
    try {
      const tables = (await readSchema(low, ['pk'])).tables;
      const edge = tables.get('pk.edge')!.columns;
      const over = tables.get('pk.over')!.columns;
      expect(rowHashNeverNull(edge)).toBe(true);
      expect(rowHashNeverNull(over)).toBe(false);
      for (const [name, columns, nulls] of [
        ['edge', edge, 0n],
        ['over', over, 1n],
      ] as const) {
        const hash = rowHashExpr(rowTextExpr(columns), 'crc32x2');
        const [row] = await low.query<{ n: number; h: string }>(
          chunkChecksumSql(hash, `pk.${name}`, 'crc32x2', rowHashNeverNull(columns)),
        );
        expect(Number(row!.n)).toBe(2);
        expect(splitChunkSum(String(row!.h)).nulls, name).toBe(nulls);
      }
      const [longest] = await low.query<{ len: number; isNull: number }>(
        `SELECT MAX(LENGTH(${rowTextExpr(edge)})) AS len, SUM((${rowTextExpr(edge)}) IS NULL) AS isNull FROM pk.edge`,
      );
      expect([Number(longest!.len), Number(longest!.isNull)]).toEqual([1005, 0]);
    } finally {
      await low.close();
      await server.query(`SET GLOBAL max_allowed_packet = ${p}`);
    }
  });

  it('keeps a part that could be NULL a direct CONCAT argument, so the row text stays NULL', () => {
    const cols = [
      { name: 'id', dataType: 'int', charset: null, nullable: false },
      { name: 'doc', dataType: 'longblob', charset: null, nullable: false },
      { name: 'u', dataType: 'uuid', charset: null, nullable: true },
      { name: 's', dataType: 'varchar', charset: 'latin1', nullable: false },
    ];
    const text = rowTextExpr(cols);
    // Within a CONCAT_WS a NULL part would be skipped: digests and opaque CASTs are outside any.
    const insideWs: string[] = [];
    for (let at = text.indexOf('CONCAT_WS('); at >= 0; at = text.indexOf('CONCAT_WS(', at + 1)) {
      let depth = 0;
      let end = at + 'CONCAT_WS'.length;
      do {
        if (text[end] === '(') depth++;
        else if (text[end] === ')') depth--;
        end++;
      } while (depth > 0 && end < text.length);
      insideWs.push(text.slice(at, end));
    }
    expect(insideWs.length).toBeGreaterThan(0);
    for (const ws of insideWs) {
      expect(ws).not.toContain('CRC32');
      expect(ws).not.toContain('CAST(`u`');
    }
    expect(text).toContain("CONCAT(CRC32(`doc`), ',', CRC32C(`doc`))");
    expect(text.startsWith('CONCAT(')).toBe(true);
  });
});
