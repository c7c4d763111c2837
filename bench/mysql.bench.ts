/**
 * Benchmark: `drctl check mysql` on a bank database against pt-table-checksum and CHECKSUM TABLE,
 * in one run, on a fresh MariaDB primary + GTID replica started here.
 *
 *   npm run build && node --import tsx bench/mysql.bench.ts        # 1,000,000 rows
 *   MYSQL_BENCH_ROWS=10000000 node --import tsx bench/mysql.bench.ts
 *
 * Tables (rows split 10 / 40 / 40 / 10 %): accounts (BIGINT PK, DECIMAL, DATETIME(6), utf8mb4),
 * payments (PK, DECIMAL, status, DATETIME(6)), ledger (composite PK (account_id, seq)),
 * cards (no primary key, only a UNIQUE NOT NULL key). Goals (issue 4): faster than
 * pt-table-checksum, within 3x of CHECKSUM TABLE on both sides, drctl peak RSS < 200 MB.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMariaDbPair, waitForReplicaCatchUp } from '../test/harness/mysql.js';

const ROWS = Number(process.env['MYSQL_BENCH_ROWS'] ?? 1_000_000);
const ROOT = join(import.meta.dirname, '..');
const TABLES = ['accounts', 'payments', 'ledger', 'cards'];

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}

const pair = await startMariaDbPair({ bufferPool: process.env['MYSQL_BENCH_BUFFER_POOL'] ?? '1G' });
try {
  const a = Math.round(ROWS * 0.1);
  const p = Math.round(ROWS * 0.4);
  const l = Math.round(ROWS * 0.4);
  const c = ROWS - a - p - l;
  console.log(
    `loading ${fmt(ROWS)} rows (accounts ${fmt(a)}, payments ${fmt(p)}, ledger ${fmt(l)}, cards ${fmt(c)}) …`,
  );
  const [, loadMs] = await timed(async () => {
    await pair.primary.query(`
      CREATE DATABASE bank; USE bank;
      CREATE TABLE accounts (id BIGINT PRIMARY KEY, holder VARCHAR(64) NOT NULL, balance DECIMAL(18,2) NOT NULL,
        currency CHAR(3) NOT NULL, opened_at DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL, note TEXT NULL);
      CREATE TABLE payments (id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, amount DECIMAL(18,2) NOT NULL,
        status VARCHAR(12) NOT NULL, created_at DATETIME(6) NOT NULL, ref VARBINARY(16) NOT NULL, KEY (account_id));
      CREATE TABLE ledger (account_id BIGINT NOT NULL, seq INT NOT NULL, delta DECIMAL(18,2) NOT NULL,
        balance_after DECIMAL(18,2) NOT NULL, posted_at DATETIME(6) NOT NULL, PRIMARY KEY (account_id, seq));
      CREATE TABLE cards (card_no CHAR(16) NOT NULL, account_id BIGINT NOT NULL, expires DATE NOT NULL,
        status VARCHAR(8) NOT NULL, UNIQUE KEY (card_no));
      INSERT INTO accounts SELECT seq, CONCAT('holder ', seq, ' Ünïcödé'), seq * 3.17, 'IDR',
        '2020-01-01' + INTERVAL seq SECOND, '2026-11-01' + INTERVAL seq * 1001 MICROSECOND, IF(seq % 10 = 0, NULL, 'vip')
        FROM seq_1_to_${a};
      INSERT INTO payments SELECT seq, seq % ${a} + 1, (seq % 100000) / 7, ELT(seq % 3 + 1, 'settled', 'pending', 'failed'),
        '2026-11-01' + INTERVAL seq * 37 MICROSECOND, UNHEX(MD5(seq)) FROM seq_1_to_${p};
      INSERT INTO ledger SELECT seq DIV 8 + 1, seq % 8, (seq % 997) - 400.5, seq * 1.01, '2026-11-01' + INTERVAL seq MICROSECOND
        FROM seq_0_to_${l - 1};
      INSERT INTO cards SELECT LPAD(seq * 7919, 16, '4'), seq, '2030-01-01' - INTERVAL seq % 1000 DAY, 'active'
        FROM seq_1_to_${c};`);
    await waitForReplicaCatchUp(pair, 600);
  });
  console.log(`loaded and replicated in ${(loadMs / 1000).toFixed(1)} s`);
  await Promise.all([
    pair.primary.query('ANALYZE LOCAL TABLE bank.accounts, bank.payments, bank.ledger, bank.cards'),
    pair.replica.query('ANALYZE LOCAL TABLE bank.accounts, bank.payments, bank.ledger, bank.cards'), // LOCAL: no errant GTID
  ]);

  // Warm both buffer pools the same way for every tool.
  await Promise.all([
    pair.primary.query(`CHECKSUM TABLE ${TABLES.map((t) => `bank.${t}`).join(', ')}`),
    pair.replica.query(`CHECKSUM TABLE ${TABLES.map((t) => `bank.${t}`).join(', ')}`),
  ]);

  const rows: [string, number, string][] = [];

  // 1. CHECKSUM TABLE on both sides at once.
  const [, checksumMs] = await timed(() =>
    Promise.all([
      pair.primary.query(`CHECKSUM TABLE ${TABLES.map((t) => `bank.${t}`).join(', ')}`),
      pair.replica.query(`CHECKSUM TABLE ${TABLES.map((t) => `bank.${t}`).join(', ')}`),
    ]),
  );
  rows.push(['CHECKSUM TABLE, both sides in parallel (no row location)', checksumMs, '-']);

  // 2. drctl check mysql, as a CLI process; peak RSS from /usr/bin/time.
  const drctl = await execa(
    '/usr/bin/time',
    [
      '-f',
      'TIME %e %M',
      process.execPath,
      join(ROOT, 'bin', 'drctl.js'),
      'check',
      'mysql',
      '--source',
      pair.primary.dsn,
      '--target',
      pair.replica.dsn,
      '--databases',
      'bank',
      '--json',
      '--threads',
      process.env['MYSQL_BENCH_THREADS'] ?? '2',
    ],
    { reject: false, cwd: ROOT },
  );
  const timeLine = /TIME ([\d.]+) (\d+)/.exec(drctl.stderr);
  if (drctl.exitCode !== 0 || !timeLine)
    throw new Error(`drctl exited ${drctl.exitCode}:\n${drctl.stderr}\n${drctl.stdout.slice(0, 2000)}`);
  const drctlMs = Number(timeLine[1]) * 1000;
  const rssMb = Number(timeLine[2]) / 1024;
  const doc = JSON.parse(drctl.stdout) as {
    durationMs: number;
    status: string;
    counts: Record<string, number>;
    evidence: { tables: { table: string; ms: number; chunks: number }[] };
  };
  if (doc.status !== 'consistent' || doc.counts['rowsSource'] !== ROWS)
    throw new Error(`drctl: ${doc.status}, ${doc.counts['rowsSource']} rows`);
  rows.push(['drctl check mysql (GTID + schema + every row, located)', drctlMs, `${rssMb.toFixed(0)} MB`]);
  rows.push(['  of which the check itself (CLI start-up excluded)', doc.durationMs, '-']);

  // 3. pt-table-checksum, replica found through a DSN table.
  await pair.primary
    .query(`CREATE DATABASE percona; CREATE TABLE percona.dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT, dsn VARCHAR(255) NOT NULL);
    INSERT INTO percona.dsns (dsn) VALUES ('h=127.0.0.1,P=${pair.replica.port},u=root')`);
  await waitForReplicaCatchUp(pair);
  const [pt, ptMs] = await timed(() =>
    execa(
      'pt-table-checksum',
      [
        `h=127.0.0.1,P=${pair.primary.port},u=root`,
        '--databases',
        'bank',
        '--replicate',
        'percona.checksums',
        `--recursion-method=dsn=h=127.0.0.1,P=${pair.primary.port},u=root,D=percona,t=dsns`,
        '--no-check-binlog-format',
        '--no-check-replication-filters',
        '--chunk-time',
        '0.5',
      ],
      { reject: false, all: true },
    ),
  );
  // pt-table-checksum exits non-zero for warnings too; it must at least have checksummed every table.
  const ptOk = TABLES.every((t) => new RegExp(`bank\\.${t}`).test(pt.all ?? ''));
  if (!ptOk) console.log(`pt-table-checksum output:\n${pt.all ?? ''}`);
  rows.push([`pt-table-checksum${ptOk ? '' : ' (FAILED, see output)'} (exit ${pt.exitCode})`, ptMs, '-']);

  console.log(
    `\nMariaDB ${((await pair.primary.query('SELECT VERSION() v')) as { v: string }[])[0]?.v ?? ''}, ${fmt(ROWS)} rows, 2 cores shared by both servers and the tool\n`,
  );
  console.log(
    `${'tool'.padEnd(58)} ${'wall s'.padStart(8)} ${'rows/s'.padStart(12)} ${'peak RSS'.padStart(9)}`,
  );
  for (const [what, ms, rss] of rows)
    console.log(
      `${what.padEnd(58)} ${(ms / 1000).toFixed(2).padStart(8)} ${fmt(ROWS / (ms / 1000)).padStart(12)} ${rss.padStart(9)}`,
    );
  console.log(
    `\ndrctl per table: ${doc.evidence.tables.map((t) => `${t.table} ${(t.ms / 1000).toFixed(2)} s / ${t.chunks} chunks`).join('; ')}`,
  );
  console.log(`drctl vs pt-table-checksum: ${(ptMs / drctlMs).toFixed(2)}x faster (goal > 1)`);
  console.log(
    `drctl vs CHECKSUM TABLE: ${(drctlMs / checksumMs).toFixed(2)}x its time as a process, ${(doc.durationMs / checksumMs).toFixed(2)}x for the check itself (goal <= 3)`,
  );
  console.log(`drctl peak RSS: ${rssMb.toFixed(0)} MB (goal < 200)`);
  writeFileSync(
    join(pair.dir, 'result.json'),
    JSON.stringify({ rows: ROWS, drctlMs, ptMs, checksumMs, rssMb }) + '\n',
  );
} finally {
  await pair.stop();
}
