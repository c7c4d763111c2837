import mysql, { type Connection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMysqlCheck } from '../../checkers/mysql/checker.js';
import { mysqlOptionsSchema } from '../../checkers/mysql/options.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';
import { mulberry32 } from '../harness/prng.js';

/**
 * Property-based differential test (issue 11): seeded random schemas and data written on the
 * primary and replicated, then random mutations on the replica only (sql_log_bin=0), some of
 * which change nothing (an UPDATE to the same value, a DELETE of no row). The server says
 * whether data changed (affected/changed rows); the checker must say `different` exactly then.
 */
const SEED = Number(process.env['DRCTL_PROP_SEED'] ?? 20261129);
const TRIALS = Number(process.env['DRCTL_PROP_RUNS'] ?? 25);
let pair: MariaDbPair;
let primary: Connection;
let replica: Connection;

/** Seeded, reproducible (mulberry32). */
function rng(seed: number) {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

interface ColType {
  decl: string;
  key: boolean;
  gen: (r: Rng, i: number) => string;
}

const str = (r: Rng, alphabet: string[], max: number) => {
  const n = r.int(0, max);
  let s = '';
  for (let i = 0; i < n; i++) s += r.pick(alphabet);
  return `'${s.replace(/'/g, "''")}'`;
};
const LATIN = ['a', 'A', 'b', ' ', 'é', 'É', 'ß', 'ÿ', 'z', '#', "'", '\\\\'];
const UNI = [...LATIN, '€', '🏦', 'ω', 'Ω', 'e\u0301'];

const TYPES: ColType[] = [
  { decl: 'INT', key: true, gen: (r, i) => String(r.int(-5, 5) * 1_000_003 + i) },
  {
    decl: 'BIGINT UNSIGNED',
    key: true,
    gen: (r, i) => `${BigInt(i) * 7919n + BigInt(r.pick([0, 1, 18446744073709000000]))}`,
  },
  {
    decl: 'DECIMAL(30,10)',
    key: true,
    gen: (r, i) => `${i}.${String(r.int(0, 9999999999)).padStart(10, '0')}`,
  },
  { decl: 'DOUBLE', key: true, gen: (r, i) => `${i}.${r.int(0, 999)}e${r.int(-20, 20)}` },
  { decl: 'FLOAT', key: false, gen: (r) => String(r.int(-20_000_000, 20_000_000)) },
  {
    decl: 'VARCHAR(30) CHARACTER SET latin1',
    key: true,
    gen: (r, i) => str(r, LATIN, 8).replace(/'$/, `${i}'`),
  },
  {
    decl: 'VARCHAR(30) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
    key: true,
    gen: (r, i) => str(r, UNI, 8).replace(/'$/, `${i}'`),
  },
  {
    decl: 'VARCHAR(30) CHARACTER SET utf16',
    key: true,
    gen: (r, i) => str(r, UNI, 6).replace(/'$/, `${i}'`),
  },
  { decl: 'CHAR(10) CHARACTER SET ucs2', key: true, gen: (r, i) => `'${r.pick(['Ω', 'x', ' a'])}${i}'` },
  {
    decl: 'VARBINARY(20)',
    key: true,
    gen: (r, i) => `X'${r.pick(['', '00', 'ff', '23'])}${i.toString(16).padStart(6, '0')}'`,
  },
  {
    decl: 'DATETIME(6)',
    key: true,
    gen: (r, i) => `'2026-01-01 00:00:00' + INTERVAL ${i * 1000 + r.int(0, 999)} MICROSECOND`,
  },
  {
    decl: 'UUID',
    key: true,
    gen: (r, i) =>
      `'${i.toString(16).padStart(8, '0')}-0000-1000-8000-${r.int(0, 0xffffff).toString(16).padStart(12, '0')}'`,
  },
  { decl: 'BLOB', key: false, gen: (r) => r.pick(["''", "X'00'", "REPEAT(X'ab', 3000)", "X'2323'"]) },
  { decl: 'TEXT CHARACTER SET utf8mb4', key: false, gen: (r) => str(r, UNI, 20) },
  { decl: 'JSON', key: false, gen: (r) => r.pick([`'{"a":1}'`, `'{"a": 1}'`, `'[1,2]'`, `'null'`]) },
  { decl: 'BIT(9)', key: false, gen: (r) => String(r.int(0, 511)) },
  { decl: "ENUM('x','y','z')", key: false, gen: (r) => r.pick(["'x'", "'y'", "'z'"]) },
  {
    decl: 'TIMESTAMP(3) NULL',
    key: false,
    gen: (r) => `'2026-03-29 01:${String(r.int(0, 59)).padStart(2, '0')}:00.${r.int(0, 999)}'`,
  },
];

interface Table {
  name: string;
  key: ColType[];
  cols: ColType[];
  rows: number;
}

function randomSchema(r: Rng, db: string, t: number): Table {
  const keyable = TYPES.filter((x) => x.key);
  const key = r.next() < 0.25 ? [r.pick(keyable), r.pick(keyable)] : [r.pick(keyable)];
  const cols = Array.from({ length: r.int(1, 4) }, () => r.pick(TYPES));
  return { name: `${db}.t${t}`, key, cols, rows: r.pick([5, 40, 300, 2500]) };
}

function createSql(t: Table): string {
  const keys = t.key.map((c, i) => `k${i} ${c.decl.replace(/ NULL$/, '')} NOT NULL`);
  const cols = t.cols.map((c, i) => `c${i} ${/ NULL$/.test(c.decl) ? c.decl : `${c.decl} NULL`}`);
  return `CREATE TABLE ${t.name} (${[...keys, ...cols].join(', ')}, PRIMARY KEY (${t.key.map((_, i) => `k${i}`).join(', ')}))`;
}

function rowValues(r: Rng, t: Table, i: number): string {
  const keys = t.key.map((c) => c.gen(r, i));
  const cols = t.cols.map((c) => (r.next() < 0.1 ? 'NULL' : c.gen(r, r.int(0, 1_000_000))));
  return `(${[...keys, ...cols].join(', ')})`;
}

async function run(c: Connection, sql: string): Promise<ResultSetHeader> {
  const [res] = await c.query<ResultSetHeader>(sql);
  return res;
}

/** One random mutation on the replica; true if it changed data. */
async function mutate(r: Rng, t: Table, log: string[]): Promise<boolean> {
  // A random existing row, addressed by its key as the server returns it.
  const keyCols = t.key.map((_, i) => `k${i}`);
  const [rows] = await replica.query<RowDataPacket[]>(
    `SELECT ${keyCols.map((k) => `HEX(CAST(${k} AS BINARY)) AS ${k}`).join(', ')} FROM ${t.name} ORDER BY RAND(${r.int(0, 1e6)}) LIMIT 1`,
  );
  const row = rows[0];
  const where = row ? keyCols.map((k) => `CAST(${k} AS BINARY) = X'${String(row[k])}'`).join(' AND ') : '1=0';
  const kind = r.pick(['update', 'update', 'same', 'delete', 'insert', 'nothing', 'rekey'] as const);
  let sql: string;
  switch (kind) {
    case 'update': {
      const i = r.int(0, t.cols.length - 1);
      sql = `UPDATE IGNORE ${t.name} SET c${i} = ${r.next() < 0.15 ? 'NULL' : t.cols[i]!.gen(r, r.int(0, 1_000_000))} WHERE ${where}`;
      break;
    }
    case 'same': {
      const i = r.int(0, t.cols.length - 1);
      sql = `UPDATE ${t.name} SET c${i} = c${i} WHERE ${where}`;
      break;
    }
    case 'delete':
      sql = `DELETE FROM ${t.name} WHERE ${where}`;
      break;
    case 'insert':
      sql = `INSERT IGNORE INTO ${t.name} VALUES ${rowValues(r, t, t.rows + r.int(1, 1000))}`;
      break;
    case 'nothing':
      sql = `DELETE FROM ${t.name} WHERE 1=0`;
      break;
    case 'rekey':
      sql = `UPDATE IGNORE ${t.name} SET k0 = ${t.key[0]!.gen(r, t.rows + r.int(1, 1000))} WHERE ${where}`;
      break;
  }
  const res = await run(replica, sql);
  const changed = sql.startsWith('UPDATE') ? res.changedRows > 0 : res.affectedRows > 0;
  log.push(`${changed ? 'CHANGED' : 'no-op  '} ${sql.slice(0, 160)}`);
  return changed;
}

async function connect(port: number): Promise<Connection> {
  const c = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: 'root',
    charset: 'utf8mb4_general_ci',
    multipleStatements: true,
  });
  await c.query("SET SESSION time_zone = '+00:00'");
  return c;
}

beforeAll(async () => {
  pair = await startMariaDbPair();
  primary = await connect(pair.primary.port);
  replica = await connect(pair.replica.port);
  await replica.query('SET SESSION sql_log_bin = 0');
}, 120_000);

afterAll(async () => {
  await primary?.end();
  await replica?.end();
  await pair?.stop();
});

describe(`differential: random schemas, data and mutations (seed ${SEED}, ${TRIALS} trials)`, () => {
  it('says different exactly when a mutation changed data', async () => {
    const started = Date.now();
    const outcomes = { trials: 0, tables: 0, changed: 0, unchanged: 0, mutations: 0 };
    for (let trial = 0; trial < TRIALS && Date.now() - started < 150_000; trial++) {
      const r = rng(SEED + trial);
      const db = `p${trial}`;
      await primary.query(`CREATE DATABASE ${db}`);
      const tables = Array.from({ length: r.int(1, 3) }, (_, i) => randomSchema(r, db, i));
      for (const t of tables) {
        await primary.query(createSql(t));
        for (let i = 0; i < t.rows; i += 250) {
          const batch = Array.from({ length: Math.min(250, t.rows - i) }, (_, j) => rowValues(r, t, i + j));
          await primary.query(`INSERT IGNORE INTO ${t.name} VALUES ${batch.join(', ')}`);
        }
      }
      await waitForReplicaCatchUp(pair, 60);
      const log: string[] = [];
      let changed = false;
      for (let m = r.int(0, 3); m > 0; m--) {
        outcomes.mutations++;
        if (await mutate(r, r.pick(tables), log)) changed = true;
      }
      const options = mysqlOptionsSchema.parse({
        databases: [db],
        gtid: false,
        waitMs: 5000,
        chunkTimeMs: 20,
        hash: r.next() < 0.3 ? 'sha256' : 'fast',
      });
      const res = await runMysqlCheck(
        { kind: 'mysql', source: pair.primary.dsn, target: pair.replica.dsn },
        options,
        { signal: new AbortController().signal, progress: () => undefined },
      );
      const context = `seed ${SEED + trial} (DRCTL_PROP_SEED=${SEED}, trial ${trial})\n${tables.map(createSql).join('\n')}\n${log.join('\n')}\n${res.findings.map((f) => `${f.severity} ${f.object} ${f.message}`).join('\n')}`;
      expect(
        res.findings.filter((f) => f.severity === 'unverified'),
        context,
      ).toEqual([]);
      expect(res.status, context).toBe(changed ? 'different' : 'consistent');
      outcomes.trials++;
      outcomes.tables += tables.length;
      if (changed) outcomes.changed++;
      else outcomes.unchanged++;
    }
    console.log(`mysql differential: ${JSON.stringify(outcomes)}, false consistent: 0`);
    expect(outcomes.trials).toBeGreaterThanOrEqual(8);
  }, 240_000);
});
