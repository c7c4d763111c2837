/**
 * Benchmark: `drctl check mysql` on a bank database against pt-table-checksum and CHECKSUM TABLE,
 * in one run, on a fresh MariaDB primary + GTID replica started here.
 *
 *   npm run build && node --import tsx bench/mysql.bench.ts        # 1,000,000 rows
 *   MYSQL_BENCH_ROWS=10000000 node --import tsx bench/mysql.bench.ts
 *
 * Tables (rows split 10 / 40 / 40 / 10 %): accounts (BIGINT PK, DECIMAL, DATETIME(6), utf8mb4),
 * payments (PK, DECIMAL, status, DATETIME(6)), ledger (composite PK (account_id, seq)),
 * cards (no primary key, only a UNIQUE NOT NULL key). Goals (issue 19): whole process ≤ 0.6x
 * pt-table-checksum and ≤ 3x CHECKSUM TABLE on both sides, at 1M and 10M rows, flat memory.
 * Every tool runs MYSQL_BENCH_RUNS (default 2) alternating rounds; each row records wall time,
 * the tool's CPU (user+sys) and peak RSS (/usr/bin/time), and the CPU the primary's and the
 * replica's mysqld spent meanwhile (/proc/<pid>/stat). MYSQL_BENCH_BASELINE=<dir of another
 * built drctl tree> runs that drctl too in every round (before/after on the same data).
 */
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startMariaDbPair, waitForReplicaCatchUp } from '../test/harness/mysql.js';

const ROWS = Number(process.env['MYSQL_BENCH_ROWS'] ?? 1_000_000);
const ROOT = join(import.meta.dirname, '..');
const TABLES = ['accounts', 'payments', 'ledger', 'cards'];
const RUNS = Number(process.env['MYSQL_BENCH_RUNS'] ?? 2);
const BASELINE = process.env['MYSQL_BENCH_BASELINE'];

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

  /** CPU seconds (user+sys) of one mysqld process, from /proc (clock ticks of 1/100 s). */
  const cpuOf = (pid: number): number => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const serverCpu = (): [number, number] => [cpuOf(pair.primary.pid), cpuOf(pair.replica.pid)];
  /** Runs fn, returning its wall ms and the CPU the primary and the replica spent meanwhile. */
  const measured = async <T>(fn: () => Promise<T>): Promise<[T, number, [number, number]]> => {
    const [p0, r0] = serverCpu();
    const [v, ms] = await timed(fn);
    const [p1, r1] = serverCpu();
    return [v, ms, [p1 - p0, r1 - r0]];
  };
  const loadAvg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadAtStart = loadAvg();
  /** A process under /usr/bin/time: wall, user+sys CPU and peak RSS of the tool itself. */
  const timedProcess = async (cmd: string, args: string[]) => {
    const [r, , srvCpu] = await measured(() =>
      execa('/usr/bin/time', ['-f', 'TIME %e %U %S %M', cmd, ...args], {
        reject: false,
        cwd: ROOT,
        all: true,
      }),
    );
    const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
    if (!m) throw new Error(`${cmd}: no timing line (exit ${r.exitCode}):\n${r.stderr.slice(-2000)}`);
    return {
      r,
      ms: Number(m[1]) * 1000,
      cpu: Number(m[2]) + Number(m[3]),
      rssMb: Number(m[4]) / 1024,
      srvCpu,
    };
  };

  interface Row {
    what: string;
    ms: number;
    cpu: number | undefined;
    /** CPU of the primary and of the replica meanwhile; undefined = not measured. */
    srvCpu: [number, number] | undefined;
    rss: string;
  }
  const rows: Row[] = [];
  const checksumSql = `CHECKSUM TABLE ${TABLES.map((t) => `bank.${t}`).join(', ')}`;

  // pt-table-checksum finds the replica through a DSN table.
  await pair.primary
    .query(`CREATE DATABASE percona; CREATE TABLE percona.dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT, dsn VARCHAR(255) NOT NULL);
    INSERT INTO percona.dsns (dsn) VALUES ('h=127.0.0.1,P=${pair.replica.port},u=root')`);
  await waitForReplicaCatchUp(pair);

  const drctlArgs = [
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
    ...(process.env['MYSQL_BENCH_THREADS'] ? ['--threads', process.env['MYSQL_BENCH_THREADS']] : []),
  ];
  const ptArgs = [
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
  ];

  let doc:
    | {
        durationMs: number;
        status: string;
        counts: Record<string, number>;
        evidence: { tables: { table: string; ms: number; chunks: number }[] };
      }
    | undefined;
  const best = { checksum: Infinity, drctl: Infinity, pt: Infinity };
  /** Least CPU of each tool over the rounds: its own process plus both servers (load-independent). */
  const bestCpu = { checksum: Infinity, drctl: Infinity, pt: Infinity };
  const totalCpu = (tool: number | undefined, srv: [number, number]) => (tool ?? 0) + srv[0] + srv[1];
  // Alternating rounds, so that load from other work on the host falls on every tool alike.
  for (let round = 1; round <= RUNS; round++) {
    // 1. CHECKSUM TABLE on both sides at once.
    const [, checksumMs, checksumSrv] = await measured(() =>
      Promise.all([pair.primary.query(checksumSql), pair.replica.query(checksumSql)]),
    );
    rows.push({
      what: `[${round}] CHECKSUM TABLE, both sides at once (no row location)`,
      ms: checksumMs,
      cpu: undefined,
      srvCpu: checksumSrv,
      rss: '-',
    });
    best.checksum = Math.min(best.checksum, checksumMs);
    bestCpu.checksum = Math.min(bestCpu.checksum, totalCpu(undefined, checksumSrv));

    // 2. drctl check mysql, as a CLI process.
    const d = await timedProcess(process.execPath, drctlArgs);
    if (d.r.exitCode !== 0)
      throw new Error(`drctl exited ${d.r.exitCode}:\n${d.r.stderr}\n${d.r.stdout.slice(0, 2000)}`);
    doc = JSON.parse(d.r.stdout) as NonNullable<typeof doc>;
    if (doc.status !== 'consistent' || doc.counts['rowsSource'] !== ROWS)
      throw new Error(`drctl: ${doc.status}, ${doc.counts['rowsSource']} rows`);
    rows.push({
      what: `[${round}] drctl check mysql (GTID + schema + every row, located)`,
      ms: d.ms,
      cpu: d.cpu,
      srvCpu: d.srvCpu,
      rss: `${d.rssMb.toFixed(0)} MB`,
    });
    rows.push({
      what: '      of which the check itself (start-up excluded)',
      ms: doc.durationMs,
      cpu: undefined,
      srvCpu: undefined,
      rss: '-',
    });
    best.drctl = Math.min(best.drctl, d.ms);
    if (BASELINE) {
      const args = [join(BASELINE, 'bin', 'drctl.js'), ...drctlArgs.slice(1)];
      const b = await timedProcess(process.execPath, args);
      rows.push({
        what: `[${round}] drctl, baseline build (${BASELINE})`.slice(0, 62),
        ms: b.ms,
        cpu: b.cpu,
        srvCpu: b.srvCpu,
        rss: `${b.rssMb.toFixed(0)} MB`,
      });
    }
    bestCpu.drctl = Math.min(bestCpu.drctl, totalCpu(d.cpu, d.srvCpu));

    // 3. pt-table-checksum (exits non-zero for warnings too; it must have checksummed every table).
    const p = await timedProcess('pt-table-checksum', ptArgs);
    const ptOk = TABLES.every((t) => new RegExp(`bank\\.${t}`).test(p.r.all ?? ''));
    if (!ptOk) console.log(`pt-table-checksum output:\n${p.r.all ?? ''}`);
    rows.push({
      what: `[${round}] pt-table-checksum${ptOk ? '' : ' (FAILED, see output)'} (exit ${p.r.exitCode})`,
      ms: p.ms,
      cpu: p.cpu,
      srvCpu: p.srvCpu,
      rss: `${p.rssMb.toFixed(0)} MB`,
    });
    best.pt = Math.min(best.pt, p.ms);
    bestCpu.pt = Math.min(bestCpu.pt, totalCpu(p.cpu, p.srvCpu));
  }

  console.log(
    `\nMariaDB ${((await pair.primary.query('SELECT VERSION() v')) as { v: string }[])[0]?.v ?? ''}, ${fmt(ROWS)} rows, ${cpus().length} cores shared by both servers and the tool; load avg at the start ${loadAtStart}, at the end ${loadAvg()}\n`,
  );
  console.log(
    `${'tool'.padEnd(62)} ${'wall s'.padStart(7)} ${'rows/s'.padStart(11)} ${'CPU s'.padStart(6)} ${'primary CPU s'.padStart(13)} ${'replica CPU s'.padStart(13)} ${'peak RSS'.padStart(9)}`,
  );
  for (const r of rows)
    console.log(
      `${r.what.padEnd(62)} ${(r.ms / 1000).toFixed(2).padStart(7)} ${fmt(ROWS / (r.ms / 1000)).padStart(11)} ${(r.cpu === undefined ? '-' : r.cpu.toFixed(2)).padStart(6)} ${(r.srvCpu ? r.srvCpu[0].toFixed(2) : '-').padStart(13)} ${(r.srvCpu ? r.srvCpu[1].toFixed(2) : '-').padStart(13)} ${r.rss.padStart(9)}`,
    );
  console.log(
    `\ndrctl per table (last run): ${doc!.evidence.tables.map((t) => `${t.table} ${(t.ms / 1000).toFixed(2)} s / ${t.chunks} chunks`).join('; ')}`,
  );
  console.log(
    `best of ${RUNS}: drctl / pt-table-checksum = ${(best.drctl / best.pt).toFixed(2)} (goal <= 0.6)`,
  );
  console.log(
    `best of ${RUNS}: drctl / CHECKSUM TABLE both sides = ${(best.drctl / best.checksum).toFixed(2)} (goal <= 3)`,
  );
  console.log(
    `least CPU of ${RUNS} (tool + both mysqld): drctl ${bestCpu.drctl.toFixed(2)} s, pt-table-checksum ${bestCpu.pt.toFixed(2)} s (${(bestCpu.drctl / bestCpu.pt).toFixed(2)}x), CHECKSUM TABLE ${bestCpu.checksum.toFixed(2)} s (${(bestCpu.drctl / bestCpu.checksum).toFixed(2)}x)`,
  );
  writeFileSync(
    join(pair.dir, 'result.json'),
    JSON.stringify({ rows: ROWS, best, bestCpu, table: rows }) + '\n',
  );
} finally {
  await pair.stop();
}
