import { execFile, spawn } from 'node:child_process';
import { makeTempDir } from '../harness/process.js';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}bin/drctl.js`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`npm run build` first) with no stdin, as CI and scripts do. */
export function drctl(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd ?? ROOT,
        env: { ...process.env, FORCE_COLOR: '0', ...options.env },
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) => {
        const code =
          err && typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : err
              ? 1
              : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** Runs the README's demo (scripts/demo/run.ts) with its lab in a fresh temp dir named after `name`. */
export function runDemoIn(
  name: string,
  args: string[],
): Promise<{ code: number; output: string; dir: string }> {
  const dir = makeTempDir(name);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo/run.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DRCTL_DEMO_DIR: dir, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, output, dir }));
  });
}
