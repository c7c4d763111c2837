import { execFile } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../harness/process.js';
import { writeTree } from '../unit/runbook-helpers.js';
import { ROOT } from './cli-helpers.js';

/**
 * bin/drctl.js runs dist/bundle/drctl.cjs with V8's code cache (bin/bundle-cache.js): one file per
 * command beside the bundle, written when missing or refused, never used for another bundle.
 * A copy of the built bin/ and bundle (`npm run build` first) in a temporary directory, so the
 * checkout's own caches are left alone.
 */
const RUNBOOK = `apiVersion: drctl/v1
kind: Runbook
name: cached
roles: { SRE: {} }
steps:
  - { id: a, owner: SRE, run: [echo, a], estimate: 1m }
  - { id: b, owner: SRE, run: [echo, b], needs: [a], estimate: 2m }
`;

function install(): { bin: string; bundle: string; cache: string } {
  const dir = makeTempDir('drctl-bundle-cache-');
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'dist', 'bundle'), { recursive: true });
  mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'src', 'version.js'), join(dir, 'dist', 'src', 'version.js'));
  // An older compiled main.js: bin/drctl.js then takes the bundle.
  writeFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), 'throw new Error("not the bundle");\n');
  utimesSync(join(dir, 'dist', 'src', 'cli', 'main.js'), new Date(1e12), new Date(1e12));
  cpSync(join(ROOT, 'dist', 'bundle', 'drctl.cjs'), join(dir, 'dist', 'bundle', 'drctl.cjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return {
    bin: join(dir, 'bin', 'drctl.js'),
    bundle: join(dir, 'dist', 'bundle', 'drctl.cjs'),
    cache: join(dir, 'dist', 'bundle', '.cache'),
  };
}

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, FORCE_COLOR: '0' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const caches = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.v8'))
    .sort();
const identity = (file: string) => {
  const st = statSync(file, { bigint: true });
  return `${st.ino}:${st.mtimeNs}`;
};

describe('bin/drctl.js with the code cache of the bundle', () => {
  it('writes one cache per command, uses it unchanged, and replaces a refused or stale one', async () => {
    const { bin, bundle, cache } = install();
    const file = join(writeTree({ 'r.yaml': RUNBOOK }), 'r.yaml');

    const first = await run(bin, ['plan', file, '--json']);
    expect(first.code).toBe(0);
    expect(caches(cache)).toHaveLength(1);
    expect(caches(cache)[0]).toMatch(/-plan\.v8$/);
    const planCache = join(cache, caches(cache)[0]!);
    const written = identity(planCache);

    // Accepted: the same output, and the file is not written again.
    const second = await run(bin, ['plan', file, '--json']);
    expect(second).toEqual(first);
    expect(identity(planCache)).toBe(written);

    // Another command has its own.
    expect((await run(bin, ['validate', file])).stdout).toMatch(/^ok .*r\.yaml/);
    expect(caches(cache).map((n) => n.replace(/^.*-/, ''))).toEqual(['plan.v8', 'validate.v8']);

    // A cache V8 refuses (here: garbage) still runs the command, and is written anew.
    writeFileSync(planCache, 'not a code cache');
    const refused = await run(bin, ['plan', file, '--json']);
    expect(refused).toEqual(first);
    expect(identity(planCache)).not.toBe(written);

    // A rewritten bundle never runs an old cache: its cache has another name.
    appendFileSync(bundle, '\n// rebuilt\n');
    const rebuilt = await run(bin, ['plan', file, '--json']);
    expect(rebuilt).toEqual(first);
    expect(caches(cache).filter((n) => n.endsWith('-plan.v8'))).toHaveLength(2);
  }, 120_000);
});
