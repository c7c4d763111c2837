/**
 * Benchmark: peak memory of `drctl check s3` over 1,000,000 keys per bucket.
 *
 *   npm run build && node --import tsx bench/s3-memory.bench.ts
 *
 * Loading a million objects into the test Ceph takes hours on a 2-core host, so the listings are
 * served by a small ListObjectsV2 server in this process instead: pages in exactly the shape Ceph
 * RGW sends (same elements, order and url encoding; captured from RGW 18), any Prefix, StartAfter
 * and MaxKeys (at most 1000), keys in byte order. drctl runs as a whole process with default flags
 * through its usual path (SDK client, signing, HTTP, page parser, split ranges, merge, findings),
 * and its peak RSS (VmHWM, /usr/bin/time) is printed for S3_MEMORY_SIZES keys per bucket (default
 * 100,000 and 1,000,000): flat memory means the same figure at both sizes. The target bucket has
 * planted differences, checked in drctl's answer. What this does not exercise: RGW's own latency.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SIZES = (process.env.S3_MEMORY_SIZES ?? '100000,1000000').split(',').map(Number);
const ROOT = join(import.meta.dirname, '..');
/** Another build to measure (e.g. an older checkout's bin/drctl.js); default this tree's. */
const DRCTL = process.env.S3_MEMORY_DRCTL ?? join(ROOT, 'bin', 'drctl.js');
const PLANT = { missing: 10, extra: 10, changed: 10 };

const keyOf = (i: number) =>
  `docs/${String(i % 1000).padStart(4, '0')}/statement-${String(i).padStart(8, '0')}.pdf`;
const etagOf = (i: number, changed: boolean) =>
  createHash('md5')
    .update(`${changed ? 'STATEMENT' : 'statement'} ${i}`)
    .digest('hex');

interface Entry {
  key: string;
  i: number;
  changed: boolean;
}

/** Both buckets of one size: keys sorted by bytes (all ASCII here, so string order is byte order). */
function buckets(n: number): Record<string, Entry[]> {
  const src: Entry[] = Array.from({ length: n }, (_, i) => ({ key: keyOf(i), i, changed: false }));
  src.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const missing = new Set(Array.from({ length: PLANT.missing }, (_, k) => keyOf((k * 997) % n)));
  const changed = new Set(Array.from({ length: PLANT.changed }, (_, k) => keyOf((k * 991 + 5) % n)));
  const dst = src
    .filter((e) => !missing.has(e.key))
    .map((e) => (changed.has(e.key) ? { ...e, changed: true } : e));
  for (let k = 0; k < PLANT.extra; k++)
    dst.push({ key: `docs/extra/only-on-dr-${k}.pdf`, i: -k - 1, changed: false });
  dst.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { src, dst };
}

/** First index whose key is > after (or >= prefix when after is undefined). */
function lowerBound(list: Entry[], bound: string, strict: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = list[mid]!.key;
    if (k < bound || (strict && k === bound)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// RGW encodes everything but unreserved characters; '/' as %2F.
const urlEncode = (k: string) =>
  encodeURIComponent(k).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function serve(data: Record<string, Entry[]>) {
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    const bucket = url.pathname.split('/')[1] ?? '';
    const list = data[bucket];
    if (!list || req.method !== 'GET' || url.searchParams.get('list-type') !== '2') {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><BucketName>${xmlEscape(bucket)}</BucketName></Error>`,
      );
      return;
    }
    const prefix = url.searchParams.get('prefix') ?? '';
    const after = url.searchParams.get('start-after');
    const max = Math.min(1000, Number(url.searchParams.get('max-keys') ?? 1000));
    const url_ = url.searchParams.get('encoding-type') === 'url';
    let i = Math.max(lowerBound(list, prefix, false), after === null ? 0 : lowerBound(list, after, true));
    const parts: string[] = [];
    let count = 0;
    while (i < list.length && list[i]!.key.startsWith(prefix) && count < max) {
      const e = list[i++]!;
      count++;
      parts.push(
        `<Contents><Key>${url_ ? urlEncode(e.key) : xmlEscape(e.key)}</Key><LastModified>2026-11-29T21:20:55.978Z</LastModified><ETag>&quot;${etagOf(e.i, e.changed)}&quot;</ETag><Size>${e.i < 0 ? 1 : 96}</Size><StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents>`,
      );
    }
    const truncated = i < list.length && list[i]!.key.startsWith(prefix);
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${url_ ? '<EncodingType>url</EncodingType>' : ''}<Name>${bucket}</Name><Prefix>${url_ ? urlEncode(prefix) : xmlEscape(prefix)}</Prefix>${after === null ? '' : `<StartAfter>${url_ ? urlEncode(after) : xmlEscape(after)}</StartAfter>`}<MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${parts.join('')}<KeyCount>${count}</KeyCount></ListBucketResult>`,
    );
  });
  return {
    server,
    requests: () => requests,
  };
}

async function measure(args: string[], env: NodeJS.ProcessEnv) {
  const timeFile = join(tmpdir(), `drctl-s3-memory-time-${process.pid}`);
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, process.execPath, ...args], {
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

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'checkers', 's3', 'index.js'))) {
    throw new Error('dist/ is missing the s3 checker: run `npm run build` first');
  }
  console.log(
    `s3 memory bench: drctl check s3 (default flags) over synthetic RGW-shaped listings of ${SIZES.map((n) => n.toLocaleString('en-US')).join(' and ')} keys per bucket`,
  );
  console.log(
    `\n${'keys per bucket'.padEnd(16)} ${'wall'.padStart(8)} ${'CPU'.padStart(8)} ${'peak RSS'.padStart(9)} ${'requests'.padStart(9)}  result`,
  );
  for (const n of SIZES) {
    const { server, requests } = serve(buckets(n));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const env = {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DRCTL_S3_SOURCE_ACCESS_KEY_ID: 'BENCHKEY',
      DRCTL_S3_SOURCE_SECRET_ACCESS_KEY: 'bench-secret',
      DRCTL_S3_TARGET_ACCESS_KEY_ID: 'BENCHKEY',
      DRCTL_S3_TARGET_SECRET_ACCESS_KEY: 'bench-secret',
    };
    const r0 = requests();
    // The server runs in this process: the child must not wait for our event loop while we wait for it.
    const m = await measure(
      [
        DRCTL,
        'check',
        's3',
        '--source',
        's3://src',
        '--target',
        's3://dst',
        '--source-endpoint',
        `http://127.0.0.1:${port}`,
        '--json',
      ],
      env,
    );
    server.close();
    let note: string;
    try {
      const c = (JSON.parse(m.stdout) as { counts: Record<string, number> }).counts;
      const ok =
        c.missing === PLANT.missing &&
        c.extra === PLANT.extra &&
        c.different === PLANT.changed &&
        c.sourceObjects === n;
      note = `${ok ? 'found' : 'WRONG:'} ${c.missing} missing, ${c.extra} extra, ${c.different} different of ${c.sourceObjects} (exit ${m.code})`;
    } catch {
      note = `no JSON (exit ${m.code}): ${m.stderr.slice(-500)}`;
    }
    console.log(
      `${n.toLocaleString('en-US').padEnd(16)} ${(m.ms / 1000).toFixed(2).padStart(7)}s ${(m.cpuMs / 1000).toFixed(2).padStart(7)}s ${`${m.peakRssMb.toFixed(0)} MB`.padStart(9)} ${String(requests() - r0).padStart(9)}  ${note}`,
    );
  }
  console.log(
    `machine load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
}

await main();
