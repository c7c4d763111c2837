import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPreflight } from '../../src/preflight/preflight.js';
import type { PreflightReport, ProbeLine } from '../../src/preflight/types.js';
import { applyUnplanned } from '../../src/reconcile/unplanned.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { startCeph, type CephCluster } from '../harness/ceph.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';
import { makeTempDir, removeDir } from '../harness/process.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { bulkRaw, searchRequest, startSearch, type SearchServer } from '../harness/search.js';

/**
 * `drctl preflight` and the switch's preflight against one real lab (MariaDB primary + replica,
 * Redis + replica, Ceph RGW, OpenSearch), started once: each fault is planted alone, found as a
 * fail naming the resource and the fix, then undone.
 */
const CHECK_PW = 'pf-check-pw-7731';
const TOKEN = 'pf-token-s3cr3t-9182';
let pair: MariaDbPair;
let redisMain: RedisServer;
let redisDr: RedisServer;
let ceph: CephCluster;
let search: SearchServer;
let s3: S3Client;
let silent: Server;
const silentSockets: Socket[] = [];
let dir: string;
let rbFile: string;
let script: string;

const env: Record<string, string> = {};

function writeLabRunbook(opts: { qaMembers?: string[] } = {}): string {
  return writeRunbook(dir, 'pf-lab', {
    environment: `pf-${process.pid}`,
    direction: 'switchover',
    roles: {
      SRE: { members: ['sre.one'] },
      DBA: { members: ['dba.one'] },
      QA: { members: opts.qaMembers ?? ['qa.one'] },
    },
    directions: { switchover: { target: 'dr' }, switchback: { target: 'live' } },
    resources: {
      core: {
        kind: 'mysql',
        primary: 'mysql://drctl_check:${env:PF_CHECK_PW}@127.0.0.1:${env:PF_MAIN_PORT}',
        replica: 'mysql://drctl_check:${env:PF_CHECK_PW}@127.0.0.1:${env:PF_DR_PORT}',
      },
      cfg: { kind: 'redis', url: '${env:PF_REDIS}', source: '${env:PF_REDIS}', target: '${env:PF_REDIS_DR}' },
      docs: {
        kind: 's3',
        source: {
          endpoint: '${env:PF_S3}',
          bucket: 'docs-main',
          accessKeyId: '${env:PF_S3_ID}',
          secretAccessKey: '${env:PF_S3_SECRET}',
        },
        target: {
          endpoint: '${env:PF_S3}',
          bucket: 'docs-dr',
          accessKeyId: '${env:PF_S3_ID}',
          secretAccessKey: '${env:PF_S3_SECRET}',
        },
      },
      search: { kind: 'es', source: { url: '${env:PF_ES}' }, target: { url: '${env:PF_ES}' } },
    },
    steps: [
      { id: 'prep', owner: 'SRE', run: ['./scripts/prep.sh', '${env:PF_TOKEN}'] },
      {
        id: 'read-core',
        owner: 'DBA',
        sql: { resource: 'core', on: 'replica', statements: 'SELECT 1', expect: 1 },
      },
      {
        id: 'gate-core',
        owner: 'DBA',
        needs: ['prep'],
        check: { kind: 'mysql', resource: 'core', databases: ['bank'] },
      },
      { id: 'gate-docs', owner: 'DBA', needs: ['prep'], check: { kind: 's3', resource: 'docs' } },
      {
        id: 'gate-search',
        owner: 'DBA',
        needs: ['prep'],
        check: { kind: 'es', resource: 'search', index: 'transactions' },
      },
      {
        id: 'flip',
        owner: 'SRE',
        needs: ['gate-*'],
        redis: { resource: 'cfg', set: { 'bcf.resource.target.mysql': '${dir.target}' } },
      },
      { id: 'qa', owner: 'QA', needs: ['flip'], manual: 'verify on ${dir.target}' },
    ],
  });
}

beforeAll(async () => {
  dir = makeTempDir('preflight');
  mkdirSync(join(dir, 'scripts'));
  script = join(dir, 'scripts', 'prep.sh');
  writeFileSync(script, `#!/bin/sh\ntouch "${join(dir, 'prep-ran')}"\n`);
  chmodSync(script, 0o755);
  silent = createServer((s) => silentSockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  // Ceph's monitor misses its start deadline when a JVM starts beside it on 2 cores: Ceph first,
  // then OpenSearch, while MariaDB and Redis start alongside.
  const started = await Promise.allSettled([
    startMariaDbPair(),
    startRedis(),
    startRedis(),
    (async () => {
      ceph = await startCeph();
      search = await startSearch('opensearch', { heapMb: 384 });
    })(),
  ]);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  [pair, redisMain, redisDr] = started
    .slice(0, 3)
    .map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as [
    MariaDbPair,
    RedisServer,
    RedisServer,
  ];
  await pair.primary.query(
    `CREATE DATABASE bank; CREATE TABLE bank.t (id INT PRIMARY KEY); INSERT INTO bank.t VALUES (1),(2);` +
      `CREATE USER drctl_check@'127.0.0.1' IDENTIFIED BY '${CHECK_PW}';` +
      `GRANT SELECT, SHOW VIEW, BINLOG MONITOR, SLAVE MONITOR ON *.* TO drctl_check@'127.0.0.1'`,
  );
  await waitForReplicaCatchUp(pair);
  await pair.replica.query('SET GLOBAL gtid_strict_mode = ON');
  await pair.primary.query('SET GLOBAL gtid_strict_mode = ON');
  const main = new Redis(redisMain.url);
  await main.set('bcf.resource.target.mysql', 'live');
  main.disconnect();
  await replicate();
  s3 = new S3Client({
    endpoint: ceph.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
  });
  for (const b of ['docs-main', 'docs-dr']) await makeBucket(b);
  await bulkRaw(
    search.url,
    'transactions',
    [1, 2, 3].map((i) => ({ id: String(i), json: `{"n":${i}}` })),
  );
  Object.assign(env, {
    PF_CHECK_PW: CHECK_PW,
    PF_MAIN_PORT: String(pair.primary.port),
    PF_DR_PORT: String(pair.replica.port),
    PF_REDIS: redisMain.url,
    PF_REDIS_DR: redisDr.url,
    PF_S3: ceph.endpoint,
    PF_S3_ID: ceph.accessKeyId,
    PF_S3_SECRET: ceph.secretAccessKey,
    PF_ES: search.url,
    PF_TOKEN: TOKEN,
  });
  Object.assign(process.env, env);
  rbFile = writeLabRunbook();
}, 240_000);

afterAll(async () => {
  s3?.destroy();
  for (const s of silentSockets) s.destroy();
  silent?.close();
  await Promise.allSettled([pair?.stop(), redisMain?.stop(), redisDr?.stop(), ceph?.stop(), search?.stop()]);
  if (dir) removeDir(dir);
});

async function replicate(): Promise<void> {
  const dr = new Redis(redisDr.url);
  try {
    await dr.replicaof('127.0.0.1', redisMain.port);
    for (let i = 0; i < 100; i++) {
      if (/master_link_status:up/.test(await dr.info('replication'))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('redis replica link did not come up');
  } finally {
    dr.disconnect();
  }
}

async function makeBucket(b: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  for (const k of ['a.pdf', 'b.pdf']) await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: k }));
}

async function preflight(timeoutMs = 5_000): Promise<PreflightReport> {
  return runPreflight({
    directions: ['switchover'],
    load: (direction) => loadRunbook(rbFile, { direction, lenientSecrets: true }),
    timeoutMs,
  });
}

const fails = (r: PreflightReport): ProbeLine[] => r.lines.filter((l) => l.status === 'fail');

/** Exactly one kind of fail, in `group`, whose message and fix match. */
function expectOnlyFail(r: PreflightReport, group: string, message: RegExp, fix: RegExp): ProbeLine {
  const f = fails(r);
  expect(f.map((l) => `${l.group}: ${l.item}: ${l.message}`)).toEqual(
    f.filter((l) => l.group === group).map((l) => `${l.group}: ${l.item}: ${l.message}`),
  );
  const hit = f.find((l) => message.test(l.message));
  expect(hit, JSON.stringify(f)).toBeDefined();
  expect(hit!.fix ?? '').toMatch(fix);
  expect(r.exitCode).toBe(1);
  return hit!;
}

describe('preflight against a real lab', () => {
  it('the clean lab is ready: exit 0, every resource probed, no secret printed', async () => {
    const r = await runCli(['preflight', rbFile, '--timeout', '5s']);
    expect(r.stderr).toBe('');
    expect(r.exitCode, r.stdout).toBe(0);
    for (const group of [
      'core (mysql)',
      'cfg (redis)',
      'docs (s3)',
      'search (es)',
      'roles',
      'steps of the runbook',
    ])
      expect(r.stdout).toContain(group);
    expect(r.stdout).toMatch(/ok\s+replica replication\s+IO and SQL threads running/);
    expect(r.stdout).toMatch(/ok\s+key bcf.resource.target.mysql\s+holds "live"/);
    expect(r.stdout).toMatch(/ok\s+object counts\s+source 2, target 2/);
    expect(r.stdout).toMatch(/ok\s+index transactions\s+docs: source 3, target 3/);
    expect(r.stdout).toMatch(/^READY: 0 fail/m);
    for (const secret of [CHECK_PW, TOKEN, ceph.secretAccessKey]) expect(r.stdout).not.toContain(secret);
  });

  it('a check user without REPLICATION CLIENT: a fail naming the GRANT', async () => {
    await pair.primary.query(`REVOKE REPLICATION CLIENT ON *.* FROM drctl_check@'127.0.0.1'`);
    await waitForReplicaCatchUp(pair);
    try {
      const hit = expectOnlyFail(
        await preflight(),
        'core',
        /lacks BINLOG MONITOR \(REPLICATION CLIENT/,
        /^GRANT BINLOG MONITOR ON \*\.\* TO 'drctl_check'@'127.0.0.1'$/,
      );
      expect(hit.item).toMatch(/privileges$/);
    } finally {
      await pair.primary.query(`GRANT BINLOG MONITOR ON *.* TO drctl_check@'127.0.0.1'`);
      await waitForReplicaCatchUp(pair);
    }
  });

  it('a stopped replica SQL thread: a fail saying to start it', async () => {
    await pair.replica.query('STOP SLAVE SQL_THREAD');
    try {
      const hit = expectOnlyFail(
        await preflight(),
        'core',
        /replication stopped: IO thread Yes, SQL thread No$/,
        /START SLAVE/,
      );
      expect(hit.item).toBe('replica replication');
    } finally {
      await pair.replica.query('START SLAVE SQL_THREAD');
    }
  });

  it('replication broken with an error: a fail quoting the error', async () => {
    await pair.replica.query('SET sql_log_bin = 0; INSERT INTO bank.t VALUES (3); SET sql_log_bin = 1');
    await pair.primary.query('INSERT INTO bank.t VALUES (3)');
    try {
      for (let i = 0; i < 100; i++) {
        const [s] = (await pair.replica.query('SHOW SLAVE STATUS')) as { Slave_SQL_Running: string }[];
        if (s?.Slave_SQL_Running === 'No') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expectOnlyFail(
        await preflight(),
        'core',
        /replication broken: .*SQL error: .*Duplicate entry '3'/,
        /fix the cause .* START SLAVE/,
      );
    } finally {
      await pair.replica.query(
        'SET sql_log_bin = 0; DELETE FROM bank.t WHERE id = 3; SET sql_log_bin = 1; START SLAVE',
      );
      await waitForReplicaCatchUp(pair);
    }
  });

  it('a missing bucket: a fail naming the bucket and side', async () => {
    for (const k of ['a.pdf', 'b.pdf']) await s3.send(new DeleteObjectCommand({ Bucket: 'docs-dr', Key: k }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'docs-dr' }));
    try {
      const hit = expectOnlyFail(
        await preflight(),
        'docs',
        /bucket docs-dr does not exist on the target/,
        /create the bucket/,
      );
      expect(hit.item).toBe('target bucket docs-dr');
    } finally {
      await makeBucket('docs-dr');
    }
  });

  it('a missing index: a fail naming the index', async () => {
    await searchRequest(search.url, 'DELETE', '/transactions');
    try {
      expectOnlyFail(
        await preflight(),
        'search',
        /index transactions missing on the source/,
        /create or restore transactions/,
      );
    } finally {
      await bulkRaw(
        search.url,
        'transactions',
        [1, 2, 3].map((i) => ({ id: String(i), json: `{"n":${i}}` })),
      );
    }
  });

  it('a Redis replica with its link down: a fail', async () => {
    const dr = new Redis(redisDr.url);
    await dr.replicaof('127.0.0.1', (silent.address() as { port: number }).port);
    dr.disconnect();
    try {
      const hit = expectOnlyFail(
        await preflight(),
        'cfg',
        /the DR replica .* has its link to 127.0.0.1:\d+ down/,
        /check the network and auth/,
      );
      expect(hit.item).toBe('replica link');
    } finally {
      await replicate();
    }
  });

  it('a config key with the wrong value for the direction: a fail naming the expected value', async () => {
    const main = new Redis(redisMain.url);
    await main.set('bcf.resource.target.mysql', 'dr');
    try {
      expectOnlyFail(
        await preflight(),
        'cfg',
        /holds "dr", the value this switch sets \(already flipped\?\); expected "live" before the switch \(what the switchback sets\)/,
        /SET bcf.resource.target.mysql live/,
      );
    } finally {
      await main.set('bcf.resource.target.mysql', 'live');
      main.disconnect();
    }
  });

  it('a script without its execute bit: a fail saying chmod +x', async () => {
    chmodSync(script, 0o644);
    try {
      expectOnlyFail(
        await preflight(),
        'steps of the runbook',
        /prep.sh is not executable \(step prep\)/,
        /^chmod \+x .*prep.sh/,
      );
    } finally {
      chmodSync(script, 0o755);
    }
  });

  it('an unset secret: a fail naming the variable, never a value', async () => {
    delete process.env['PF_TOKEN'];
    try {
      const r = await preflight();
      const hit = expectOnlyFail(
        r,
        'secrets',
        /environment variable PF_TOKEN is not set \(used by step prep\)/,
        /export PF_TOKEN=/,
      );
      expect(hit.item).toBe('env:PF_TOKEN');
      expect(JSON.stringify(r)).not.toContain(CHECK_PW);
    } finally {
      process.env['PF_TOKEN'] = TOKEN;
    }
  });

  it('a manual role with no members: a fail', async () => {
    rbFile = writeLabRunbook({ qaMembers: [] });
    try {
      expectOnlyFail(
        await preflight(),
        'roles',
        /nobody may approve 1 manual step \(qa\): QA has no members, and approvals are refused/,
        /roles.QA.members/,
      );
    } finally {
      rbFile = writeLabRunbook();
    }
  });

  it('an unreachable host: one fail line after --timeout, not a hang', async () => {
    process.env['PF_MAIN_PORT'] = String((silent.address() as { port: number }).port);
    try {
      const t0 = Date.now();
      const r = await preflight(1_500);
      expect(Date.now() - t0).toBeLessThan(6_000);
      const hit = expectOnlyFail(r, 'core', /no answer within 1\.5|primary .*cannot connect/, /.+/);
      expect(fails(r)).toHaveLength(1);
      expect(hit.item).toMatch(/^primary/);
    } finally {
      process.env['PF_MAIN_PORT'] = env['PF_MAIN_PORT'];
    }
  });

  it('--json and --format html report a planted fail with exit 1', async () => {
    chmodSync(script, 0o644);
    try {
      const html = join(dir, 'ready.html');
      const [j, h] = await Promise.all([
        runCli(['preflight', rbFile, '--json', '--only', 'prep']),
        runCli(['preflight', rbFile, '--format', 'html', '-o', html, '--only', 'prep']),
      ]);
      expect(j.exitCode, j.stderr).toBe(1);
      const report = JSON.parse(j.stdout) as PreflightReport;
      expect(report.counts.fail).toBe(1);
      expect(report.lines.find((l) => l.status === 'fail')?.fix).toMatch(/chmod \+x/);
      expect(h.exitCode, h.stderr).toBe(1);
      const page = readFileSync(html, 'utf8');
      expect(page).toMatch(/^<!doctype html>/);
      expect(page).toContain('NOT READY: 1 fail');
      expect(page).toContain('is not executable');
      expect(page).not.toMatch(/<script|<link|src="http/);
      expect(page).not.toContain(TOKEN);
    } finally {
      chmodSync(script, 0o755);
    }
  });
});

describe('preflight of an unplanned switch (Main gone)', () => {
  /** Main's DSN points at a closed port; the remote log lives on the third site (here: the lab primary). */
  function writeUnplannedRunbook(amountColumn: string): string {
    const dr = 'mysql://drctl_check:${env:PF_CHECK_PW}@127.0.0.1:${env:PF_DR_PORT}';
    return writeRunbook(dir, 'pf-unplanned', {
      environment: `pf-u-${process.pid}`,
      direction: 'switchover',
      roles: { DBA: { members: ['dba.one'] }, HEAD: { members: ['head.one'] } },
      dataRiskRole: 'HEAD',
      directions: { switchover: { target: 'dr' }, switchback: { target: 'live' } },
      resources: {
        core: { kind: 'mysql', primary: 'mysql://drctl_check:${env:PF_CHECK_PW}@127.0.0.1:1', replica: dr },
        paylog: {
          kind: 'remote-log',
          log: 'mysql://drctl_check:${env:PF_CHECK_PW}@127.0.0.1:${env:PF_MAIN_PORT}',
          logTable: 'bank_log.remote_log',
          ledger: dr,
          ledgerTable: 'bank.payments',
          amount: amountColumn,
        },
      },
      steps: [
        {
          id: 'freeze',
          owner: 'DBA',
          sql: { resource: 'core', on: 'primary', statements: 'SET GLOBAL read_only = ON' },
          unplanned: 'skip',
        },
        { id: 'gate-core', owner: 'DBA', needs: ['freeze'], check: { kind: 'mysql', resource: 'core' } },
      ],
    });
  }
  const run = (file: string, unplanned: boolean) =>
    runPreflight({
      directions: ['switchover'],
      load: (direction) => {
        const rb = loadRunbook(file, { direction, lenientSecrets: true });
        return unplanned ? applyUnplanned(rb) : rb;
      },
      timeoutMs: 5_000,
    });

  it('probes only DR and the remote log; a replica cut off from Main is a warning; a missing column is a fail', async () => {
    await pair.primary.query(
      `CREATE DATABASE bank_log; CREATE TABLE bank_log.remote_log (id BIGINT PRIMARY KEY, account VARCHAR(20),
         transaction_id VARCHAR(40), amount DECIMAL(14,2), log_time DATETIME, reconciled_time DATETIME NULL);
       CREATE TABLE bank.payments (transaction_id VARCHAR(40) PRIMARY KEY, account VARCHAR(20), amount DECIMAL(14,2))`,
    );
    await waitForReplicaCatchUp(pair);
    await pair.replica.query('STOP SLAVE IO_THREAD');
    try {
      const file = writeUnplannedRunbook('amount');
      // Planned, the same runbook needs Main: its skipped freeze and the full gate fail on it.
      const planned = await run(file, false);
      expect(fails(planned).some((l) => l.group === 'core' && /primary/.test(l.item))).toBe(true);

      const r = await run(file, true);
      expect(fails(r), JSON.stringify(fails(r))).toEqual([]);
      expect(r.exitCode).toBe(0);
      expect(r.lines.filter((l) => l.group === 'core').some((l) => /primary/.test(l.item))).toBe(false);
      const repl = r.lines.find((l) => l.group === 'core' && l.item === 'replica replication');
      expect(repl).toMatchObject({
        status: 'warning',
        message: expect.stringMatching(/IO thread No.*expected when Main is gone/) as unknown,
      });
      expect(r.lines.filter((l) => l.group === 'paylog').map((l) => `${l.item}: ${l.status}`)).toEqual([
        'remote log: ok',
        'ledger: ok',
      ]);

      const bad = await run(writeUnplannedRunbook('amt'), true);
      const hit = expectOnlyFail(
        bad,
        'paylog',
        /remote log table bank_log.remote_log has no column "amt"/,
        /name the column/,
      );
      expect(hit.item).toBe('log and ledger');
      expect(JSON.stringify(bad)).not.toContain(CHECK_PW);
    } finally {
      await pair.replica.query('START SLAVE IO_THREAD');
    }
  });
});

describe('switch runs the preflight first', () => {
  it('refuses before any step runs on a fail; --dry-run shows it; --skip-preflight --reason runs and is journaled', async () => {
    const runsDir = join(dir, 'runs');
    const marker = join(dir, 'prep-ran');
    const args = ['switch', rbFile, '--only', 'prep,read-core', '--runs-dir', runsDir];
    await pair.replica.query('STOP SLAVE SQL_THREAD');
    try {
      const [refused, dry] = await Promise.all([runCli([...args, '--yes']), runCli([...args, '--dry-run'])]);
      expect(refused.exitCode, refused.stderr).toBe(1);
      expect(refused.stdout).toMatch(/FAIL\s+replica replication\s+replication stopped/);
      expect(refused.stderr).toMatch(/preflight found 1 fail; the switchover was not started/);
      expect(refused.stderr).toMatch(/--skip-preflight --reason/);
      expect(existsSync(marker)).toBe(false);
      expect(dry.exitCode, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/FAIL\s+replica replication/);
      expect(existsSync(marker)).toBe(false);
      expect(listRunDirs(runsDir)).toHaveLength(1); // the dry run's

      const noReason = await runCli([...args, '--yes', '--skip-preflight']);
      expect(noReason.exitCode).toBe(2);
      expect(noReason.stderr).toMatch(/--skip-preflight needs --reason/);

      const skipped = await runCli([
        ...args,
        '--yes',
        '--skip-preflight',
        '--reason',
        'INC-42 DR must open now',
      ]);
      expect(skipped.exitCode, skipped.stdout + skipped.stderr).toBe(0);
      expect(skipped.stderr).toMatch(/preflight skipped by .*: INC-42 DR must open now \(journaled\)/);
      expect(existsSync(marker)).toBe(true);
      expect(skipped.stdout).toMatch(
        /started: pf-lab switchover.*; preflight skipped by .*: INC-42 DR must open now/,
      );
      const run = listRunDirs(runsDir).find((d) =>
        readFileSync(join(runsDir, d, 'journal.jsonl'), 'utf8').includes('INC-42'),
      );
      expect(run).toBeDefined();
      const started = JSON.parse(
        readFileSync(join(runsDir, run!, 'journal.jsonl'), 'utf8').split('\n')[0]!,
      ) as {
        type: string;
        preflight?: { status: string; skipped?: { reason: string } };
      };
      expect(started.type).toBe('run-started');
      expect(started.preflight).toMatchObject({
        status: 'skipped',
        skipped: { reason: 'INC-42 DR must open now' },
      });
    } finally {
      await pair.replica.query('START SLAVE SQL_THREAD');
    }
  });
});
