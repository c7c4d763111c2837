import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Runs a tool and returns its stdout; its stderr is shown only when it fails. */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const { stdout } = await promisify(execFile)(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 64 << 20 });
  return stdout;
}
