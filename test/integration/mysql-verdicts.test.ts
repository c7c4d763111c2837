import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMysqlCheck } from '../../checkers/mysql/checker.js';
import { mysqlOptionsSchema, type MysqlOptionsInput } from '../../checkers/mysql/options.js';
import type { CheckResult } from '../../checkers/types.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';

/**
 * The false "consistent" verdicts of issue 11 (items 1–6), each planted on a real MariaDB
 * primary/replica pair: the data differs, so the verdict must be `different` naming the object.
 */
let pair: MariaDbPair;

async function check(opts: MysqlOptionsInput): Promise<CheckResult> {
  const options = mysqlOptionsSchema.parse({ waitMs: 5000, chunkTimeMs: 50, ...opts });
  return runMysqlCheck({ kind: 'mysql', source: pair.primary.dsn, target: pair.replica.dsn }, options, {
    signal: new AbortController().signal,
    progress: () => undefined,
  });
}

async function onReplicaOnly(sql: string): Promise<void> {
  await pair.replica.query(
    `SET SESSION sql_log_bin = 0; ${sql.trim().replace(/;$/, '')}; SET SESSION sql_log_bin = 1`,
  );
}

function found(r: CheckResult): string[] {
  return r.findings
    .filter((f) => f.severity !== 'warning')
    .map((f) => `${f.object} ${f.message}`)
    .sort();
}

beforeAll(async () => {
  pair = await startMariaDbPair();
  await pair.primary.query(`
    CREATE DATABASE keys1; USE keys1;
    CREATE TABLE keys1.lat (k VARCHAR(20) CHARACTER SET latin1 NOT NULL PRIMARY KEY, v INT);
    INSERT INTO keys1.lat SELECT CONCAT(_latin1 X'E9', seq), seq FROM seq_1_to_3000;
    CREATE TABLE keys1.u16 (k VARCHAR(20) CHARACTER SET utf16 NOT NULL PRIMARY KEY, v INT);
    INSERT INTO keys1.u16 SELECT CONCAT('ü€', seq), seq FROM seq_1_to_3000;
    CREATE TABLE keys1.ucs (k CHAR(20) CHARACTER SET ucs2 NOT NULL PRIMARY KEY, v INT);
    INSERT INTO keys1.ucs SELECT CONCAT('Ωk', seq), seq FROM seq_1_to_3000;
    CREATE TABLE keys1.uu (k UUID NOT NULL PRIMARY KEY, v INT);
    INSERT INTO keys1.uu SELECT CONCAT(LPAD(HEX(seq), 8, '0'), '-1234-5678-9abc-def012345678'), seq FROM seq_1_to_3000;
    CREATE TABLE keys1.en (k ENUM('zeta', 'alpha', 'mid') NOT NULL PRIMARY KEY, v INT);
    INSERT INTO keys1.en VALUES ('zeta', 1), ('alpha', 2), ('mid', 3);
    CREATE TABLE keys1.bt (k BIT(12) NOT NULL PRIMARY KEY, v INT);
    INSERT INTO keys1.bt SELECT seq, seq FROM seq_1_to_3000;

    CREATE DATABASE fl;
    CREATE TABLE fl.t (id INT PRIMARY KEY, f FLOAT, d DOUBLE);
    INSERT INTO fl.t VALUES (1, 1234567, 1), (2, 1, 0.1);

    CREATE DATABASE big;
    CREATE TABLE big.t (id INT PRIMARY KEY, body LONGTEXT, img LONGBLOB, status VARCHAR(10));
    INSERT INTO big.t VALUES (1, REPEAT('a', 9000000), REPEAT(X'00FF', 4500000), 'open'), (2, 'x', 'y', 'open');

    CREATE DATABASE ver;
    CREATE TABLE ver.acc (id INT PRIMARY KEY, bal INT) WITH SYSTEM VERSIONING;
    INSERT INTO ver.acc VALUES (1, 100), (2, 200);
    CREATE TABLE ver.gone (id INT PRIMARY KEY) WITH SYSTEM VERSIONING;
    CREATE SEQUENCE ver.seq START WITH 1000;
    SELECT NEXTVAL(ver.seq);

    CREATE DATABASE sch;
    CREATE TABLE sch.parent (id INT PRIMARY KEY);
    CREATE TABLE sch.child (id INT PRIMARY KEY, pid INT, amount INT,
      CONSTRAINT fk_parent FOREIGN KEY (pid) REFERENCES sch.parent (id),
      CONSTRAINT amount_pos CHECK (amount > 0));
    CREATE TABLE sch.part (id INT PRIMARY KEY) PARTITION BY HASH (id) PARTITIONS 4;
    CREATE EVENT sch.ev ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM sch.parent WHERE id < 0;

    CREATE DATABASE more;
    CREATE TABLE more.inv (id INT PRIMARY KEY, v INT, secret INT INVISIBLE);
    INSERT INTO more.inv (id, v, secret) VALUES (1, 1, 10), (2, 2, 20);
    CREATE TABLE more.nk (a INT NULL, b VARCHAR(5), UNIQUE KEY (a));
    INSERT INTO more.nk VALUES (1, 'x'), (NULL, 'y'), (NULL, 'y');
    CREATE TABLE more.pre (t TEXT NOT NULL, v INT, PRIMARY KEY (t(10)));
    INSERT INTO more.pre VALUES ('aaaaaaaaaa-1', 1), ('bbbbbbbbbb-2', 2);
    CREATE TABLE more.gen (id INT PRIMARY KEY, a INT, twice INT AS (a * 2) PERSISTENT);
    INSERT INTO more.gen (id, a) VALUES (1, 1);

    CREATE DATABASE forge;
    CREATE TABLE forge.t (id INT PRIMARY KEY, v VARBINARY(16) NOT NULL);
    INSERT INTO forge.t VALUES (1, X'000102030405060708090a0b0c0d0e0f');

    CREATE DATABASE win;
    CREATE TABLE win.t (id INT PRIMARY KEY, at DATETIME(6), v INT);
    INSERT INTO win.t VALUES (1, '2026-01-01 10:00:00.000100', 1), (2, '2026-01-01 10:00:00.000500', 2),
                             (3, '2026-01-01 10:00:00.000900', 3);
  `);
  await waitForReplicaCatchUp(pair);
}, 120_000);

afterAll(async () => {
  await pair?.stop();
});

describe('issue 11: no false consistent on MariaDB', () => {
  it('passes the untouched pair (the twin of every case below)', async () => {
    const r = await check({ databases: ['keys1', 'fl', 'big', 'ver', 'sch', 'win', 'more'] });
    expect(found(r)).toEqual([]);
    expect(r.status).toBe('consistent');
  });

  it('1. locates latin1, utf16, ucs2, UUID, ENUM and BIT keys exactly, and terminates', async () => {
    await onReplicaOnly(`
      UPDATE keys1.lat SET v = -1 WHERE k = CONCAT(_latin1 X'E9', 1500);
      DELETE FROM keys1.lat WHERE k = CONCAT(_latin1 X'E9', 2999);
      UPDATE keys1.u16 SET v = -1 WHERE k = 'ü€1500';
      DELETE FROM keys1.ucs WHERE k = 'Ωk77';
      UPDATE keys1.uu SET v = -1 WHERE v = 2000;
      UPDATE keys1.en SET v = -1 WHERE k = 'mid';
      DELETE FROM keys1.bt WHERE k = 1234`);
    const r = await check({ databases: ['keys1'], gtid: false });
    expect(r.status).toBe('different');
    expect(found(r)).toEqual(
      [
        "keys1.lat k='é1500': different on target: v",
        "keys1.lat k='é2999': missing on target",
        "keys1.u16 k='ü€1500': different on target: v",
        "keys1.ucs k='Ωk77': missing on target",
        'keys1.uu k=000007d0-1234-5678-9abc-def012345678: different on target: v',
        'keys1.en k=#3: different on target: v',
        'keys1.bt k=1234: missing on target',
      ].sort(),
    );
  }, 60_000);

  it('2. hashes FLOAT exactly (1234567 vs 1234568) and DOUBLE to the last bit', async () => {
    await onReplicaOnly(`UPDATE fl.t SET f = 1234568 WHERE id = 1;
      UPDATE fl.t SET d = 0.30000000000000004 - 0.2 WHERE id = 2`);
    const r = await check({ databases: ['fl'], gtid: false });
    expect(found(r)).toEqual(['fl.t id=1: different on target: f', 'fl.t id=2: different on target: d']);
  });

  it('3. compares rows bigger than max_allowed_packet (no NULL row hash)', async () => {
    await onReplicaOnly(`UPDATE big.t SET status = 'closed' WHERE id = 1`);
    const r = await check({ databases: ['big'], gtid: false });
    expect(found(r)).toEqual(['big.t id=1: different on target: status']);
  }, 60_000);

  it('a value the server cannot build (a row over a lowered max_allowed_packet) is never consistent', async () => {
    // CAST(v AS BINARY) of a 30,000-byte value gives NULL with max_allowed_packet = 16 KiB; the
    // row text used to skip it (CONCAT_WS), so 'xxx…' and 'yyy…' hashed the same: exit 0.
    await pair.primary.query(`
      CREATE DATABASE wide;
      CREATE TABLE wide.t (id INT PRIMARY KEY, v VARCHAR(30000) NOT NULL, n VARCHAR(30000) NULL) CHARACTER SET latin1;
      INSERT INTO wide.t VALUES (1, REPEAT('x', 30000), REPEAT('x', 30000)), (2, 'short', NULL);`);
    await waitForReplicaCatchUp(pair);
    await onReplicaOnly(`UPDATE wide.t SET v = REPEAT('y', 30000), n = REPEAT('y', 30000) WHERE id = 1`);
    const packets = await Promise.all(
      [pair.primary, pair.replica].map(async (s) => {
        const [row] = (await s.query('SELECT @@GLOBAL.max_allowed_packet AS p')) as { p: number }[];
        await s.query('SET GLOBAL max_allowed_packet = 16384');
        return row!.p;
      }),
    );
    try {
      const r = await check({ databases: ['wide'], gtid: false });
      expect(r.status, JSON.stringify(r.findings)).toBe('unverified');
      expect(r.ok).toBe(false);
      expect(found(r)).toEqual([
        'wide.t rows not compared: 1 row(s) on the source could not be hashed (row text beyond max_allowed_packet)',
      ]);
    } finally {
      await pair.primary.query(`SET GLOBAL max_allowed_packet = ${packets[0]}`);
      await pair.replica.query(`SET GLOBAL max_allowed_packet = ${packets[1]}`);
    }
  }, 60_000);

  it('4. reads system-versioned tables and sequences', async () => {
    await onReplicaOnly(`
      SET STATEMENT system_versioning_alter_history = KEEP FOR UPDATE ver.acc SET bal = 0 WHERE id = 2;
      DROP TABLE ver.gone;
      ALTER SEQUENCE ver.seq RESTART WITH 1`);
    const r = await check({ databases: ['ver'], gtid: false });
    const f = found(r);
    expect(f).toContain('ver.acc id=2: different on target: bal');
    expect(f).toContain('ver.gone table missing on target');
    expect(f.some((x) => x.startsWith('ver.seq '))).toBe(true);
    expect(r.status).toBe('different');
  });

  it('5. compares foreign keys, CHECK constraints, partitioning and events', async () => {
    await onReplicaOnly(`
      ALTER TABLE sch.child DROP FOREIGN KEY fk_parent;
      ALTER TABLE sch.child DROP CONSTRAINT amount_pos;
      ALTER TABLE sch.part REMOVE PARTITIONING;
      DROP EVENT sch.ev`);
    const r = await check({ databases: ['sch'], gtid: false });
    const f = found(r).join('\n');
    expect(f).toMatch(/sch\.child .*foreign key fk_parent/);
    expect(f).toMatch(/sch\.child .*check constraint amount_pos/);
    expect(f).toMatch(/sch\.part .*partition/);
    expect(f).toMatch(/sch\.ev .*event ev/);
    expect(r.status).toBe('different');
  });

  it('beyond the list: invisible columns, nullable-unique and prefix keys, duplicate rows', async () => {
    await onReplicaOnly(`
      UPDATE more.inv SET secret = 11 WHERE id = 1;
      DELETE FROM more.nk WHERE a IS NULL LIMIT 1;
      UPDATE more.pre SET v = 3 WHERE v = 2`);
    const r = await check({ databases: ['more'], gtid: false });
    const f = found(r);
    expect(f).toContain('more.inv id=1: different on target: secret');
    expect(f.some((x) => x.startsWith('more.nk table contents differ'))).toBe(true);
    expect(f.some((x) => x.startsWith('more.pre table contents differ'))).toBe(true);
    expect(f.filter((x) => x.startsWith('more.gen'))).toEqual([]);
  });

  it('7. the default hash is not proof against a crafted change; --hash sha256 is', async () => {
    // The row text is '1#<v>#16'. CRC32 and CRC32C are affine over GF(2): find a non-zero XOR
    // mask on v's 128 bits that changes neither (64 linear equations, 128 unknowns).
    const v = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const text = (x: Buffer) => Buffer.concat([Buffer.from('1#'), x, Buffer.from('#16')]);
    const both = (x: Buffer) => (BigInt(crc(x, 0xedb88320)) << 32n) | BigInt(crc(x, 0x82f63b78));
    const base = both(text(v));
    const columns = Array.from({ length: 128 }, (_, bit) => {
      const w = Buffer.from(v);
      w[bit >> 3]! ^= 1 << (bit & 7);
      return both(text(w)) ^ base;
    });
    const mask = kernelVector(columns);
    const forged = Buffer.from(v.map((b, i) => b ^ mask[i]!));
    expect(forged.equals(v)).toBe(false);
    expect(both(text(forged))).toBe(base);
    await onReplicaOnly(`UPDATE forge.t SET v = X'${forged.toString('hex')}' WHERE id = 1`);
    const fast = await check({ databases: ['forge'], gtid: false });
    expect(fast.status).toBe('consistent'); // the documented limit of the fast hash
    const sha = await check({ databases: ['forge'], gtid: false, hash: 'sha256' });
    expect(found(sha)).toEqual(['forge.t id=1: different on target: v']);
  });

  it('6. keeps microseconds in --since/--until and says when a window compared 0 rows', async () => {
    await onReplicaOnly(`UPDATE win.t SET v = -2 WHERE id = 2`);
    const r = await check({
      databases: ['win'],
      gtid: false,
      column: 'at',
      since: '2026-01-01T10:00:00.0004Z',
      until: '2026-01-01T10:00:00.0006Z',
    });
    expect(found(r)).toEqual(['win.t id=2: different on target: v']);
    expect(r.counts['rowsSource']).toBe(1);
    const empty = await check({
      databases: ['win'],
      gtid: false,
      column: 'at',
      since: '2026-01-01T10:00:00.000901Z',
      until: '2026-01-01T10:00:01Z',
    });
    expect(empty.counts['rowsSource']).toBe(0);
    expect(empty.findings.some((x) => x.kind === 'empty-window' && /0 rows/.test(x.message))).toBe(true);
  });
});

/** Reflected CRC-32 with the given polynomial (0xedb88320: CRC32, 0x82f63b78: CRC32C). */
function crc(buf: Buffer, poly: number): number {
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A non-zero 16-byte mask whose bits select columns (64-bit values) that XOR to zero. */
function kernelVector(columns: bigint[]): Buffer {
  // Gaussian elimination over GF(2), tracking which original columns make up each row.
  const rows = columns.map((value, i) => ({ value, combo: 1n << BigInt(i) }));
  const pivots: typeof rows = [];
  for (const r of rows) {
    let { value, combo } = r;
    for (const p of pivots) {
      const top = 1n << BigInt(p.value.toString(2).length - 1);
      if (value & top) {
        value ^= p.value;
        combo ^= p.combo;
      }
    }
    if (value === 0n) {
      const mask = Buffer.alloc(16);
      for (let bit = 0; bit < 128; bit++) if ((combo >> BigInt(bit)) & 1n) mask[bit >> 3]! |= 1 << (bit & 7);
      return mask;
    }
    pivots.push({ value, combo });
    pivots.sort((a, b) => (a.value > b.value ? -1 : 1));
  }
  throw new Error('no kernel vector (impossible: 128 columns in a 64-dimensional space)');
}
