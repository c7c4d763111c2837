/**
 * Benchmark of `drctl check es` on >= 1,000,000 small documents per side (DRCTL_BENCH_ES_DOCS),
 * on two real OpenSearch nodes started here. The physical limit is the raw scan rate of the same
 * clusters: a point-in-time scan that only reads (sorted by _id like drctl, and in index (_doc)
 * order, the cheapest possible read), both sides at once as drctl reads them.
 *
 *   npm run build && node --import tsx bench/es.bench.ts
 *
 * DRCTL_BENCH_ES_ROUNDS (default 2) rounds of peer + drctl; DRCTL_BENCH_ES_SINGLE=0 skips the
 * one-side scans (index order, sorted) measured before them. The loader and the nodes run at
 * nice 10 while loading; each measurement records /proc/loadavg and the nodes' CPU.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSearch, type SearchFlavor, type SearchServer } from '../test/harness/search.js';

const DOCS = Number(process.env.DRCTL_BENCH_ES_DOCS ?? 1_000_000);
const FLAVOR = (process.env.DRCTL_BENCH_ES_FLAVOR ?? 'opensearch') as SearchFlavor;
const HEAP_MB = Number(process.env.DRCTL_BENCH_ES_HEAP_MB ?? 768);
/**
 * The peer: raw scans sorted on the keyword field `id` (DRCTL_BENCH_ES_RAW_SORT=_id sorts on _id,
 * which Elasticsearch 8 refuses). drctl runs with default flags unless DRCTL_BENCH_ES_ID_FIELD
 * names its --id-field.
 */
const RAW_SORT = process.env.DRCTL_BENCH_ES_RAW_SORT ?? 'id';
const ID_FIELD = process.env.DRCTL_BENCH_ES_ID_FIELD;
const ROUNDS = Number(process.env.DRCTL_BENCH_ES_ROUNDS ?? 2);
const SINGLE = process.env.DRCTL_BENCH_ES_SINGLE !== '0';
const INDEX = 'bench-payments';

let serverPids: number[] = [];
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** user + sys CPU in ms of the given processes (the JVMs), from /proc/<pid>/stat. */
function cpuOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return ticks * 10;
}

/** The JVM of a node: the server's pid or, when that is a launcher, its descendants. */
function jvmPids(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      // Every thread's children: Elasticsearch 8's launcher (a JVM) starts the server from another thread.
      for (const task of readdirSync(`/proc/${out[i]}/task`)) {
        for (const c of readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim().split(/\s+/))
          if (c && !out.includes(Number(c))) out.push(Number(c));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}
const BULK = 5000;

async function call(url: string, method: string, path: string, body?: string | object): Promise<unknown> {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': typeof body === 'string' ? 'application/x-ndjson' : 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const json = (await res.json()) as { errors?: boolean };
  if (!res.ok || json.errors)
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

function doc(i: number): string {
  return JSON.stringify({
    id: `p${i}`,
    amount: (i % 100_000) / 100,
    status: i % 7 === 0 ? 'settled' : 'pending',
    at: new Date(1_763_000_000_000 + i * 1000).toISOString(),
    customer: { id: i % 50_000, city: i % 2 ? 'Jakarta' : 'Surabaya' },
  });
}

async function load(url: string): Promise<void> {
  await call(url, 'PUT', `/${INDEX}`, {
    settings: {
      number_of_shards: 2,
      number_of_replicas: 0,
      refresh_interval: '-1',
      'translog.durability': 'async',
    },
    mappings: {
      properties: {
        id: { type: 'keyword' },
        amount: { type: 'double' },
        status: { type: 'keyword' },
        at: { type: 'date' },
        customer: { properties: { id: { type: 'long' }, city: { type: 'keyword' } } },
      },
    },
  });
  let next = 0;
  const worker = async () => {
    while (next < DOCS) {
      const from = next;
      next = Math.min(DOCS, next + BULK);
      let body = '';
      for (let i = from; i < next; i++) body += `{"index":{"_id":"p${i}"}}\n${doc(i)}\n`;
      await call(url, 'POST', `/${INDEX}/_bulk`, body);
    }
  };
  await Promise.all([worker(), worker()]);
  await call(url, 'PUT', `/${INDEX}/_settings`, { refresh_interval: '1s' });
  await call(url, 'POST', `/${INDEX}/_refresh`);
}

/** Reads every document through a point in time, doing nothing with it: the physical limit. */
async function rawScan(url: string, flavor: SearchFlavor, sort: 'id' | 'doc'): Promise<number> {
  const os = flavor === 'opensearch';
  const opened = (await call(
    url,
    'POST',
    os ? `/${INDEX}/_search/point_in_time?keep_alive=5m` : `/${INDEX}/_pit?keep_alive=5m`,
  )) as {
    id?: string;
    pit_id?: string;
  };
  const pit = (os ? opened.pit_id : opened.id) ?? '';
  let after: unknown[] | undefined;
  let n = 0;
  for (;;) {
    const page = (await call(
      url,
      'POST',
      '/_search?filter_path=hits.hits._id,hits.hits._source,hits.hits.sort',
      {
        size: 1000,
        pit: { id: pit, keep_alive: '5m' },
        sort: sort === 'id' ? [{ [RAW_SORT]: 'asc' }] : [os ? '_doc' : '_shard_doc'],
        track_total_hits: false,
        ...(after ? { search_after: after } : {}),
      },
    )) as { hits?: { hits?: { sort: unknown[] }[] } };
    const hits = page.hits?.hits ?? [];
    n += hits.length;
    if (hits.length < 1000) break;
    after = hits[hits.length - 1]!.sort;
  }
  await call(url, 'DELETE', os ? '/_search/point_in_time' : '/_pit', os ? { pit_id: [pit] } : { id: pit });
  return n;
}

/** Wall time and this process's CPU time (user + sys) of `fn`: the raw scans' client side. */
async function timed<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; ms: number; cpuMs: number; serverCpuMs: number; load: string }> {
  const load = loadavg();
  const s0 = cpuOf(serverPids);
  const t = performance.now();
  const c = process.cpuUsage();
  const value = await fn();
  const d = process.cpuUsage(c);
  return {
    value,
    ms: performance.now() - t,
    cpuMs: (d.user + d.system) / 1000,
    serverCpuMs: cpuOf(serverPids) - s0,
    load,
  };
}

/** Runs the built CLI, sampling its RSS from /proc every 250 ms. */
async function runDrctl(args: string[]): Promise<{
  code: number;
  ms: number;
  cpuMs: number;
  serverCpuMs: number;
  load: string;
  peakKb: number;
  samplesKb: number[];
  stdout: string;
}> {
  const load = loadavg();
  const s0 = cpuOf(serverPids);
  const t = performance.now();
  const timeFile = join(tmpdir(), `drctl-bench-time-${process.pid}`);
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, 'node', 'bin/drctl.js', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const samplesKb: number[] = [];
  let peakKb = 0;
  const timer = setInterval(() => {
    try {
      const node = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      const status = readFileSync(`/proc/${node}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      samplesKb.push(rss);
    } catch {
      /* exited */
    }
  }, 250);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  clearInterval(timer);
  const [user = 0, sys = 0, maxKb = 0] = readFileSync(timeFile, 'utf8')
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  rmSync(timeFile, { force: true });
  return {
    code,
    ms: performance.now() - t,
    cpuMs: (user + sys) * 1000,
    serverCpuMs: cpuOf(serverPids) - s0,
    load,
    peakKb: Math.max(peakKb, maxKb),
    samplesKb,
    stdout,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  if (!existsSync('dist/src/cli/main.js')) throw new Error('build first: npm run build');
  console.log(
    `es bench: ${fmt(DOCS)} docs per side on two ${FLAVOR} nodes (heap ${HEAP_MB} MB each), drctl ${ID_FIELD ? `--id-field ${ID_FIELD}` : 'default flags'}, peer sorted on ${RAW_SORT}`,
  );
  const servers: SearchServer[] = await Promise.all([
    startSearch(FLAVOR, { heapMb: HEAP_MB, fullJit: true }),
    startSearch(FLAVOR, { heapMb: HEAP_MB, fullJit: true }),
  ]);
  const [main, dr] = servers as [SearchServer, SearchServer];
  try {
    serverPids = servers.flatMap((x) => jvmPids(x.pid));
    // The nodes and this loader yield to the host's other users while loading.
    for (const pid of serverPids) setPriority(pid, 10);
    setPriority(10);
    const loadT = await timed(() => Promise.all([load(main.url), load(dr.url)]));
    for (const pid of serverPids) setPriority(pid, 0);
    setPriority(0);
    console.log(
      `loaded both sides in ${(loadT.ms / 1000).toFixed(1)} s (${fmt((2 * DOCS) / (loadT.ms / 1000))} docs/s)`,
    );
    // Three planted differences, so the run proves it finds them at scale.
    await call(dr.url, 'DELETE', `/${INDEX}/_doc/p${Math.floor(DOCS / 2)}?refresh=true`);
    await call(dr.url, 'POST', `/${INDEX}/_update/p${Math.floor(DOCS / 3)}?refresh=true`, {
      doc: { amount: -1 },
    });
    await call(dr.url, 'PUT', `/${INDEX}/_doc/zz-only-dr?refresh=true`, { id: 'zz-only-dr', amount: 1 });

    const rawShard = SINGLE ? await timed(() => rawScan(main.url, FLAVOR, 'doc')) : undefined;
    const rawId = SINGLE ? await timed(() => rawScan(main.url, FLAVOR, 'id')) : undefined;
    const drctlArgs = ['check', 'es', '--source', main.url, '--target', dr.url, '--index', INDEX, '--json'];
    if (ID_FIELD) drctlArgs.push('--id-field', ID_FIELD);
    // Two rounds, peer and drctl alternating, so a burst of load on the shared host hits both.
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const rawBoth = await timed(() =>
        Promise.all([rawScan(main.url, FLAVOR, 'id'), rawScan(dr.url, FLAVOR, 'id')]),
      );
      const run = await runDrctl(drctlArgs);
      rounds.push({ rawBoth, run });
    }
    const { run } = rounds[rounds.length - 1]!;
    const result = JSON.parse(run.stdout) as { status: string; counts: Record<string, number> };

    const sortName = RAW_SORT;
    type Row = [string, number, number, number, number, string, string];
    const rows: Row[] = [
      ...(rawShard
        ? [
            [
              `raw PIT scan, index order, 1 side`,
              rawShard.ms,
              rawShard.cpuMs,
              rawShard.serverCpuMs,
              rawShard.value,
              '-',
              rawShard.load,
            ] as Row,
          ]
        : []),
      ...(rawId
        ? [
            [
              `raw PIT scan, sorted by ${sortName}, 1 side`,
              rawId.ms,
              rawId.cpuMs,
              rawId.serverCpuMs,
              rawId.value,
              '-',
              rawId.load,
            ] as Row,
          ]
        : []),
      ...rounds.flatMap(({ rawBoth: b, run: d }, k): Row[] => [
        [
          `#${k + 1} raw PIT scans sorted by ${sortName}, both sides`,
          b.ms,
          b.cpuMs,
          b.serverCpuMs,
          b.value[0],
          '-',
          b.load,
        ],
        [
          `#${k + 1} drctl check es ${ID_FIELD ? `--id-field ${ID_FIELD}` : '(default flags)'}`,
          d.ms,
          d.cpuMs,
          d.serverCpuMs,
          DOCS,
          `${fmt(d.peakKb / 1024)} MB`,
          d.load,
        ],
      ]),
    ];
    console.log('');
    console.log(
      `${'what'.padEnd(52)} ${'wall s'.padStart(7)} ${'CPU s'.padStart(6)} ${'nodes CPU s'.padStart(11)} ${'docs/side/s'.padStart(12)} ${'peak RSS'.padStart(9)}  load at start`,
    );
    for (const [what, ms, cpu, server, docs, rss, load] of rows) {
      console.log(
        `${what.padEnd(52)} ${(ms / 1000).toFixed(2).padStart(7)} ${(cpu / 1000).toFixed(2).padStart(6)} ${(server / 1000).toFixed(2).padStart(11)} ${fmt(docs / (ms / 1000)).padStart(12)} ${rss.padStart(9)}  ${load}`,
      );
    }
    console.log(
      `(CPU: drctl process user+sys; for the raw scans, the scanning client only; nodes: both JVMs; load at the end ${loadavg()})`,
    );
    const s = run.samplesKb.filter((x) => x > 0);
    const q = (f: number) => fmt((s[Math.min(s.length - 1, Math.floor(f * s.length))] ?? 0) / 1024);
    console.log('');
    console.log(
      `drctl RSS over the run (MB at 10/25/50/75/100%): ${q(0.1)} / ${q(0.25)} / ${q(0.5)} / ${q(0.75)} / ${q(0.999)}`,
    );
    console.log(
      `drctl / raw both-sides sorted scans (wall): ${rounds.map((x) => (x.run.ms / x.rawBoth.ms).toFixed(2)).join(', ')}`,
    );
    console.log(
      `drctl result: exit ${run.code}, ${result.status}; missing ${result.counts.missing}, extra ${result.counts.extra}, different ${result.counts.different}, matched ${fmt(result.counts.matched ?? 0)}`,
    );
    const ok =
      run.code === 1 &&
      result.counts.missing === 1 &&
      result.counts.extra === 1 &&
      result.counts.different === 1;
    if (!ok) {
      console.error('bench: drctl did not report exactly the 3 planted differences');
      process.exitCode = 1;
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

await main();
