/**
 * Benchmark: `drctl check s3` vs `rclone check` on the same two Ceph RGW buckets.
 *
 *   npm run build && node --import tsx bench/s3.bench.ts
 *
 * Starts its own one-host Ceph (memstore), loads S3_BENCH_OBJECTS (default 100,000) small
 * objects into a source bucket and the same into a DR bucket with a few planted differences,
 * runs each tool S3_BENCH_RUNS (default 3) times, prints wall time, objects/s and drctl's peak
 * RSS (VmHWM from /proc), checks both tools found the planted differences, and stops Ceph.
 *
 * S3_BENCH_OBJECTS may list several sizes (`20000,200000`): one bucket pair per size, all
 * measured in the same run. S3_BENCH_LAB=<dir> keeps the lab: the first run starts Ceph in
 * <dir> (tuned for bulk loading: debug logging off, no resharding) and leaves it running; later
 * runs reuse it and its loaded bucket pairs, so 2 x 200,000 objects are loaded once. Stop it with
 * `kill $(cat <dir>/run/*.pid)`. Loading is anonymous PUTs into buckets created
 * public-read-write and made private again before any tool runs (a signed SDK PUT costs the
 * client ~2.4 ms of CPU, an unsigned one ~0.5 ms); the Ceph daemons run at nice 10 while loading.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutBucketAclCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startCeph } from '../test/harness/ceph.js';

const SIZES = (process.env.S3_BENCH_OBJECTS ?? '100000').split(',').map(Number);
const LAB = process.env.S3_BENCH_LAB;
const RUNS = Number(process.env.S3_BENCH_RUNS ?? 3);
/** drctl rows: one per --concurrency value (`auto`: the flag left out, the default). */
const CONCURRENCY = (process.env.S3_BENCH_CONCURRENCY ?? 'auto,1,8').split(',');
const LOAD_CONCURRENCY = 16;
const ROOT = join(import.meta.dirname, '..');
const DRCTL = join(ROOT, 'bin', 'drctl.js');
const PLANT = { missing: 10, extra: 10, changed: 10 };
/** rclone rows: `default` and/or `fast-list` (S3_BENCH_RCLONE, default both). */
const RCLONE_MODES = (process.env.S3_BENCH_RCLONE ?? 'default,fast-list')
  .split(',')
  .map((m) => (m === 'fast-list' ? ['--fast-list'] : []));

interface Measured {
  ms: number;
  cpuMs: number;
  /** CPU (user + sys) the Ceph daemons (radosgw + osd) spent during the run. */
  serverCpuMs: number;
  /** /proc/loadavg (1, 5, 15 min) when the run started. */
  load: string;
  peakRssMb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command under /usr/bin/time: wall time, CPU time (user + sys) and peak RSS of the command itself. */
let serverPids: number[] = [];

/** user + sys CPU in ms of the given processes, from /proc/<pid>/stat. */
function cpuOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10;
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const load = loadavg();
  const server0 = cpuOf(serverPids);
  const t0 = performance.now();
  const timeFile = join(tmpdir(), `drctl-s3-bench-time-${process.pid}`);
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, cmd, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const ms = performance.now() - t0;
  const serverCpuMs = cpuOf(serverPids) - server0;
  const [user = 0, sys = 0, maxKb = 0] = readFileSync(timeFile, 'utf8')
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  rmSync(timeFile, { force: true });
  return {
    ms,
    cpuMs: (user + sys) * 1000,
    serverCpuMs,
    load,
    peakRssMb: maxKb / 1024,
    code,
    stdout,
    stderr,
  };
}

function keyOf(i: number): string {
  // Customer folders of ~100 documents each: realistic, and gives rclone directories to walk.
  return `docs/${String(i % 1000).padStart(4, '0')}/statement-${String(i).padStart(8, '0')}.pdf`;
}

/** Anonymous PUT of one object (the bucket is public-read-write while it is loaded). */
function anonPut(agent: Agent, endpoint: URL, bucket: string, key: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: endpoint.hostname,
        port: endpoint.port,
        method: 'PUT',
        path: `/${bucket}/${key}`,
        agent,
        headers: { 'content-length': Buffer.byteLength(body), 'x-amz-acl': 'bucket-owner-full-control' },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${bucket}/${key}: ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(
  endpoint: string,
  bucket: string,
  count: number,
  body: (i: number) => string,
): Promise<number> {
  const t0 = performance.now();
  const url = new URL(endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: LOAD_CONCURRENCY });
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: LOAD_CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        for (let attempt = 1; ; attempt++) {
          try {
            await anonPut(agent, url, bucket, keyOf(i), body(i));
            break;
          } catch (err) {
            if (attempt >= 8) throw err;
            await new Promise((r) => setTimeout(r, 100 * attempt));
          }
        }
        if (++done % 20_000 === 0)
          process.stderr.write(
            `  ${bucket}: ${done.toLocaleString('en-US')} objects, ${(done / ((performance.now() - t0) / 1000)).toFixed(0)} PUT/s, load ${loadavg()}\n`,
          );
      }
    }),
  );
  agent.destroy();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Lab {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
}

/** Ceph daemons' settings for a bulk load: debug logging (in memory, per request) off, no resharding. */
const BULK_LOAD_CONFIG = [
  'rgw dynamic resharding = false',
  'rgw override bucket index max shards = 16',
  'rgw enable ops log = false',
  'rgw enable usage log = false',
  'rgw thread pool size = 128',
  '[global]',
  ...['ms', 'osd', 'memstore', 'objclass', 'objecter', 'rados', 'monc', 'auth', 'finisher', 'rgw']
    .concat(['context', 'throttle', 'asok', 'perfcounter', 'optracker', 'heartbeatmap'])
    .map((sub) => `debug ${sub} = 0/0`),
  'osd enable op tracker = false',
];

function pidOf(dir: string, daemon: string): number {
  return Number(readFileSync(join(dir, 'run', `${daemon}.pid`), 'utf8').trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The kept lab in LAB if it is running, else a new one (kept when LAB is set, stopped at the end if not). */
async function openLab(): Promise<{ lab: Lab; stop: () => Promise<void> }> {
  const file = LAB ? join(LAB, 'lab.json') : undefined;
  if (file && existsSync(file)) {
    const lab = JSON.parse(readFileSync(file, 'utf8')) as Lab;
    if (['client.rgw.gw', 'osd.0', 'mon.a'].every((d) => alive(pidOf(lab.dir, d)))) {
      console.log(`reusing the lab in ${lab.dir} (${lab.endpoint})`);
      return { lab, stop: async () => {} };
    }
    throw new Error(`the lab in ${LAB} is not running: remove ${LAB} to start a new one`);
  }
  if (LAB) mkdirSync(LAB, { recursive: true });
  const ceph = await startCeph({
    memstoreBytes: 12 * 1024 ** 3,
    gatewayConfig: BULK_LOAD_CONFIG,
    ...(LAB ? { dir: LAB } : {}),
  });
  const lab = {
    endpoint: ceph.endpoint,
    accessKeyId: ceph.accessKeyId,
    secretAccessKey: ceph.secretAccessKey,
    dir: ceph.dir,
  };
  if (file) {
    writeFileSync(file, JSON.stringify(lab));
    console.log(`started a lab in ${LAB} (${lab.endpoint}); it keeps running: kill $(cat ${LAB}/run/*.pid)`);
    return { lab, stop: async () => {} };
  }
  return { lab, stop: () => ceph.stop() };
}

/** Loads (once per lab) the bucket pair of one size with its planted differences. */
async function loadPair(lab: Lab, client: S3Client, n: number): Promise<void> {
  const marker = join(lab.dir, `loaded-${n}`);
  if (existsSync(marker)) return;
  const [src, dst] = [`bench-src-${n}`, `bench-dst-${n}`];
  for (const b of [src, dst]) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: b, ACL: 'public-read-write' }));
    } catch (err) {
      // A load cut short before: its bucket stays, the load overwrites it.
      if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw err;
      await client.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read-write' }));
    }
  }
  const body = (i: number) => `statement ${i} `.repeat(8);
  // The daemons yield to the other users of the host while loading, and get their priority back after.
  const daemons = ['client.rgw.gw', 'osd.0'].map((d) => pidOf(lab.dir, d));
  for (const pid of daemons) setPriority(pid, 10);
  setPriority(10);
  let srcMs: number;
  let dstMs: number;
  try {
    srcMs = await load(lab.endpoint, src, n, body);
    // DR copy: the same objects, then planted differences both tools must find.
    dstMs = await load(lab.endpoint, dst, n, body);
  } finally {
    for (const pid of daemons) setPriority(pid, 0);
  }
  for (let k = 0; k < PLANT.missing; k++)
    await client.send(new DeleteObjectCommand({ Bucket: dst, Key: keyOf((k * 997) % n) }));
  for (let k = 0; k < PLANT.changed; k++) {
    const i = (k * 991 + 5) % n;
    await client.send(
      new PutObjectCommand({ Bucket: dst, Key: keyOf(i), Body: body(i).replace('statement', 'STATEMENT') }),
    );
  }
  for (let k = 0; k < PLANT.extra; k++) {
    await client.send(
      new PutObjectCommand({ Bucket: dst, Key: `docs/extra/only-on-dr-${k}.pdf`, Body: 'x' }),
    );
  }
  for (const b of [src, dst]) await client.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
  const loadRate = (n * 2) / ((srcMs + dstMs) / 1000);
  console.log(
    `loaded 2 x ${n.toLocaleString('en-US')} objects in ${((srcMs + dstMs) / 1000).toFixed(0)} s (${loadRate.toFixed(0)} PUT/s, daemons at nice 10)`,
  );
  writeFileSync(marker, `${new Date().toISOString()} ${loadRate.toFixed(0)} PUT/s\n`);
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'checkers', 's3', 'index.js'))) {
    throw new Error('dist/ is missing the s3 checker: run `npm run build` first');
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  console.log(
    `s3 bench: ${SIZES.map((n) => n.toLocaleString('en-US')).join(' and ')} objects per bucket, ${RUNS} runs per tool`,
  );
  const { lab, stop } = await openLab();
  try {
    serverPids = ['client.rgw.gw', 'osd.0'].map((d) => pidOf(lab.dir, d));
    const client = new S3Client({
      endpoint: lab.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: lab.accessKeyId, secretAccessKey: lab.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 8,
    });
    for (const n of SIZES) await loadPair(lab, client, n);
    client.destroy();
    setPriority(0);
    // S3_BENCH_RUNS=0 only loads the lab.
    if (RUNS > 0) for (const n of SIZES) await benchSize(lab, n);
  } finally {
    await stop();
  }
}

async function benchSize(lab: Lab, objects: number): Promise<void> {
  const [src, dst] = [`bench-src-${objects}`, `bench-dst-${objects}`];
  const drctlEnv = {
    ...process.env,
    DRCTL_S3_SOURCE_ACCESS_KEY_ID: lab.accessKeyId,
    DRCTL_S3_SOURCE_SECRET_ACCESS_KEY: lab.secretAccessKey,
    DRCTL_S3_TARGET_ACCESS_KEY_ID: lab.accessKeyId,
    DRCTL_S3_TARGET_SECRET_ACCESS_KEY: lab.secretAccessKey,
  };
  const drctlArgs = [
    DRCTL,
    'check',
    's3',
    '--source',
    `s3://${src}`,
    '--target',
    `s3://${dst}`,
    '--source-endpoint',
    lab.endpoint,
    '--json',
  ];
  const rcloneEnv: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Ceph',
    RCLONE_CONFIG_BENCH_ENDPOINT: lab.endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: lab.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: lab.secretAccessKey,
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
  };
  delete rcloneEnv.AWS_CA_BUNDLE;
  const rcloneArgs = (extra: string[]) => [
    'check',
    `bench:${src}`,
    `bench:${dst}`,
    '--config',
    '/dev/null',
    ...extra,
  ];

  const verifyDrctl = (m: Measured) => {
    const r = JSON.parse(m.stdout) as { counts: Record<string, number> };
    const c = r.counts;
    const ok =
      c.missing === PLANT.missing &&
      c.extra === PLANT.extra &&
      c.different === PLANT.changed &&
      c.sourceObjects === objects;
    return `${ok ? 'found' : 'WRONG:'} ${c.missing} missing, ${c.extra} extra, ${c.different} different (exit ${m.code})`;
  };
  const tools: Array<{ name: string; run: () => Promise<Measured>; verify: (m: Measured) => string }> = [
    ...CONCURRENCY.map((c) => ({
      name: c === 'auto' ? 'drctl (default flags)' : `drctl --concurrency ${c}`,
      run: () =>
        measure(process.execPath, [...drctlArgs, ...(c === 'auto' ? [] : ['--concurrency', c])], drctlEnv),
      verify: verifyDrctl,
    })),
    ...RCLONE_MODES.map((extra) => ({
      name: `rclone check${extra.length ? ' ' + extra.join(' ') : ''}`,
      run: () => measure('rclone', rcloneArgs(extra), rcloneEnv),
      verify: (m: Measured) => {
        const diffs = /(\d+) differences found/.exec(m.stderr)?.[1];
        const expected = PLANT.missing + PLANT.extra + PLANT.changed;
        return `${Number(diffs) === expected ? 'found' : 'WRONG:'} ${diffs ?? '?'} differences (exit ${m.code})`;
      },
    })),
  ];
  // Round-robin: each run of every tool, then the next run, so a burst of load on the shared
  // host is spread over all of them.
  const runs = tools.map(() => [] as Measured[]);
  for (let i = 0; i < RUNS; i++) for (const [k, tool] of tools.entries()) runs[k]!.push(await tool.run());
  const rows = tools.map((tool, k) => {
    const last = runs[k]![runs[k]!.length - 1]!;
    if (last.code !== 1) console.log(`${tool.name} exited ${last.code}:\n${last.stderr.slice(-2000)}`);
    return {
      name: tool.name,
      ms: median(runs[k]!.map((r) => r.ms)),
      cpuMs: median(runs[k]!.map((r) => r.cpuMs)),
      serverCpuMs: median(runs[k]!.map((r) => r.serverCpuMs)),
      rss: Math.max(...runs[k]!.map((r) => r.peakRssMb)),
      note: tool.verify(last),
    };
  });
  console.log(`\n${objects.toLocaleString('en-US')} objects per bucket, ${RUNS} runs per tool, round-robin:`);
  console.log(
    `${'tool'.padEnd(26)} ${'wall (median)'.padStart(13)} ${'CPU (median)'.padStart(12)} ${'RGW+OSD CPU'.padStart(11)} ${'peak RSS'.padStart(9)}  result`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(26)} ${(r.ms / 1000).toFixed(2).padStart(12)}s ${(r.cpuMs / 1000).toFixed(2).padStart(11)}s ${(r.serverCpuMs / 1000).toFixed(2).padStart(10)}s ${`${r.rss.toFixed(0)} MB`.padStart(9)}  ${r.note}`,
    );
  }
  for (const [k, tool] of tools.entries()) {
    console.log(
      `  ${tool.name}: ${runs[k]!.map((r) => `${(r.ms / 1000).toFixed(2)} s wall / ${(r.cpuMs / 1000).toFixed(2)} s CPU (load ${r.load})`).join('; ')}`,
    );
  }
  const drctl = rows[0]!;
  const rclone = rows.find((r) => r.name === 'rclone check')!;
  const pairs = runs[0]!.map((d, i) =>
    (d.ms / runs[tools.indexOf(tools.find((t) => t.name === 'rclone check')!)]![i]!.ms).toFixed(2),
  );
  console.log(`machine load average at the end: ${loadavg()} (2 cores)`);
  console.log(
    `drctl (default flags) / rclone check: ${(drctl.ms / rclone.ms).toFixed(2)}x the wall time (per round: ${pairs.join(', ')}), ${(drctl.cpuMs / rclone.cpuMs).toFixed(2)}x the CPU (issue 19 goal: wall <= 0.5x).`,
  );
}

await main();
