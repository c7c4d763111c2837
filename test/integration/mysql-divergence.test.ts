import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMysqlCheck } from '../../checkers/mysql/checker.js';
import { mysqlOptionsSchema, type MysqlOptionsInput } from '../../checkers/mysql/options.js';
import type { CheckResult } from '../../checkers/types.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';

/**
 * Real divergences between a real MariaDB primary and its GTID replica, found exactly, by a
 * checker user that has only SELECT, SHOW VIEW, BINLOG MONITOR and SLAVE MONITOR.
 */
let pair: MariaDbPair;
let source: string;
let target: string;

async function check(opts: MysqlOptionsInput): Promise<CheckResult> {
  const options = mysqlOptionsSchema.parse({ waitMs: 5000, chunkTimeMs: 50, ...opts });
  return runMysqlCheck({ kind: 'mysql', source, target }, options, {
    signal: new AbortController().signal,
    progress: () => undefined,
  });
}

/** Writes on the replica only, without binlogging: a silent divergence. */
async function onReplicaOnly(sql: string): Promise<void> {
  await pair.replica.query(
    `SET SESSION sql_log_bin = 0; ${sql.trim().replace(/;$/, '')}; SET SESSION sql_log_bin = 1`,
  );
}

function rowFindings(r: CheckResult) {
  return r.findings
    .filter((f) => ['missing', 'extra', 'different'].includes(f.kind))
    .map((f) => `${f.object} ${f.message}`)
    .sort();
}

beforeAll(async () => {
  pair = await startMariaDbPair();
  await pair.primary.query(
    `CREATE USER 'checker'@'127.0.0.1' IDENTIFIED BY 'Ch3ck-secret';
     GRANT SELECT, SHOW VIEW, BINLOG MONITOR, SLAVE MONITOR ON *.* TO 'checker'@'127.0.0.1'`,
  );
  source = `mysql://checker:Ch3ck-secret@127.0.0.1:${pair.primary.port}`;
  target = `mysql://checker:Ch3ck-secret@127.0.0.1:${pair.replica.port}`;
  // Different server time zones: the checker must compare TIMESTAMPs as instants anyway.
  await pair.primary.query("SET GLOBAL time_zone = '-03:00'");
  await pair.replica.query("SET GLOBAL time_zone = '+05:00'");
  await pair.primary.query(`
    CREATE DATABASE types; USE types;
    CREATE TABLE types.t (
      k VARBINARY(8) NOT NULL PRIMARY KEY,
      amount DECIMAL(20,6) NOT NULL,
      at DATETIME(6),
      ts TIMESTAMP(6) NULL,
      f FLOAT, d DOUBLE,
      body BLOB, doc JSON,
      name VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci
    );
    INSERT INTO types.t
      SELECT UNHEX(LPAD(HEX(seq * 37 % 256), 2, '0')), seq * 1000.000001, '2026-01-01' + INTERVAL seq * 1001 MICROSECOND,
             '2026-03-29 01:30:00' + INTERVAL seq MINUTE, seq / 7, seq / 3, UNHEX(REPEAT('00FF', seq % 5)),
             JSON_OBJECT('n', seq, 'tags', JSON_ARRAY('a', 'b')), CONCAT('naïve 🏦 ', seq)
      FROM seq_0_to_255;
    CREATE TABLE types.big (id INT PRIMARY KEY, v VARCHAR(20)) ;
    INSERT INTO types.big SELECT seq, CONCAT('v', seq) FROM seq_1_to_6000;
    CREATE VIEW types.v AS SELECT k, amount FROM types.t;
    CREATE TABLE types.audit (id INT PRIMARY KEY, v VARCHAR(20));
    CREATE TRIGGER types.trg BEFORE INSERT ON types.audit FOR EACH ROW SET NEW.v = UPPER(NEW.v);
    CREATE PROCEDURE types.p() SELECT 1;
  `);
  await waitForReplicaCatchUp(pair);
});

afterAll(async () => {
  await pair?.stop();
});

describe('mysql checker against a real primary and replica', () => {
  it('passes a consistent pair (DECIMAL, DATETIME(6), TIMESTAMP across time zones, FLOAT/DOUBLE, BLOB, JSON, utf8mb4, binary keys)', async () => {
    const r = await check({});
    expect(r.findings.filter((f) => f.severity !== 'warning')).toEqual([]);
    expect(r.status).toBe('consistent');
    expect(r.ok).toBe(true);
    expect(r.counts['rowsSource']).toBe(256 + 6000);
  });

  it('finds exactly the rows changed on the replica under sql_log_bin=0, and which columns', async () => {
    await onReplicaOnly(`
      UPDATE types.t SET at = at + INTERVAL 1 MICROSECOND WHERE k = 0x25;
      UPDATE types.t SET amount = amount + 0.000001 WHERE k = 0x4a;
      UPDATE types.t SET d = d + 1e-12 WHERE k = 0x00;
      UPDATE types.t SET body = UNHEX('00FE') WHERE k = 0xff;
      UPDATE types.t SET name = REPLACE(name, '🏦', '🏧') WHERE k = 0x80;
      UPDATE types.t SET ts = ts + INTERVAL 1 SECOND WHERE k = 0x7f;
      DELETE FROM types.big WHERE id IN (1, 3001, 6000);
      INSERT INTO types.big VALUES (6001, 'ghost'), (0, 'zero');
      UPDATE types.big SET v = 'changed' WHERE id = 4500`);
    const r = await check({ databases: ['types'], fixSqlDir: `${pair.dir}/fix` });
    expect(r.status).toBe('different');
    expect(rowFindings(r)).toEqual(
      [
        'types.big id=0: extra on target',
        'types.big id=1: missing on target',
        'types.big id=3001: missing on target',
        'types.big id=4500: different on target: v',
        'types.big id=6000: missing on target',
        'types.big id=6001: extra on target',
        'types.t k=0x00: different on target: d',
        'types.t k=0x25: different on target: at',
        'types.t k=0x4a: different on target: amount',
        'types.t k=0x7f: different on target: ts',
        'types.t k=0x80: different on target: name',
        'types.t k=0xff: different on target: body',
      ].sort(),
    );
    expect(r.counts).toMatchObject({ missing: 3, extra: 2, different: 7 });

    // The repair SQL, run on the replica (without binlog), makes the pair consistent again.
    const { readFileSync, readdirSync } = await import('node:fs');
    const files = readdirSync(`${pair.dir}/fix`).map((f) => readFileSync(`${pair.dir}/fix/${f}`, 'utf8'));
    await onReplicaOnly(files.join('\n'));
    const again = await check({ databases: ['types'] });
    expect(rowFindings(again)).toEqual([]);
    expect(again.status).toBe('consistent');
  });

  it('catches the checksum traps: delimiters, NULL vs empty, NULL shifts, even identical changes', async () => {
    await pair.primary.query(`
      CREATE DATABASE traps;
      CREATE TABLE traps.kv (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10));
      INSERT INTO traps.kv VALUES (1, 'x#y', 'z'), (2, NULL, 'x'), (3, NULL, 'q'), (4, 'same', 'same');
      CREATE TABLE traps.dups (a INT, b VARCHAR(10));
      INSERT INTO traps.dups VALUES (1, 'a'), (1, 'a'), (7, 'keep');`);
    await waitForReplicaCatchUp(pair);
    await onReplicaOnly(`
      UPDATE traps.kv SET a = 'x', b = 'y#z' WHERE id = 1;
      UPDATE traps.kv SET a = 'x', b = NULL WHERE id = 2;
      UPDATE traps.kv SET a = '' WHERE id = 3;
      UPDATE traps.dups SET a = 2, b = 'b' WHERE a = 1`);
    // The traps are real: the naive encodings and BIT_XOR see no difference.
    const naive = `SELECT (SELECT GROUP_CONCAT(CRC32(CONCAT_WS('#', id, a, b)) ORDER BY id) FROM traps.kv) AS kv,
                          (SELECT BIT_XOR(CRC32(CONCAT_WS('#', a, b))) FROM traps.dups) AS dups`;
    const [p] = (await pair.primary.query(naive)) as Record<string, unknown>[];
    const [q] = (await pair.replica.query(naive)) as Record<string, unknown>[];
    expect(q!['dups']).toEqual(p!['dups']);
    expect(String(q!['kv']).split(',').slice(0, 2)).toEqual(String(p!['kv']).split(',').slice(0, 2));

    const r = await check({ databases: ['traps'] });
    expect(rowFindings(r)).toEqual([
      'traps.dups table contents differ (3 rows on source, 3 on target); no key to locate rows',
      'traps.kv id=1: different on target: a, b',
      'traps.kv id=2: different on target: a, b',
      'traps.kv id=3: different on target: a',
    ]);
  });

  it('reports a schema change made only on the replica, and nothing else', async () => {
    await pair.primary.query(`
      CREATE DATABASE sch; USE sch;
      CREATE TABLE sch.acc (id INT PRIMARY KEY, bal DECIMAL(12,2) NOT NULL, note VARCHAR(20));
      INSERT INTO sch.acc SELECT seq, seq, 'n' FROM seq_1_to_500;
      CREATE VIEW sch.rich AS SELECT id FROM sch.acc WHERE bal > 100;`);
    await waitForReplicaCatchUp(pair);
    await onReplicaOnly(`
      ALTER TABLE sch.acc ADD COLUMN flag INT, ADD INDEX by_bal (bal), MODIFY note VARCHAR(30);
      CREATE OR REPLACE VIEW sch.rich AS SELECT id FROM sch.acc WHERE bal > 200`);
    const r = await check({ databases: ['sch'] });
    expect(rowFindings(r)).toEqual([]);
    expect(r.findings.filter((f) => f.kind === 'schema').map((f) => `${f.object}: ${f.message}`)).toEqual([
      'sch.acc: column note: varchar(20) NULL DEFAULT NULL utf8mb4/utf8mb4_general_ci on source, varchar(30) NULL DEFAULT NULL utf8mb4/utf8mb4_general_ci on target',
      'sch.acc: column flag extra on target',
      'sch.acc: index by_bal extra on target',
      'sch.rich: view rich definition differs',
    ]);
    const tables = r.evidence['tables'] as { table: string; structureEqual: boolean; result: string }[];
    expect(tables).toEqual([
      expect.objectContaining({ table: 'sch.acc', structureEqual: false, result: 'consistent' }),
    ]);
    expect(r.status).toBe('different');
  });

  it('waits for a lagging replica that catches up within --wait, and passes', async () => {
    await pair.primary.query('CREATE DATABASE lag; CREATE TABLE lag.t (id INT PRIMARY KEY, v INT)');
    await waitForReplicaCatchUp(pair);
    await pair.replica.query('STOP SLAVE SQL_THREAD');
    await pair.primary.query(
      'USE lag; INSERT INTO lag.t SELECT seq, seq FROM seq_1_to_500; UPDATE lag.t SET v = 0 WHERE id < 10',
    );
    const running = check({ databases: ['lag'], waitMs: 30_000 });
    await sleep(1500);
    await pair.replica.query('START SLAVE SQL_THREAD');
    const r = await running;
    expect(r.evidence['catchUp']).toMatchObject({ caughtUp: true });
    expect((r.evidence['catchUp'] as { waitedMs: number }).waitedMs).toBeGreaterThan(1000);
    expect(r.findings.filter((f) => f.severity !== 'warning')).toEqual([]);
    expect(r.status).toBe('consistent');
  });

  it('finds the transactions and exact rows the replica lacks when its IO thread stopped while the primary committed', async () => {
    await pair.primary.query(
      'CREATE DATABASE io; CREATE TABLE io.pay (id BIGINT PRIMARY KEY, amt DECIMAL(10,2))',
    );
    await pair.primary.query('USE io; INSERT INTO io.pay SELECT seq, seq FROM seq_1_to_3000');
    await waitForReplicaCatchUp(pair);
    await pair.replica.query('STOP SLAVE IO_THREAD');
    await pair.primary.query('INSERT INTO io.pay VALUES (3001, 1), (3002, 2)');
    await pair.primary.query('UPDATE io.pay SET amt = 9 WHERE id = 1500');
    await pair.primary.query('DELETE FROM io.pay WHERE id = 7');
    const r = await check({ databases: ['io'], waitMs: 1000 });
    expect(r.status).toBe('different');
    expect(r.counts['missingTransactions']).toBe(3);
    expect(r.findings.find((f) => f.kind === 'missing-gtid')?.message).toMatch(
      /lacks 3 transactions.*did not catch up/,
    );
    expect(r.findings.some((f) => f.kind === 'replication' && /IO No/.test(f.message))).toBe(true);
    expect(rowFindings(r)).toEqual([
      'io.pay id=1500: different on target: amt',
      'io.pay id=3001: missing on target',
      'io.pay id=3002: missing on target',
      'io.pay id=7: extra on target',
    ]);
    await pair.replica.query('START SLAVE IO_THREAD');
    const after = await check({ databases: ['io'], waitMs: 30_000 });
    expect(after.status).toBe('consistent');
  });

  it('compares only the given fields of rows in a time window', async () => {
    await pair.primary.query(`
      CREATE DATABASE win; USE win;
      CREATE TABLE win.acc (id INT PRIMARY KEY, balance DECIMAL(12,2), status VARCHAR(8), memo VARCHAR(20), updated_at DATETIME(6));
      INSERT INTO win.acc SELECT seq, seq, 'ok', 'm', '2026-11-01' + INTERVAL seq HOUR FROM seq_1_to_200;`);
    await waitForReplicaCatchUp(pair);
    await onReplicaOnly(`
      UPDATE win.acc SET balance = 0 WHERE id = 5;      -- before the window
      UPDATE win.acc SET balance = 0 WHERE id = 50;     -- inside
      UPDATE win.acc SET memo = 'x' WHERE id = 60;      -- inside, field not compared
      UPDATE win.acc SET status = 'frozen' WHERE id = 70`);
    const r = await check({
      databases: ['win'],
      column: 'updated_at',
      since: '2026-11-02T00:00:00Z',
      until: '2026-11-05T00:00:00Z',
      fields: ['balance', 'status'],
    });
    expect(rowFindings(r)).toEqual([
      'win.acc id=50: different on target: balance',
      'win.acc id=70: different on target: status',
    ]);
  });

  it('drills big chunks down to the exact keys, for dense integer, sparse integer and case-insensitive string keys', async () => {
    await pair.primary.query(`
      CREATE DATABASE big; USE big;
      CREATE TABLE dense (id INT PRIMARY KEY, v INT);
      INSERT INTO dense SELECT seq, seq FROM seq_1_to_30000;
      CREATE TABLE sparse (id BIGINT PRIMARY KEY, v INT);
      INSERT INTO sparse SELECT seq * 1000003, seq FROM seq_1_to_30000;
      CREATE TABLE strkey (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT);
      INSERT INTO strkey SELECT CONCAT('k', seq), seq FROM seq_1_to_30000;
      ANALYZE TABLE dense, sparse, strkey;`);
    await waitForReplicaCatchUp(pair);
    await onReplicaOnly(`
      DELETE FROM big.dense WHERE id IN (2, 17777); UPDATE big.dense SET v = 0 WHERE id = 29999; INSERT INTO big.dense VALUES (30001, 1);
      DELETE FROM big.sparse WHERE id = 12 * 1000003; UPDATE big.sparse SET v = 0 WHERE id = 25000 * 1000003;
      UPDATE big.strkey SET k = 'K5' WHERE k = 'k5'; UPDATE big.strkey SET v = 0 WHERE k = 'k20000'`);
    const r = await check({ databases: ['big'], chunkTimeMs: 5000 });
    expect(rowFindings(r)).toEqual(
      [
        'big.dense id=17777: missing on target',
        'big.dense id=2: missing on target',
        'big.dense id=29999: different on target: v',
        'big.dense id=30001: extra on target',
        'big.sparse id=12000036: missing on target',
        'big.sparse id=25000075000: different on target: v',
        "big.strkey k='K5': extra on target",
        "big.strkey k='k20000': different on target: v",
        "big.strkey k='k5': missing on target",
      ].sort(),
    );
    expect(r.counts).toMatchObject({ rowsSource: 90000, missing: 4, extra: 2, different: 3 });
  });

  it('reports an errant transaction written on the replica', async () => {
    await pair.primary.query('CREATE DATABASE err; CREATE TABLE err.t (id INT PRIMARY KEY)');
    await waitForReplicaCatchUp(pair);
    await pair.replica.query('INSERT INTO err.t VALUES (42)'); // binlogged with the replica's server_id
    const r = await check({ databases: ['err'] });
    expect(r.counts['errantTransactions']).toBe(1);
    expect(r.findings.find((f) => f.kind === 'errant-gtid')?.message).toMatch(/0-2-\d+/);
    expect(rowFindings(r)).toEqual(['err.t id=42: extra on target']);
  });
});
