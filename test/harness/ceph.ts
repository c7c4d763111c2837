import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import {
  assertOwnPort,
  freePort,
  listensOn,
  makeTempDir,
  onFreePort,
  removeDir,
  requireBinary,
  tailFile,
} from './process.js';

/**
 * A real one-host Ceph cluster (mon, osd on memstore, radosgw) for tests, the demo and the
 * benchmark: Debian's daemons started directly under a temp dir, auth none, loopback only, the
 * mon and RGW on free ports so several clusters can run side by side. Ported from the lab recipe
 * ceph-up.sh / ceph-down.sh. Daemons are stopped by the PIDs in their own pid files.
 */

export interface CephCluster {
  /** `http://127.0.0.1:<port>` (S3 API, path-style). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  /** Creates another S3 user (a separate account with its own buckets). */
  createUser(uid: string): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  /** The radosgw process id (from its pid file), for fault tests (SIGSTOP, SIGKILL). */
  gatewayPid(): number;
  /** Starts radosgw again after it was killed, on the same port; waits until it answers. */
  restartGateway(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartCephOptions {
  /** Directory for config, mon/osd data, pid files and logs; default a new temp dir (removed on stop). */
  dir?: string;
  /** memstore capacity in bytes; default 4 GiB (memory is only used as objects are written). */
  memstoreBytes?: number;
  /** rgw_multipart_min_part_size: smaller parts make multipart tests cheap; default RGW's 5 MiB. */
  multipartMinPartSize?: number;
  /** Extra `key = value` lines for the radosgw section (benchmarks tune bulk loading with it). */
  gatewayConfig?: string[];
  /** The gateway's first port to try (the harness's own test takes it first); default a free one. */
  firstGatewayPort?: number;
}

// Tests, the demo and the bench run on Node 20; the SDK's notice about its future minimum is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const APT = 'apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common';
const BINARIES = [
  '/usr/bin/ceph-mon',
  '/usr/bin/ceph-osd',
  '/usr/bin/radosgw',
  '/usr/bin/radosgw-admin',
  '/usr/bin/ceph',
  '/usr/bin/ceph-authtool',
  '/usr/bin/monmaptool',
];
/** Stop order: the gateway first, the monitor last. */
const DAEMONS = ['client.rgw.gw', 'osd.0', 'mon.a'] as const;
const ACCESS_KEY = 'DRCTLLABKEY';
const SECRET_KEY = 'drctl-lab-secret';

function renderConfig(
  dir: string,
  fsid: string,
  monPort: number,
  rgwPort: number,
  memstoreBytes: number,
  multipartMinPartSize: number | undefined,
  gatewayConfig: string[] = [],
): string {
  return `[global]
fsid = ${fsid}
mon initial members = a
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = ${dir}/keyring
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
crash dir = ${dir}/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon max pg per osd = 1000
[mon.a]
mon data = ${dir}/mon.a
[osd.0]
osd data = ${dir}/osd.0
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
osd memory target = 1073741824
[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
# radosgw hard-codes auth_client_required=cephx and ms_mon_client_mode=secure; with auth none
# its mon connection would otherwise loop on 'get_initial_auth_request returned -13'.
auth client required = none
ms mon client mode = crc
rgw data = ${dir}/rgw
rgw dns name = 127.0.0.1
${multipartMinPartSize === undefined ? '' : `rgw multipart min part size = ${multipartMinPartSize}\n`}${gatewayConfig.map((l) => `${l}\n`).join('')}`;
}

function readPid(dir: string, daemon: string): number | undefined {
  const file = join(dir, 'run', `${daemon}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Running, not a zombie: a daemon whose parent is a container's non-reaping init lingers as one. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function stopDaemon(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** Stops the daemons of the cluster in `dir` by the PIDs in their pid files (SIGTERM, then SIGKILL). */
export async function stopCeph(dir: string): Promise<void> {
  for (const daemon of DAEMONS) {
    const pid = readPid(dir, daemon);
    if (pid !== undefined && isAlive(pid)) await stopDaemon(pid);
  }
}

async function pollUntil(
  what: string,
  dir: string,
  log: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch {
      /* not ready yet */
    }
    await sleep(200);
  }
  throw new Error(
    `ceph: ${what} not ready after ${timeoutMs} ms (dir ${dir}); log tail:\n${tailFile(join(dir, 'log', log))}`,
  );
}

/** Starts mon + osd (memstore) + radosgw and creates one S3 user; about 10–15 s. */
export async function startCeph(opts: StartCephOptions = {}): Promise<CephCluster> {
  for (const bin of BINARIES) requireBinary(bin, APT);
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? makeTempDir('ceph');
  for (const sub of ['run', 'log', 'mon.a', 'osd.0', 'rgw', 'crash'])
    mkdirSync(join(dir, sub), { recursive: true });
  const monPort = await freePort();
  const fsid = randomUUID();
  const conf = join(dir, 'ceph.conf');
  const writeConfig = (rgwPort: number) =>
    writeFileSync(
      conf,
      renderConfig(
        dir,
        fsid,
        monPort,
        rgwPort,
        opts.memstoreBytes ?? 4 * 1024 ** 3,
        opts.multipartMinPartSize,
        opts.gatewayConfig,
      ),
    );
  // The gateway's port is picked when the gateway starts (after mon and osd, ~10 s later).
  writeConfig(0);
  // Every ceph tool and daemon below reads this file instead of /etc/ceph/ceph.conf.
  const env = { ...process.env, CEPH_CONF: conf };
  const run = (cmd: string, args: string[], timeout = 60_000) => execa(cmd, args, { env, timeout });
  let rgwPort = 0;
  const startGateway = async (port: number) => {
    writeConfig(port);
    rmSync(join(dir, 'run', 'client.rgw.gw.pid'), { force: true });
    // radosgw stays in the foreground until it has reached the mon, then daemonizes.
    await run('radosgw', ['-n', 'client.rgw.gw'], 120_000);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const pid = readPid(dir, 'client.rgw.gw');
      if (pid !== undefined) {
        if (!isAlive(pid))
          throw new Error(
            `ceph: radosgw exited during startup; log tail:\n${tailFile(join(dir, 'log', 'client.rgw.gw.log'))}`,
          );
        // A port taken by another test's server meanwhile: radosgw can never bind it, and a probe
        // would reach that server. onFreePort starts the gateway again on another port.
        assertOwnPort('radosgw', pid, port);
        if (listensOn(pid, port) !== false) {
          try {
            const res = await fetch(`http://127.0.0.1:${port}`, { signal: AbortSignal.timeout(2000) });
            await res.arrayBuffer();
            rgwPort = port;
            return;
          } catch {
            /* not ready yet */
          }
        }
      }
      await sleep(200);
    }
    throw new Error(
      `ceph: radosgw not ready after 120000 ms (dir ${dir}); log tail:\n${tailFile(join(dir, 'log', 'client.rgw.gw.log'))}`,
    );
  };
  const startGatewayOnFreePort = () =>
    onFreePort(
      'radosgw',
      async (port) => {
        try {
          await startGateway(port);
        } catch (err) {
          const pid = readPid(dir, 'client.rgw.gw');
          if (pid !== undefined && isAlive(pid)) await stopDaemon(pid);
          throw err;
        }
      },
      opts.firstGatewayPort,
    );
  try {
    const keyring = join(dir, 'keyring');
    await run('ceph-authtool', [
      '--create-keyring',
      keyring,
      '--gen-key',
      '-n',
      'mon.',
      '--cap',
      'mon',
      'allow *',
    ]);
    await run('ceph-authtool', [
      keyring,
      '--gen-key',
      '-n',
      'client.admin',
      '--cap',
      'mon',
      'allow *',
      '--cap',
      'osd',
      'allow *',
    ]);
    const monmap = join(dir, 'monmap');
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, monmap]);
    await run('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', keyring]);
    await run('ceph-mon', ['-i', 'a']); // daemonizes; pid in run/mon.a.pid
    await pollUntil('mon', dir, 'mon.a.log', 30_000, async () => {
      await run('ceph', ['-s', '--connect-timeout', '2'], 10_000);
      return true;
    });
    const osdUuid = randomUUID();
    const id = (await run('ceph', ['osd', 'new', osdUuid])).stdout.trim();
    if (id !== '0') throw new Error(`ceph: expected osd id 0, got ${id}`);
    await run('ceph-osd', ['-i', id, '--mkfs', '--osd-uuid', osdUuid]);
    await run('ceph-osd', ['-i', id]);
    await pollUntil('osd', dir, 'osd.0.log', 60_000, async () => {
      const { stdout } = await run('ceph', ['osd', 'stat'], 10_000);
      return stdout.includes('1 up');
    });
    await startGatewayOnFreePort();
    await run('radosgw-admin', [
      'user',
      'create',
      '--uid=drctl-lab',
      '--display-name=drctl lab',
      `--access-key=${ACCESS_KEY}`,
      `--secret=${SECRET_KEY}`,
    ]);
  } catch (err) {
    await stopCeph(dir);
    if (ownsDir) removeDir(dir);
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${rgwPort}`,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    dir,
    async createUser(uid: string) {
      const keys = { accessKeyId: `${uid.toUpperCase()}KEY`, secretAccessKey: `${uid}-secret` };
      await run('radosgw-admin', [
        'user',
        'create',
        `--uid=${uid}`,
        `--display-name=${uid}`,
        `--access-key=${keys.accessKeyId}`,
        `--secret=${keys.secretAccessKey}`,
      ]);
      return keys;
    },
    gatewayPid() {
      const pid = readPid(dir, 'client.rgw.gw');
      if (pid === undefined) throw new Error(`ceph: no radosgw pid file in ${dir}/run`);
      return pid;
    },
    async restartGateway() {
      const pid = readPid(dir, 'client.rgw.gw');
      for (let i = 0; i < 50 && pid !== undefined && isAlive(pid); i++) await sleep(100);
      if (pid !== undefined && isAlive(pid)) throw new Error(`ceph: radosgw ${pid} is still running`);
      await startGateway(rgwPort);
    },
    async stop() {
      await stopCeph(dir);
      if (ownsDir) removeDir(dir);
    },
  };
}
