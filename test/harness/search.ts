import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  freePort,
  onFreePort,
  makeTempDir,
  removeDir,
  startServer,
  waitUntilReady,
  type ServerProcess,
} from './process.js';

/**
 * Starts a real single-node OpenSearch or Elasticsearch from the integ-test-zip distributions that
 * scripts/fetch-search-servers.sh unpacks into `${DRCTL_CACHE:-~/.cache/drctl}/search`. Both refuse
 * to run as root, so the node runs as the unprivileged system user `drctl-search` (created once),
 * with its config, data, logs and tmp in a temp dir that user owns. Security is off, loopback only.
 */

export type SearchFlavor = 'opensearch' | 'elasticsearch' | 'elasticsearch7';

export interface SearchServer {
  url: string;
  flavor: SearchFlavor;
  version: string;
  pid: number;
  /** Its config, data and logs (removed by stop). */
  dir: string;
  stop(): Promise<void>;
  /** SIGSTOP the node's whole process group (a frozen server); `thaw` sends SIGCONT. */
  freeze(): void;
  thaw(): void;
  /** SIGKILL the node's process group (a server dying mid-check); `stop` then only cleans up. */
  kill(): void;
}

export interface StartSearchOptions {
  /** Heap in MB (-Xms = -Xmx); default 512. */
  heapMb?: number;
  /** Startup deadline; default 180 s (the JVM is slow on 2 cores). */
  timeoutMs?: number;
  /**
   * Full JIT (C1 + C2). Default off: tests and the demo run a short-lived node, and the client
   * compiler alone starts it with about a third less CPU (OpenSearch 2.19 on 2 cores: 12-14 s
   * → 8-9 s); benchmarks turn it on to measure the server at steady state.
   */
  fullJit?: boolean;
}

const USER = 'drctl-search';
const FETCH = 'scripts/fetch-search-servers.sh';

function cacheDir(): string {
  return join(process.env.DRCTL_CACHE ?? join(homedir(), '.cache', 'drctl'), 'search');
}

/** The newest unpacked distribution of the flavor in the cache; fails loudly with the fetch command. */
export function findDistribution(flavor: SearchFlavor): { home: string; version: string } {
  const artifact = flavor === 'opensearch' ? 'opensearch' : 'elasticsearch';
  const major = flavor === 'elasticsearch7' ? 7 : flavor === 'elasticsearch' ? 8 : undefined;
  const dir = cacheDir();
  const found = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((n) => n.startsWith(`${artifact}-`))
    .map((n) => ({ name: n, version: n.slice(artifact.length + 1) }))
    .filter((d) => major === undefined || d.version.startsWith(`${major}.`))
    .filter((d) => existsSync(join(dir, d.name, 'bin', artifact)))
    .sort((a, b) => compareVersions(b.version, a.version));
  const best = found[0];
  if (!best) {
    throw new Error(
      `${flavor} is not installed in ${dir}; fetch it with: bash ${FETCH} ${flavor} (needs mvn or curl, unzip, and a JDK 17+: apt-get install -y maven unzip openjdk-17-jdk-headless)`,
    );
  }
  return { home: join(dir, best.name), version: best.version };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function ensureUser(): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync(
        'useradd',
        ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER],
        {
          stdio: 'pipe',
        },
      );
    } catch (err) {
      // Another test file may have created it at the same moment.
      if (!userExists()) throw err;
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

function userExists(): boolean {
  try {
    execFileSync('id', [USER], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The cache usually lives under /root (mode 700), which the unprivileged user cannot traverse:
 * stage a world-readable copy once under the system tmp dir.
 */
function readableHome(home: string, uid: number, gid: number): string {
  if (canRead(home, uid, gid)) return home;
  const staged = join(tmpdir(), 'drctl-search-dist', home.split('/').pop() ?? 'dist');
  const marker = join(staged, '.drctl-staged');
  if (!existsSync(marker)) {
    const tmp = `${staged}.${process.pid}`;
    removeDir(tmp);
    mkdirSync(join(tmpdir(), 'drctl-search-dist'), { recursive: true, mode: 0o755 });
    cpSync(home, tmp, { recursive: true });
    execFileSync('chmod', ['-R', 'a+rX', tmp]);
    writeFileSync(join(tmp, '.drctl-staged'), '');
    try {
      if (existsSync(staged) && !existsSync(marker)) removeDir(staged); // a half-made copy
      execFileSync('mv', ['-T', tmp, staged], { stdio: 'pipe' });
    } catch (err) {
      // Another test file staged it at the same moment: use theirs.
      if (!existsSync(marker)) throw err;
    } finally {
      removeDir(tmp);
    }
  }
  return staged;
}

function canRead(path: string, uid: number, gid: number): boolean {
  try {
    execFileSync('test', ['-r', join(path, 'lib')], { uid, gid, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export async function startSearch(
  flavor: SearchFlavor,
  opts: StartSearchOptions = {},
): Promise<SearchServer> {
  const dist = findDistribution(flavor);
  const javaHome = findJavaHome();
  const { uid, gid } = ensureUser();
  const home = readableHome(dist.home, uid, gid);
  return onFreePort(flavor, (httpPort) =>
    startSearchOn(flavor, opts, dist, javaHome, uid, gid, home, httpPort),
  );
}

async function startSearchOn(
  flavor: SearchFlavor,
  opts: StartSearchOptions,
  dist: ReturnType<typeof findDistribution>,
  javaHome: string,
  uid: number,
  gid: number,
  home: string,
  httpPort: number,
): Promise<SearchServer> {
  const isOs = flavor === 'opensearch';
  const dir = makeTempDir(`search-${flavor}`);
  const conf = join(dir, 'config');
  cpSync(join(home, 'config'), conf, { recursive: true });
  for (const sub of ['data', 'logs', 'tmp']) mkdirSync(join(dir, sub));
  const transportPort = await freePort();
  // Unique, so a probe that reaches another test's node on a port taken meanwhile sees it is not ours.
  const clusterName = `drctl-${flavor}-${httpPort}-${randomUUID().slice(0, 8)}`;
  const settings = [
    `cluster.name: ${clusterName}`,
    'node.name: node-1',
    'network.host: 127.0.0.1',
    `http.port: ${httpPort}`,
    `transport.port: ${transportPort}`,
    'discovery.type: single-node',
    `path.data: ${join(dir, 'data')}`,
    `path.logs: ${join(dir, 'logs')}`,
    // Shared CI disks may be fuller than the default 85% watermark; the tests do not care.
    'cluster.routing.allocation.disk.threshold_enabled: false',
    'action.destructive_requires_name: false',
  ];
  if (!isOs) settings.push('xpack.security.enabled: false');
  rewriteJvmOptions(join(conf, 'jvm.options'), dir);
  appendFileSync(join(conf, isOs ? 'opensearch.yml' : 'elasticsearch.yml'), `\n${settings.join('\n')}\n`);
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir]);

  const heap = opts.heapMb ?? 512;
  const javaOpts = `-Xms${heap}m -Xmx${heap}m${opts.fullJit ? '' : ' -XX:TieredStopAtLevel=1'}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: 'C.UTF-8',
    JAVA_HOME: javaHome,
    OPENSEARCH_JAVA_HOME: javaHome,
    ES_JAVA_HOME: javaHome,
    ...(isOs
      ? { OPENSEARCH_PATH_CONF: conf, OPENSEARCH_JAVA_OPTS: javaOpts, OPENSEARCH_TMPDIR: join(dir, 'tmp') }
      : { ES_PATH_CONF: conf, ES_JAVA_OPTS: javaOpts, ES_TMPDIR: join(dir, 'tmp') }),
  };
  const bin = join(home, 'bin', isOs ? 'opensearch' : 'elasticsearch');
  const server = startServer(flavor, bin, [], { cwd: dir, env, logFile: join(dir, 'server.log'), uid, gid });
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    await stopGroup(server);
    removeDir(dir);
  };
  try {
    await waitUntilReady(
      server,
      async () => {
        const res = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`, {
          signal: AbortSignal.timeout(5000),
        });
        const health = (await res.json()) as { cluster_name?: string };
        return res.status === 200 && health.cluster_name === clusterName;
      },
      opts.timeoutMs ?? 180_000,
      httpPort,
    );
    // Elasticsearch 8.10+ serves `GET /` from the rest-root module, which the integ-test-zip lacks.
    const nodes = (await (await fetch(`${url}/_nodes/_local?filter_path=nodes.*.version`)).json()) as {
      nodes?: Record<string, { version?: string }>;
    };
    const version = Object.values(nodes.nodes ?? {})[0]?.version ?? dist.version;
    const pid = server.child.pid ?? 0;
    return {
      url,
      flavor,
      version,
      pid,
      dir,
      stop,
      freeze: () => signalGroup(pid, 'SIGSTOP'),
      thaw: () => signalGroup(pid, 'SIGCONT'),
      kill: () => signalGroup(pid, 'SIGKILL'),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The launchers cd into the (read-only, shared) distribution dir, so relative log paths in
 * jvm.options would point there: drop the GC log and put crash files into our own dir.
 */
function rewriteJvmOptions(file: string, dir: string): void {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !/-Xlog:gc/.test(l))
    .map((l) =>
      l.replace(
        /(-XX:(?:ErrorFile|HeapDumpPath)=)(?!\/)(.*)/,
        (_m, k: string, v: string) => `${k}${join(dir, 'logs', v.split('/').pop() ?? v)}`,
      ),
    );
  writeFileSync(file, lines.join('\n'));
}

/**
 * The launcher scripts run the JVM as a child of bash (and Elasticsearch 8 runs a CLI JVM that
 * forks the server JVM), so SIGTERM goes to the whole process group we started (detached: the
 * group id is the child's pid), and only that group is killed if it does not stop in time.
 */
async function stopGroup(server: ServerProcess): Promise<void> {
  const { child } = server;
  const pid = child.pid;
  if (!pid) return;
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
  signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* group already gone */
  }
}

/** The integ-test-zip distributions bundle no JDK: use JAVA_HOME or the one `java` on PATH resolves to. */
function findJavaHome(): string {
  const fromEnv = process.env.JAVA_HOME;
  if (fromEnv && existsSync(join(fromEnv, 'bin', 'java'))) return fromEnv;
  try {
    const java = execFileSync(
      'readlink',
      ['-f', execFileSync('which', ['java'], { encoding: 'utf8' }).trim()],
      {
        encoding: 'utf8',
      },
    ).trim();
    return dirname(dirname(java));
  } catch {
    throw new Error('java is not installed; install it with: apt-get install -y openjdk-17-jre-headless');
  }
}

/** One JSON request to a test node; throws with the answer on an HTTP error or bulk item errors. */
export async function searchRequest<T = unknown>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const ndjson = typeof body === 'string' && path.includes('_bulk');
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = (text ? JSON.parse(text) : {}) as T & { errors?: boolean };
  if (!res.ok || json.errors) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 800)}`);
  return json;
}

/** A document as raw JSON text, so tests control every byte of `_source` (number literals, key order). */
export interface RawDoc {
  id: string;
  json: string;
  routing?: string;
}

/** Bulk-indexes raw documents (in chunks), refreshing at the end unless told not to. */
export async function bulkRaw(url: string, index: string, docs: RawDoc[], refresh = true): Promise<void> {
  for (let i = 0; i < docs.length; i += 2000) {
    const lines = docs.slice(i, i + 2000).flatMap((d) => [
      JSON.stringify({
        index: { _index: index, _id: d.id, ...(d.routing === undefined ? {} : { routing: d.routing }) },
      }),
      d.json,
    ]);
    await searchRequest(url, 'POST', '/_bulk', `${lines.join('\n')}\n`);
  }
  if (refresh) await searchRequest(url, 'POST', `/${encodeURIComponent(index)}/_refresh`);
}
