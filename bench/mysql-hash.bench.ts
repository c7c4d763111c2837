/**
 * Benchmark: the cost of `--hash sha256` against the default fast hash, on a fresh MariaDB
 * primary + GTID replica (rows only: no GTID, no schema), same data, alternating runs.
 *
 *   node --import tsx bench/mysql-hash.bench.ts                 # 1,000,000 rows
 *   MYSQL_BENCH_ROWS=200000 MYSQL_BENCH_RUNS=3 node --import tsx bench/mysql-hash.bench.ts
 */
import { runMysqlCheck } from '../checkers/mysql/checker.js';
import { mysqlOptionsSchema } from '../checkers/mysql/options.js';
import { startMariaDbPair, waitForReplicaCatchUp } from '../test/harness/mysql.js';

const ROWS = Number(process.env['MYSQL_BENCH_ROWS'] ?? 1_000_000);
const RUNS = Number(process.env['MYSQL_BENCH_RUNS'] ?? 2);

const pair = await startMariaDbPair({ bufferPool: process.env['MYSQL_BENCH_BUFFER_POOL'] ?? '512M' });
try {
  await pair.primary.query(`
    CREATE DATABASE bank; USE bank;
    CREATE TABLE accounts (id BIGINT PRIMARY KEY, holder VARCHAR(64) NOT NULL, balance DECIMAL(18,2) NOT NULL,
      currency CHAR(3) NOT NULL, opened_at DATETIME(6) NOT NULL, rate DOUBLE NOT NULL, note TEXT NULL);
    INSERT INTO accounts SELECT seq, CONCAT('holder ', seq, ' Ünïcödé'), seq * 3.17, 'IDR',
      '2020-01-01' + INTERVAL seq SECOND, seq / 7, IF(seq % 10 = 0, NULL, 'vip') FROM seq_1_to_${ROWS};`);
  await waitForReplicaCatchUp(pair, 900);
  const times: Record<string, number[]> = { fast: [], sha256: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const hash of ['fast', 'sha256'] as const) {
      const options = mysqlOptionsSchema.parse({ databases: ['bank'], gtid: false, schema: false, hash });
      const t0 = performance.now();
      const r = await runMysqlCheck(
        { kind: 'mysql', source: pair.primary.dsn, target: pair.replica.dsn },
        options,
        {
          signal: new AbortController().signal,
          progress: () => undefined,
        },
      );
      const ms = performance.now() - t0;
      if (r.status !== 'consistent') throw new Error(`${hash}: ${r.summary}`);
      times[hash]!.push(ms);
      console.log(
        `${hash.padEnd(6)} run ${i + 1}: ${(ms / 1000).toFixed(2)} s, ${Math.round(ROWS / (ms / 1000)).toLocaleString('en-US')} rows/s`,
      );
    }
  }
  const best = (xs: number[]) => Math.min(...xs);
  console.log(
    `${ROWS.toLocaleString('en-US')} rows: fast best ${(best(times['fast']!) / 1000).toFixed(2)} s, sha256 best ${(best(times['sha256']!) / 1000).toFixed(2)} s, ratio ${(best(times['sha256']!) / best(times['fast']!)).toFixed(2)}x`,
  );
} finally {
  await pair.stop();
}
