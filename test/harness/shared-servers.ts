import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSearch, type SearchFlavor, type SearchServer } from './search.js';

/**
 * Search servers shared by the test files of one vitest run. A JVM start costs 8-14 s of CPU
 * on 2 cores, and the read-only checker suites (es-checker, es-verdict-corpus) used to start
 * six pairs between them. The first file that asks for a flavor starts its pair (under a mkdir
 * lock, so two workers never both start one), records it in the run's directory, and later
 * files reuse it; the global teardown stops them all. Files that freeze or kill a server start
 * their own (startSearch). Each file must use index names no other file uses.
 */
const ENV = 'DRCTL_SHARED_SERVERS';
const WAIT_MS = 300_000;

interface Record_ {
  url: string;
  flavor: SearchFlavor;
  version: string;
  pid: number;
  dir: string;
}

/** The global setup: a directory for the run's shared servers; the teardown stops them. */
export function setupSharedServers(): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'drctl-shared-'));
  process.env[ENV] = dir;
  return async () => {
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const servers = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record_[];
      for (const s of servers) stopGroup(s.pid);
      await sleep(0);
      for (const s of servers) {
        await waitGone(s.pid, 20_000);
        rmSync(s.dir, { recursive: true, force: true });
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * A Main/DR pair of `flavor` shared with the other files of this run. Outside a vitest run with
 * the global setup (no shared directory), starts a pair of its own: `release` stops it then.
 */
export async function sharedSearchPair(
  flavor: SearchFlavor,
): Promise<{ main: SearchServer; dr: SearchServer; release: () => Promise<void> }> {
  const dir = process.env[ENV];
  if (!dir) {
    const [main, dr] = await Promise.all([startSearch(flavor), startSearch(flavor)]);
    return { main, dr, release: async () => void (await Promise.all([main.stop(), dr.stop()])) };
  }
  const file = join(dir, `search-${flavor}.json`);
  const lock = join(dir, `search-${flavor}.lock`);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (existsSync(file)) {
      const [main, dr] = (JSON.parse(readFileSync(file, 'utf8')) as Record_[]).map(shared);
      return { main: main!, dr: dr!, release: () => Promise.resolve() };
    }
    let mine = false;
    try {
      mkdirSync(lock);
      mine = true;
    } catch {
      /* another worker is starting it */
    }
    if (mine) {
      try {
        const pair = await Promise.all([startSearch(flavor), startSearch(flavor)]);
        const records: Record_[] = pair.map(({ url, version, pid, dir: d }) => ({
          url,
          flavor,
          version,
          pid,
          dir: d,
        }));
        writeFileSync(`${file}.tmp`, JSON.stringify(records));
        renameSync(`${file}.tmp`, file);
        continue;
      } finally {
        rmdirSync(lock);
      }
    }
    if (Date.now() > deadline) throw new Error(`no shared ${flavor} pair after ${WAIT_MS} ms (lock ${lock})`);
    await sleep(250);
  }
}

function shared(r: Record_): SearchServer {
  const refuse = (what: string) => (): never => {
    throw new Error(`a shared ${r.flavor} server must not be ${what}: start one with startSearch`);
  };
  return {
    ...r,
    stop: () => Promise.resolve(),
    freeze: refuse('frozen'),
    thaw: refuse('thawed'),
    kill: refuse('killed'),
  };
}

function stopGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    /* gone */
  }
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await sleep(200);
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
