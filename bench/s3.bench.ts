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
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCeph, type CephCluster } from '../test/harness/ceph.js';

const OBJECTS = Number(process.env.S3_BENCH_OBJECTS ?? 100_000);
const RUNS = Number(process.env.S3_BENCH_RUNS ?? 3);
/** drctl rows: one per --concurrency value (8 is the default). */
const CONCURRENCY = (process.env.S3_BENCH_CONCURRENCY ?? '8,1').split(',').map(Number);
const LOAD_CONCURRENCY = 64;
const ROOT = join(import.meta.dirname, '..');
const DRCTL = join(ROOT, 'bin', 'drctl.js');
const PLANT = { missing: 10, extra: 10, changed: 10 };

interface Measured {
  ms: number;
  peakRssMb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command, polling /proc/<pid>/status for VmHWM (peak RSS) until it exits. */
async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let peakKb = 0;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      /* exited */
    }
    await Promise.race([exited, sleep(20)]);
  }
  const code = await exited;
  return { ms: performance.now() - t0, peakRssMb: peakKb / 1024, code, stdout, stderr };
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
        name: `drctl --concurrency ${c}`,
        run: () => measure(process.execPath, [...drctlArgs, '--concurrency', String(c)], drctlEnv),
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
    const rows: Array<{ name: string; ms: number; rss: number; note: string }> = [];
    for (const tool of tools) {
      const runs: Measured[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await tool.run());
      const last = runs[runs.length - 1]!;
      if (last.code !== 1) console.log(`${tool.name} exited ${last.code}:\n${last.stderr.slice(-2000)}`);
      rows.push({
        name: tool.name,
        ms: median(runs.map((r) => r.ms)),
        rss: Math.max(...runs.map((r) => r.peakRssMb)),
        note: tool.verify(last),
      });
    }
    const objectsPerRun = OBJECTS * 2;
    console.log(
      `\n${'tool'.padEnd(26)} ${'wall (median)'.padStart(13)} ${'objects/s'.padStart(10)} ${'peak RSS'.padStart(9)}  result`,
    );
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(26)} ${(r.ms / 1000).toFixed(2).padStart(12)}s ${Math.round(
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
    console.log(
      `\ndrctl is ${(bestRclone / drctl.ms).toFixed(2)}x faster than the faster rclone mode; objects/s counts both listings.`,
    );
  } finally {
    await ceph.stop();
  }
}

await main();
