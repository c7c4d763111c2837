/**
 * `drctl preflight` at the id-bank's scale: `npm run bench -- preflight` (after `npm run build`).
 * The id-bank example has 27 MySQL clusters and 184 gated databases; its hosts are real DNS
 * names, so this bench writes the same shape (27 `kind: mysql` resources of concurrency 3, one
 * GTID gate per cluster, one schema+rows gate per database, the id-bank templates' fields) with
 * every cluster pointing at one of PREFLIGHT_BENCH_PAIRS loopback MariaDB primary+replica pairs
 * (default 3), the 184 schemas spread over them. It runs the built CLI under /usr/bin/time and
 * prints wall time, peak RSS and the verdict; then again with one cluster pointing at a port that
 * accepts and never answers (every probe of it ends at --timeout, the rest go on).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../test/harness/mysql.js';
import { makeTempDir, removeDir } from '../test/harness/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = process.env.DRCTL_BENCH_BIN ?? join(ROOT, 'bin/drctl.js');
const PAIRS = Number(process.env.PREFLIGHT_BENCH_PAIRS ?? 3);
const CLUSTERS = 27;
const DATABASES = 184;
const PW = 'bench-check-pw';

async function timed(args: string[]): Promise<{ wallMs: number; rssKb: number; code: number; out: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-v', process.execPath, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => {
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      resolve({ wallMs: performance.now() - t0, rssKb: Number(rss?.[1] ?? 0), code: code ?? -1, out });
    });
  });
}

const pairs: MariaDbPair[] = [];
const dir = makeTempDir('preflight-bench');
const sockets: Socket[] = [];
const silent = createServer((s) => sockets.push(s));
try {
  for (let i = 0; i < PAIRS; i++) pairs.push(await startMariaDbPair());
  const dbOf = (d: number) => `db_${String(d).padStart(3, '0')}`;
  const clusterOf = (d: number) => d % CLUSTERS;
  const pairOf = (c: number) => pairs[c % PAIRS]!;
  for (const [i, pair] of pairs.entries()) {
    const dbs = Array.from({ length: DATABASES }, (_, d) => d).filter((d) => clusterOf(d) % PAIRS === i);
    await pair.primary.query(
      dbs.map((d) => `CREATE DATABASE ${dbOf(d)}; CREATE TABLE ${dbOf(d)}.t (id INT PRIMARY KEY)`).join(';') +
        `; CREATE USER drctl_check@'127.0.0.1' IDENTIFIED BY '${PW}'` +
        `; GRANT SELECT, SHOW VIEW, BINLOG MONITOR, SLAVE MONITOR ON *.* TO drctl_check@'127.0.0.1'`,
    );
    await waitForReplicaCatchUp(pair);
  }
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;

  const write = (deadCluster?: number): string => {
    const resources: Record<string, unknown> = {};
    for (let c = 0; c < CLUSTERS; c++) {
      const p = pairOf(c);
      const port = c === deadCluster ? silentPort : p.primary.port;
      resources[`cluster-${c}`] = {
        kind: 'mysql',
        primary: `mysql://drctl_check:${PW}@127.0.0.1:${port}`,
        replica: `mysql://drctl_check:${PW}@127.0.0.1:${p.replica.port}`,
        concurrency: 3,
      };
    }
    const steps: unknown[] = [];
    for (let c = 0; c < CLUSTERS; c++)
      steps.push({
        id: `gate-gtid-${c}`,
        owner: 'DBA',
        check: { kind: 'mysql', resource: `cluster-${c}`, gtid: true, schema: false, rows: 'none' },
      });
    for (let d = 0; d < DATABASES; d++)
      steps.push({
        id: `gate-db-${d}`,
        owner: 'DBA',
        needs: [`gate-gtid-${clusterOf(d)}`],
        check: { kind: 'mysql', resource: `cluster-${clusterOf(d)}`, databases: [dbOf(d)], rows: 'full' },
      });
    const file = join(dir, `bench-${deadCluster ?? 'clean'}.yaml`);
    writeFileSync(
      file,
      stringify({
        apiVersion: 'drctl/v1',
        kind: 'Runbook',
        name: 'preflight-bench',
        roles: { DBA: { members: ['dba'] } },
        resources,
        steps,
      }),
    );
    return file;
  };

  const rows: string[] = [];
  for (const [name, file, timeout] of [
    ['all answer', write(), '10s'],
    ['one cluster never answers', write(5), '3s'],
  ] as const) {
    const r = await timed(['preflight', file, '--timeout', timeout, '--json']);
    const report = JSON.parse(r.out) as {
      counts: { ok: number; warning: number; fail: number };
      durationMs: number;
      lines: { status: string; group: string; item: string; message: string }[];
    };
    for (const l of report.lines.filter((x) => x.status !== 'ok').slice(0, 5))
      process.stdout.write(`  ${name}: ${l.status} ${l.group} ${l.item}: ${l.message}\n`);
    rows.push(
      `${name.padEnd(26)} ${String(CLUSTERS).padStart(8)} ${String(DATABASES).padStart(9)} ${String(PAIRS).padStart(6)} ${timeout.padStart(7)} ${(r.wallMs / 1000).toFixed(2).padStart(8)}s ${(report.durationMs / 1000).toFixed(2).padStart(8)}s ${(r.rssKb / 1024).toFixed(0).padStart(7)} MB  exit ${r.code}  ok ${report.counts.ok} warn ${report.counts.warning} fail ${report.counts.fail}`,
    );
  }
  process.stdout.write(
    `${'case'.padEnd(26)} ${'clusters'.padStart(8)} ${'databases'.padStart(9)} ${'pairs'.padStart(6)} ${'timeout'.padStart(7)} ${'wall'.padStart(9)} ${'probes'.padStart(9)} ${'peak RSS'.padStart(10)}\n${rows.join('\n')}\n`,
  );
} finally {
  for (const s of sockets) s.destroy();
  silent.close();
  for (const p of pairs) await p.stop();
  removeDir(dir);
}
