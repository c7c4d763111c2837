import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** File name of a run's journal inside its run directory. */
export const JOURNAL_FILE = 'journal.jsonl';

/** Home directory used when neither `--runs-dir` nor `DRCTL_HOME` is given (relative to the cwd). */
export const DEFAULT_HOME = '.drctl';

/** A run directory located on disk. */
export interface RunLocation {
  /** The run id (the directory name). */
  id: string;
  /** Absolute path of the run directory. */
  dir: string;
  /** Absolute path of its journal.jsonl. */
  journalPath: string;
}

/**
 * The directory that holds run directories: `--runs-dir` when given, else `$DRCTL_HOME/runs`,
 * else `.drctl/runs` under the cwd.
 */
export function resolveRunsDir(
  runsDirOption: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string {
  if (runsDirOption !== undefined && runsDirOption !== '') return resolve(cwd, runsDirOption);
  const home = env.DRCTL_HOME !== undefined && env.DRCTL_HOME !== '' ? env.DRCTL_HOME : DEFAULT_HOME;
  return resolve(cwd, home, 'runs');
}

/**
 * A new run id: UTC time to the millisecond plus a random suffix, e.g. `20261122T021539123Z-3f9a`.
 * Ids sort lexicographically in time order, which is what `latest` relies on.
 */
export function makeRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * mkdir -p with an error a person can act on: a runs dir that is a file, read-only or on a full
 * disk is a usage error (exit 2) naming the path, not an internal error.
 */
export function ensureDir(path: string, what = 'the runs directory'): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    let code = (err as NodeJS.ErrnoException).code ?? String(err);
    // Node's recursive mkdir reports ENOENT where the parent exists on a read-only file system:
    // creating the first missing part on its own gives the real reason (EROFS, EACCES).
    if (code === 'ENOENT') code = firstMissingPartError(path) ?? code;
    const why: Record<string, string> = {
      ENOTDIR: 'a part of the path is a file, not a directory',
      EEXIST: 'a file of that name exists',
      EACCES: 'permission denied',
      EPERM: 'permission denied',
      EROFS: 'the file system is read-only',
      ENOSPC: 'the disk is full',
    };
    throw new UsageError(`cannot create ${what} ${path}: ${why[code] ?? code}`, {
      hint: 'pass --runs-dir <dir> (or set DRCTL_HOME) to a writable directory with free space',
    });
  }
}

function firstMissingPartError(path: string): string | undefined {
  let part = resolve(path);
  while (dirname(part) !== part && !existsSync(dirname(part))) part = dirname(part);
  try {
    mkdirSync(part);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

/** Creates `<runsDir>/<runId>/` and returns where its journal goes. */
export function createRunDir(runsDir: string, runId: string): RunLocation {
  const dir = join(runsDir, runId);
  ensureDir(dir);
  return { id: runId, dir, journalPath: join(dir, JOURNAL_FILE) };
}

/** Every run directory with a journal, oldest first (run ids sort by time). */
export function listRuns(runsDir: string): RunLocation[] {
  let names: string[];
  try {
    names = readdirSync(runsDir);
  } catch {
    return [];
  }
  return names
    .filter((name) => !name.startsWith('.') && existsSync(join(runsDir, name, JOURNAL_FILE)))
    .sort()
    .map((name) => ({ id: name, dir: join(runsDir, name), journalPath: join(runsDir, name, JOURNAL_FILE) }));
}

/**
 * Finds a run by id, unique id prefix, `latest` (the newest run), or a path to a run directory
 * or journal file. Throws UsageError (exit 2) with a hint when nothing matches.
 */
export function resolveRun(runsDir: string, idOrLatest: string): RunLocation {
  const byPath = locateByPath(idOrLatest);
  if (byPath !== undefined) return byPath;
  const runs = listRuns(runsDir);
  if (runs.length === 0) {
    throw new UsageError(`no runs found under ${runsDir}`, {
      hint: 'pass --runs-dir <dir> or set DRCTL_HOME to where the runs were recorded (default .drctl in the cwd)',
    });
  }
  if (idOrLatest === 'latest') return runs.at(-1)!;
  const exact = runs.find((r) => r.id === idOrLatest);
  if (exact !== undefined) return exact;
  const prefixed = runs.filter((r) => r.id.startsWith(idOrLatest));
  if (prefixed.length === 1) return prefixed[0]!;
  const recent = runs
    .slice(-5)
    .reverse()
    .map((r) => r.id)
    .join(', ');
  if (prefixed.length > 1) {
    throw new UsageError(`run id "${idOrLatest}" is ambiguous: it matches ${prefixed.length} runs`, {
      hint: `give more of the id; matching runs: ${prefixed
        .map((r) => r.id)
        .slice(0, 5)
        .join(', ')}`,
    });
  }
  throw new UsageError(`unknown run "${idOrLatest}" under ${runsDir}`, {
    hint: `use "latest" or one of the recent runs: ${recent}`,
  });
}

function locateByPath(arg: string): RunLocation | undefined {
  if (!arg.includes('/') && !arg.endsWith('.jsonl')) return undefined;
  const path = resolve(arg);
  if (!existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) {
    const journalPath = join(path, JOURNAL_FILE);
    if (!existsSync(journalPath)) return undefined;
    return { id: path.split('/').at(-1) ?? path, dir: path, journalPath };
  }
  const dir = resolve(path, '..');
  return { id: dir.split('/').at(-1) ?? dir, dir, journalPath: path };
}
