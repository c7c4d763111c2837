import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCeph, type CephCluster } from '../harness/ceph.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';
import { freePort, makeTempDir, removeDir } from '../harness/process.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { bulkRaw, searchRequest, type SearchServer } from '../harness/search.js';
import { sharedSearchPair } from '../harness/shared-servers.js';

/**
 * The release as a bastion gets it (issue 20): `npm run release` once, then its artifacts are
 * copied into a fresh directory outside the checkout — no node_modules, no repository, and an
 * npm registry that is a dead loopback port — and run there against real servers: the single
 * executable and the bundle each validate and plan the shipped example, switch a small runbook
 * (run, sql and redis steps) and run the four checkers; the npm tarball installs and runs.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const RELEASE = join(ROOT, 'release');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const EXE = `drctl-${process.platform}-${process.arch}`;

let work: string;
let env: Record<string, string>;
let pair: MariaDbPair;
let redisMain: RedisServer;
let redisDr: RedisServer;
let ceph: CephCluster;
let search: SearchServer;

beforeAll(async () => {
  work = makeTempDir('drctl-release-e2e');
  const deadRegistry = `http://127.0.0.1:${await freePort()}/`;
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: work,
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    DRCTL_LOCK_DIR: process.env.DRCTL_LOCK_DIR ?? join(work, 'locks'),
    npm_config_registry: deadRegistry,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
  // The servers start while the release builds; Ceph and OpenSearch take the longest.
  const build = execa('npm', ['run', 'release'], { cwd: ROOT, timeout: 230_000 });
  [pair, redisMain, redisDr, ceph, search] = await Promise.all([
    startMariaDbPair(),
    startRedis(),
    startRedis(),
    startCeph(),
    // Read-only: the run's shared OpenSearch (its indices are this file's own).
    sharedSearchPair('opensearch').then((p) => p.main),
  ]);
  await Promise.all([seedData(), build]);
  // What a bastion receives: the files of release/, and nothing else.
  for (const f of readdirSync(RELEASE)) cpSync(join(RELEASE, f), join(work, 'dist', f), { recursive: true });
}, 240_000);

afterAll(async () => {
  await Promise.all([pair?.stop(), redisMain?.stop(), redisDr?.stop(), ceph?.stop(), search?.stop()]);
  if (work) removeDir(work);
});

async function seedData(): Promise<void> {
  const mysql = pair.primary;
  await mysql.query('CREATE DATABASE bank');
  await mysql.query('CREATE TABLE bank.accounts (id INT PRIMARY KEY, balance DECIMAL(12,2))');
  await mysql.query('INSERT INTO bank.accounts VALUES (1, 10.50), (2, 99.00), (3, 0.01)');
  await mysql.query('CREATE TABLE bank.audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(40))');
  await waitForReplicaCatchUp(pair);
  for (const r of [redisMain, redisDr]) {
    const c = new Redis(r.url);
    await c.mset('bcf.resource.target.mysql', 'live', 'bcf.traffic', 'open');
    c.disconnect();
  }
  const main = new Redis(redisMain.url);
  await main.set('bcf.only-on-main', 'x');
  main.disconnect();
  const s3 = new S3Client({
    endpoint: ceph.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: ceph,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  for (const bucket of ['docs-main', 'docs-dr']) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of ['statements/2026-11.pdf', 'kyc/42.json']) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `content of ${key}` }));
    }
  }
  s3.destroy();
  for (const index of ['ledger-main', 'ledger-dr']) {
    await searchRequest(search.url, 'PUT', `/${index}`, {
      mappings: { properties: { n: { type: 'long' } } },
    });
    await bulkRaw(
      search.url,
      index,
      [1, 2, 3].map((i) => ({ id: String(i), json: `{"n":${i}}` })),
    );
  }
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  cmd: string[],
  opts: { cwd?: string; extraEnv?: Record<string, string> } = {},
): Promise<Result> {
  const r = await execa(cmd[0]!, cmd.slice(1), {
    cwd: opts.cwd ?? work,
    env: { ...env, ...opts.extraEnv },
    extendEnv: false,
    reject: false,
    timeout: 90_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let reference: Promise<unknown> | undefined;
/** The plan the checkout's own CLI (dist/, `npm run build`) makes of the same files, made once. */
function referencePlan(example: string): Promise<unknown> {
  reference ??= execa(process.execPath, [join(ROOT, 'bin', 'drctl.js'), 'plan', example, '--json'], {
    cwd: work,
  }).then((r) => JSON.parse(r.stdout) as unknown);
  return reference;
}

const flavours: [string, () => string[]][] = [
  ['the single executable', () => [join(work, 'dist', EXE)]],
  ['the bundle', () => [process.execPath, join(work, 'dist', 'drctl.mjs')]],
];

describe.each(flavours)('%s, in a directory with no node_modules and no registry', (name, drctl) => {
  const tag = name.includes('executable') ? 'sea' : 'bundle';

  it('prints the version, validates and plans the shipped example as the checkout does', async () => {
    const version = await run([...drctl(), '--version']);
    expect(version).toMatchObject({ code: 0, stdout: VERSION });
    const example = 'dist/runbooks/id-bank/switchover.yaml';
    const validate = await run([...drctl(), 'validate', example, '--direction', 'switchover']);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(
      /^ok dist\/runbooks\/id-bank\/switchover\.yaml \(18 modules.*switchover: \d+ steps/,
    );
    // The plan is the same document the checkout's CLI makes of the same files.
    const plan = await run([...drctl(), 'plan', example, '--json']);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)).toEqual(await referencePlan(example));
  });

  it('writes a starter tree with init that validates', async () => {
    const dir = `starter-${tag}`;
    expect((await run([...drctl(), 'init', dir])).code).toBe(0);
    const v = await run([...drctl(), 'validate', `${dir}/switchover.yaml`, `${dir}/switchback.yaml`]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`ok ${dir}/switchback.yaml`);
  });

  it('switches a runbook of run, sql and redis steps against real servers', async () => {
    const dir = join(work, `switch-${tag}`);
    mkdirSync(dir);
    const rb = join(dir, 'switch.yaml');
    writeFileSync(
      rb,
      [
        'apiVersion: drctl/v1',
        'kind: Runbook',
        `name: release-${tag}`,
        `environment: release-${tag}`,
        'roles: { SRE: {}, DBA: {} }',
        'resources:',
        `  db: { kind: mysql, primary: '${pair.primary.dsn}', replica: '${pair.replica.dsn}' }`,
        `  cfg: { kind: redis, url: '${redisMain.url}' }`,
        'steps:',
        `  - { id: announce, owner: SRE, run: [sh, -c, 'echo switched by ${tag} > announce.txt'] }`,
        '  - id: record',
        '    owner: DBA',
        '    needs: [announce]',
        `    sql: { resource: db, on: primary, statements: ["INSERT INTO bank.audit (note) VALUES ('${tag}')"] }`,
        '  - id: flip',
        '    owner: SRE',
        '    needs: [record]',
        `    redis: { resource: cfg, set: { bcf.switched.${tag}: dr }, expect: { bcf.switched.${tag}: dr } }`,
        '',
      ].join('\n'),
    );
    const r = await run([...drctl(), 'switch', rb, '--yes'], { cwd: dir });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(readFileSync(join(dir, 'announce.txt'), 'utf8')).toBe(`switched by ${tag}\n`);
    expect(await pair.primary.query(`SELECT note FROM bank.audit WHERE note = '${tag}'`)).toHaveLength(1);
    const c = new Redis(redisMain.url);
    expect(await c.get(`bcf.switched.${tag}`)).toBe('dr');
    c.disconnect();
    const verify = await run([...drctl(), 'verify', 'latest'], { cwd: dir });
    expect(verify.code).toBe(0);
  });

  it('runs check mysql, s3, es and redis against real servers', async () => {
    const mysqlCheck = await run([
      ...drctl(),
      'check',
      'mysql',
      '--source',
      pair.primary.dsn,
      '--target',
      pair.replica.dsn,
      '--wait',
      '30s',
    ]);
    expect(mysqlCheck.code, `${mysqlCheck.stdout}\n${mysqlCheck.stderr}`).toBe(0);
    expect(mysqlCheck.stdout).toMatch(/consistent/);

    const s3 = await run(
      [
        ...drctl(),
        'check',
        's3',
        '--source',
        's3://docs-main',
        '--target',
        's3://docs-dr',
        '--source-endpoint',
        ceph.endpoint,
      ],
      {
        extraEnv: {
          DRCTL_S3_SOURCE_ACCESS_KEY_ID: ceph.accessKeyId,
          DRCTL_S3_SOURCE_SECRET_ACCESS_KEY: ceph.secretAccessKey,
          DRCTL_S3_TARGET_ACCESS_KEY_ID: ceph.accessKeyId,
          DRCTL_S3_TARGET_SECRET_ACCESS_KEY: ceph.secretAccessKey,
        },
      },
    );
    expect(s3.code, `${s3.stdout}\n${s3.stderr}`).toBe(0);
    expect(s3.stdout).toMatch(/^consistent: 1 bucket, 2 vs 2 objects/m);

    const es = await run([
      ...drctl(),
      'check',
      'es',
      '--source',
      search.url,
      '--target',
      search.url,
      '--index',
      'ledger-main',
      '--json',
    ]);
    expect(es.code, es.stderr).toBe(0);
    expect((JSON.parse(es.stdout) as { status: string }).status).toBe('consistent');

    const redis = await run([...drctl(), 'check', 'redis', '--source', redisDr.url, '--target', redisDr.url]);
    expect(redis.code, `${redis.stdout}\n${redis.stderr}`).toBe(0);
    // A difference is found too: the checker inside is not vacuously consistent.
    const differs = await run([
      ...drctl(),
      'check',
      'redis',
      '--source',
      redisMain.url,
      '--target',
      redisDr.url,
    ]);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toContain('bcf.only-on-main');
  });
});

describe('the npm tarball', () => {
  it('installs with the registry unreachable and runs', async () => {
    const prefix = join(work, 'prefix');
    const tgz = join(work, 'dist', `drctl-${VERSION}.tgz`);
    const install = await run(['npm', 'install', '-g', '--prefix', prefix, tgz, '--offline']);
    expect(install.stderr).not.toMatch(/ERR!/);
    expect(install.code).toBe(0);
    const bin = join(prefix, 'bin', 'drctl');
    expect(existsSync(bin)).toBe(true);
    expect(await run([bin, '--version'])).toMatchObject({ code: 0, stdout: VERSION });
    const example = join(prefix, 'lib', 'node_modules', 'drctl', 'runbooks', 'demo', 'switchover.yaml');
    const validate = await run([bin, 'validate', example]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('ok ');
  });

  it('ships SHA256SUMS that verify, an SBOM naming every bundled package, and their licences', async () => {
    const sums = await run(['sha256sum', '--check', '--strict', 'SHA256SUMS'], { cwd: join(work, 'dist') });
    expect(sums.code).toBe(0);
    for (const f of [EXE, 'drctl.mjs', `drctl-${VERSION}.tgz`, 'runbook.schema.json']) {
      expect(sums.stdout).toContain(`${f}: OK`);
    }
    const sbom = JSON.parse(readFileSync(join(work, 'dist', `drctl-${VERSION}.cdx.json`), 'utf8')) as {
      bomFormat: string;
      metadata: { component: { name: string; version: string } };
      components: { name: string; version: string; properties?: { name: string; value: string }[] }[];
    };
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.metadata.component).toMatchObject({ name: 'drctl', version: VERSION });
    const bundled = sbom.components.filter((c) =>
      c.properties?.some((p) => p.name === 'drctl:bundled' && p.value === 'true'),
    );
    const licences = readFileSync(join(work, 'dist', 'THIRD-PARTY-LICENSES'), 'utf8');
    for (const pkg of [
      'mysql2',
      'ioredis',
      '@aws-sdk/client-s3',
      'zod',
      'yaml',
      'commander',
      'listr2',
      'node',
    ]) {
      const c = bundled.find((x) => x.name === pkg);
      expect(c, pkg).toBeDefined();
      if (pkg !== 'node') expect(licences).toContain(`${pkg}@${c!.version}`);
    }
  });
});
