/**
 * `npm run bench [-- name…]`: runs every bench/<name>.bench.ts one after another (each starts
 * and stops its own servers), prints their tables and keeps a copy in bench/out/<name>.txt.
 * Benchmarks compare drctl with peers (pt-table-checksum, CHECKSUM TABLE, rclone, a raw PIT
 * scan) on the same data in the same run.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  process.stderr.write(`unknown benchmark: ${unknown.join(', ')}; available: ${all.join(', ')}\n`);
  process.exit(2);
}
const selected = wanted.length ? wanted : all;
mkdirSync(join(dir, 'out'), { recursive: true });

let failed = 0;
for (const name of selected) {
  process.stdout.write(`\n=== bench ${name} ===\n`);
  const out = createWriteStream(join(dir, 'out', `${name}.txt`));
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, `${name}.bench.ts`)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (b: Buffer) => {
      process.stdout.write(b);
      out.write(b);
    });
    child.stderr.on('data', (b: Buffer) => process.stderr.write(b));
    child.on('exit', (c) => resolve(c ?? 1));
  });
  out.end();
  if (code !== 0) {
    failed++;
    process.stderr.write(`bench ${name} failed (exit ${code})\n`);
  }
}
process.exit(failed ? 1 : 0);
