/**
 * Benchmark: `drctl reconcile` of a remote-log window against a DR ledger, on a fresh MariaDB
 * started here (log and ledger in two databases of one server).
 *
 *   npm run build && node --import tsx bench/reconcile.bench.ts          # 1,000,000 vs 10,000,000
 *   RECONCILE_BENCH_LOG=100000 RECONCILE_BENCH_LEDGER=1000000 node --import tsx bench/reconcile.bench.ts
 *
 * The ledger holds RECONCILE_BENCH_LEDGER transactions (VARCHAR keys, DECIMAL amounts); the log
 * window holds RECONCILE_BENCH_LOG entries spread over it, of which 1,000 are missing on the
 * ledger and 1,000 carry another amount. drctl runs as a CLI process; wall, CPU and peak RSS
 * from /usr/bin/time. Goal (issue 18): bounded memory whatever the window size.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMariaDb } from '../test/harness/mysql.js';

const LOG = Number(process.env['RECONCILE_BENCH_LOG'] ?? 1_000_000);
const LEDGER = Number(process.env['RECONCILE_BENCH_LEDGER'] ?? 10_000_000);
const ROOT = join(import.meta.dirname, '..');
const MISSING = 1000;
const DIFFERENT = 1000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const db = await startMariaDb({ bufferPool: process.env['RECONCILE_BENCH_BUFFER_POOL'] ?? '1G' });
try {
  console.log(`loading a ${fmt(LEDGER)}-row ledger and a ${fmt(LOG)}-entry log window …`);
  const t0 = performance.now();
  await db.query(`
    SET GLOBAL innodb_flush_log_at_trx_commit = 2;
    CREATE DATABASE bank; CREATE DATABASE bank_log;
    CREATE TABLE bank.ledger (transaction_id VARCHAR(24) NOT NULL PRIMARY KEY, account VARCHAR(16) NOT NULL,
      amount DECIMAL(18,2) NOT NULL, currency CHAR(3) NOT NULL, booked_at DATETIME(3) NOT NULL);
    CREATE TABLE bank_log.remote_log (id BIGINT NOT NULL PRIMARY KEY, account VARCHAR(16) NOT NULL,
      transaction_id VARCHAR(24) NOT NULL, amount DECIMAL(18,2) NOT NULL, currency CHAR(3) NOT NULL,
      transaction_time DATETIME(3) NOT NULL, log_time DATETIME(3) NOT NULL, reconciled_time DATETIME(3) NULL,
      KEY (transaction_id));`);
  const chunk = 1_000_000;
  for (let from = 1; from <= LEDGER; from += chunk) {
    const to = Math.min(LEDGER, from + chunk - 1);
    await db.query(`USE bank; INSERT INTO bank.ledger SELECT CONCAT('T', LPAD(seq, 12, '0')), CONCAT('A', seq % 200003),
      (seq % 1000003) / 100, ELT(seq % 3 + 1, 'EUR', 'USD', 'IDR'), '2026-11-01' + INTERVAL seq * 1000 MICROSECOND
      FROM seq_${from}_to_${to}`);
  }
  // Log entry i is ledger transaction i * step: spread over the whole ledger key range.
  const step = Math.max(1, Math.floor(LEDGER / LOG));
  for (let from = 1; from <= LOG; from += chunk) {
    const to = Math.min(LOG, from + chunk - 1);
    await db.query(`USE bank; INSERT INTO bank_log.remote_log SELECT seq, CONCAT('A', (seq * ${step}) % 200003),
      IF(seq <= ${MISSING}, CONCAT('X', LPAD(seq, 12, '0')), CONCAT('T', LPAD(seq * ${step}, 12, '0'))),
      IF(seq > ${MISSING} AND seq <= ${MISSING + DIFFERENT}, 1, ((seq * ${step}) % 1000003) / 100),
      ELT((seq * ${step}) % 3 + 1, 'EUR', 'USD', 'IDR'), '2026-11-01', '2026-11-01', NULL FROM seq_${from}_to_${to}`);
  }
  const loadMs = performance.now() - t0;
  console.log(`loaded in ${(loadMs / 1000).toFixed(1)} s`);

  const drctl = await execa(
    '/usr/bin/time',
    [
      '-f',
      'TIME %e %U %S %M',
      process.execPath,
      join(ROOT, 'bin', 'drctl.js'),
      'reconcile',
      '--log',
      db.dsn,
      '--log-table',
      'bank_log.remote_log',
      '--ledger',
      db.dsn,
      '--ledger-table',
      'bank.ledger',
      '--currency',
      'currency',
      '--json',
      ...(process.env['RECONCILE_BENCH_BATCH'] ? ['--batch', process.env['RECONCILE_BENCH_BATCH']] : []),
    ],
    { reject: false, cwd: ROOT },
  );
  const time = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(drctl.stderr);
  if (drctl.exitCode !== 1 || !time)
    throw new Error(`drctl exited ${drctl.exitCode}:\n${drctl.stderr}\n${drctl.stdout.slice(0, 2000)}`);
  const doc = JSON.parse(drctl.stdout) as { totals: { scanned: number; missing: number; different: number } };
  if (doc.totals.scanned !== LOG || doc.totals.missing !== MISSING || doc.totals.different !== DIFFERENT)
    throw new Error(`drctl: ${JSON.stringify(doc.totals)}`);
  const [wall, user, sys, rssKb] = time.slice(1).map(Number) as [number, number, number, number];
  console.log('');
  console.log(`log entries ${fmt(LOG)}, ledger rows ${fmt(LEDGER)}, in transit ${fmt(MISSING + DIFFERENT)}`);
  console.log(
    `drctl reconcile: wall ${wall.toFixed(2)} s, CPU ${(user + sys).toFixed(2)} s (user ${user} + sys ${sys}),`,
  );
  console.log(`  ${fmt(LOG / wall)} entries/s, peak RSS ${(rssKb / 1024).toFixed(0)} MB`);
  writeFileSync(
    join(ROOT, 'bench', 'out', 'reconcile.json'),
    JSON.stringify({
      log: LOG,
      ledger: LEDGER,
      loadMs,
      wallS: wall,
      userS: user,
      sysS: sys,
      rssMb: rssKb / 1024,
    }) + '\n',
  );
} finally {
  await db.stop();
}
