/**
 * Benchmark: `drctl check s3` vs `rclone check` on the same two Ceph RGW buckets.
 *
 *   npm run build && node --import tsx bench/s3.bench.ts
 *
 * Starts its own one-host Ceph (memstore), loads S3_BENCH_OBJECTS (default 100,000) small
 * objects into a source bucket and the same into a DR bucket with a few planted differences,
 * runs each tool S3_BENCH_RUNS (default 3) times, prints wall time, objects/s and drctl's peak
 * RSS (VmHWM from /proc), checks both tools found the planted differences, and stops Ceph.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCeph, type CephCluster } from '../test/harness/ceph.js';

const OBJECTS = Number(process.env.S3_BENCH_OBJECTS ?? 100_000);
const RUNS = Number(process.env.S3_BENCH_RUNS ?? 3);
/** drctl rows: one per --concurrency value (`auto`: the flag left out, the default). */
const CONCURRENCY = (process.env.S3_BENCH_CONCURRENCY ?? 'auto,1,8').split(',');
const LOAD_CONCURRENCY = 64;
const ROOT = join(import.meta.dirname, '..');
const DRCTL = join(ROOT, 'bin', 'drctl.js');
const PLANT = { missing: 10, extra: 10, changed: 10 };

interface Measured {
  ms: number;
  cpuMs: number;
  peakRssMb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command under /usr/bin/time: wall time, CPU time (user + sys) and peak RSS of the command itself. */
async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
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
  const [user = 0, sys = 0, maxKb = 0] = readFileSync(timeFile, 'utf8')
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  rmSync(timeFile, { force: true });
  return { ms, cpuMs: (user + sys) * 1000, peakRssMb: maxKb / 1024, code, stdout, stderr };
}

function keyOf(i: number): string {
  // Customer folders of ~100 documents each: realistic, and gives rclone directories to walk.
  return `docs/${String(i % 1000).padStart(4, '0')}/statement-${String(i).padStart(8, '0')}.pdf`;
}

async function load(
  client: S3Client,
  bucket: string,
  count: number,
  body: (i: number) => string,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: LOAD_CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(i), Body: body(i) }));
        if (++done % 20_000 === 0)
          process.stderr.write(`  ${bucket}: ${done.toLocaleString('en-US')} objects\n`);
      }
    }),
  );
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'checkers', 's3', 'index.js'))) {
    throw new Error('dist/ is missing the s3 checker: run `npm run build` first');
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  console.log(`s3 bench: ${OBJECTS.toLocaleString('en-US')} objects per bucket, ${RUNS} runs per tool`);
  const ceph: CephCluster = await startCeph({ memstoreBytes: 8 * 1024 ** 3 });
  try {
    const client = new S3Client({
      endpoint: ceph.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 8,
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: LOAD_CONCURRENCY }) },
    });
    for (const b of ['bench-src', 'bench-dst']) await client.send(new CreateBucketCommand({ Bucket: b }));
    const body = (i: number) => `statement ${i} `.repeat(8);
    const srcMs = await load(client, 'bench-src', OBJECTS, body);
    // DR copy: the same objects, then planted differences both tools must find.
    const dstMs = await load(client, 'bench-dst', OBJECTS, body);
    for (let k = 0; k < PLANT.missing; k++)
      await client.send(new DeleteObjectCommand({ Bucket: 'bench-dst', Key: keyOf((k * 997) % OBJECTS) }));
    for (let k = 0; k < PLANT.changed; k++) {
      const i = (k * 991 + 5) % OBJECTS;
      await client.send(
        new PutObjectCommand({
          Bucket: 'bench-dst',
          Key: keyOf(i),
          Body: body(i).replace('statement', 'STATEMENT'),
        }),
      );
    }
    for (let k = 0; k < PLANT.extra; k++) {
      await client.send(
        new PutObjectCommand({ Bucket: 'bench-dst', Key: `docs/extra/only-on-dr-${k}.pdf`, Body: 'x' }),
      );
    }
    client.destroy();
    const loadRate = (OBJECTS * 2) / ((srcMs + dstMs) / 1000);
    console.log(
      `loaded 2 x ${OBJECTS.toLocaleString('en-US')} objects in ${((srcMs + dstMs) / 1000).toFixed(0)} s (${loadRate.toFixed(0)} PUT/s)`,
    );

    const drctlEnv = {
      ...process.env,
      DRCTL_S3_SOURCE_ACCESS_KEY_ID: ceph.accessKeyId,
      DRCTL_S3_SOURCE_SECRET_ACCESS_KEY: ceph.secretAccessKey,
      DRCTL_S3_TARGET_ACCESS_KEY_ID: ceph.accessKeyId,
      DRCTL_S3_TARGET_SECRET_ACCESS_KEY: ceph.secretAccessKey,
    };
    const drctlArgs = [
      DRCTL,
      'check',
      's3',
      '--source',
      's3://bench-src',
      '--target',
      's3://bench-dst',
      '--source-endpoint',
      ceph.endpoint,
      '--json',
    ];
    const rcloneEnv: NodeJS.ProcessEnv = {
      ...process.env,
      RCLONE_CONFIG_BENCH_TYPE: 's3',
      RCLONE_CONFIG_BENCH_PROVIDER: 'Ceph',
      RCLONE_CONFIG_BENCH_ENDPOINT: ceph.endpoint,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: ceph.accessKeyId,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: ceph.secretAccessKey,
      RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
    };
    delete rcloneEnv.AWS_CA_BUNDLE;
    const rcloneArgs = (extra: string[]) => [
      'check',
      'bench:bench-src',
      'bench:bench-dst',
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
        c.sourceObjects === OBJECTS;
      return `${ok ? 'found' : 'WRONG:'} ${c.missing} missing, ${c.extra} extra, ${c.different} different (exit ${m.code})`;
    };
    const tools: Array<{ name: string; run: () => Promise<Measured>; verify: (m: Measured) => string }> = [
      ...CONCURRENCY.map((c) => ({
        name: c === 'auto' ? 'drctl (default flags)' : `drctl --concurrency ${c}`,
        run: () =>
          measure(process.execPath, [...drctlArgs, ...(c === 'auto' ? [] : ['--concurrency', c])], drctlEnv),
        verify: verifyDrctl,
      })),
      ...[[], ['--fast-list']].map((extra) => ({
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
        rss: Math.max(...runs[k]!.map((r) => r.peakRssMb)),
        note: tool.verify(last),
      };
    });
    const objectsPerRun = OBJECTS * 2;
    console.log(
      `\n${'tool'.padEnd(26)} ${'wall (median)'.padStart(13)} ${'CPU (median)'.padStart(12)} ${'objects/s'.padStart(10)} ${'peak RSS'.padStart(9)}  result`,
    );
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(26)} ${(r.ms / 1000).toFixed(2).padStart(12)}s ${(r.cpuMs / 1000).toFixed(2).padStart(11)}s ${Math.round(
          objectsPerRun / (r.ms / 1000),
        )
          .toLocaleString('en-US')
          .padStart(10)} ${`${r.rss.toFixed(0)} MB`.padStart(9)}  ${r.note}`,
      );
    }
    const drctl = rows[0]!;
    console.log(
      `machine load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (2 cores)`,
    );
    const bestRclone = Math.min(...rows.filter((r) => r.name.startsWith('rclone')).map((r) => r.ms));
    const rclone = rows.find((r) => r.name === 'rclone check')!;
    console.log(
      `\ndrctl (default flags) / rclone check: ${(drctl.ms / rclone.ms).toFixed(2)}x the wall time, ${(drctl.cpuMs / rclone.cpuMs).toFixed(2)}x the CPU (issue 19 goal: wall <= 0.5x).`,
    );
    console.log(
      `drctl is ${(bestRclone / drctl.ms).toFixed(2)}x faster than the faster rclone mode; objects/s counts both listings.`,
    );
  } finally {
    await ceph.stop();
  }
}

await main();
