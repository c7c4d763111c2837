import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';

/** `drctl check mysql` as the DBA runs it: the built bin/drctl.js, exit codes and output. */
const PASSWORD = 'Sup3r-Secret-pw';
let pair: MariaDbPair;
let src: string;
let dst: string;

async function drctl(...args: string[]) {
  const r = await execa('node', ['bin/drctl.js', 'check', 'mysql', ...args], {
    reject: false,
    env: { NO_COLOR: '1', CHECK_PW: PASSWORD },
  });
  return { code: r.exitCode, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

beforeAll(async () => {
  // npm test builds once before any test; rebuilding dist/ here would race other files' CLI runs.
  if (!existsSync('dist/src/cli/main.js'))
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests');
  pair = await startMariaDbPair();
  await pair.primary.query(`
    CREATE USER 'dba'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';
    GRANT SELECT, SHOW VIEW, BINLOG MONITOR, SLAVE MONITOR ON *.* TO 'dba'@'127.0.0.1';
    CREATE USER 'nomon'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';
    GRANT SELECT, SHOW VIEW ON *.* TO 'nomon'@'127.0.0.1';
    CREATE DATABASE bank; USE bank;
    CREATE TABLE accounts (id INT PRIMARY KEY, balance DECIMAL(12,2));
    INSERT INTO accounts SELECT seq, seq FROM seq_1_to_1000;`);
  await waitForReplicaCatchUp(pair);
  src = `mysql://dba:${PASSWORD}@127.0.0.1:${pair.primary.port}`;
  dst = `mysql://dba:${PASSWORD}@127.0.0.1:${pair.replica.port}`;
});

afterAll(async () => {
  await pair?.stop();
});

describe('drctl check mysql', () => {
  it('exits 0 on a consistent pair and prints the per-table summary', async () => {
    const r = await drctl('--source', src, '--target', dst);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/bank\.accounts\s+consistent\s+equal\s+1,000\s+1,000/);
    expect(r.out).toMatch(/CONSISTENT: 1 table, 1,000 rows/);
    expect(r.all).not.toContain(PASSWORD);
  });

  it('exits 1 with the differing keys, --json has everything, --fix-sql writes files', async () => {
    await pair.replica.query(
      'SET sql_log_bin = 0; UPDATE bank.accounts SET balance = 0 WHERE id = 500; SET sql_log_bin = 1',
    );
    const dir = mkdtempSync(join(tmpdir(), 'drctl-fix-'));
    const r = await drctl('--source', src, '--target', dst, '--json', '--fix-sql', dir);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as {
      status: string;
      counts: Record<string, number>;
      findings: { message: string }[];
    };
    expect(doc.status).toBe('different');
    expect(doc.counts['different']).toBe(1);
    expect(doc.findings.map((f) => f.message)).toContain('id=500: different on target: balance');
    expect(readdirSync(dir)).toEqual(['bank.accounts.sql']);
    expect(readFileSync(join(dir, 'bank.accounts.sql'), 'utf8')).toContain(
      'UPDATE `bank`.`accounts` SET `balance` = 500.00 WHERE `id` IN (500) LIMIT 1;',
    );
    expect(r.all).not.toContain(PASSWORD);
    await pair.replica.query(
      'SET sql_log_bin = 0; UPDATE bank.accounts SET balance = 500 WHERE id = 500; SET sql_log_bin = 1',
    );
  });

  it('takes source and target from a runbook resource (--resource -f), secrets from the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drctl-rb-'));
    const file = join(dir, 'runbook.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: drctl/v1',
        'kind: Runbook',
        'name: mysql-check-e2e',
        'roles: { DBA: {} }',
        'resources:',
        '  core-banking:',
        '    kind: mysql',
        `    primary: 'mysql://dba:\${env:CHECK_PW}@127.0.0.1:${pair.primary.port}'`,
        `    replica: 'mysql://dba:\${env:CHECK_PW}@127.0.0.1:${pair.replica.port}'`,
        'steps:',
        '  - id: verify-core-banking',
        '    owner: DBA',
        '    check: { kind: mysql, resource: core-banking }',
        '',
      ].join('\n'),
    );
    const r = await drctl('--resource', 'core-banking', '-f', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/CONSISTENT: 1 table, 1,000 rows/);
    expect(r.all).not.toContain(PASSWORD);
  });

  it('exits 2 on a malformed DSN, naming the flag', async () => {
    const r = await drctl('--source', `mysql//dba:${PASSWORD}@x`, '--target', dst);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--source: not a MySQL DSN/);
    expect(r.all).not.toContain(PASSWORD);
  });

  it('exits 2 on a wrong password, without showing it', async () => {
    const r = await drctl(
      '--source',
      `mysql://dba:Wrong-pass-123@127.0.0.1:${pair.primary.port}`,
      '--target',
      dst,
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/source dba@127\.0\.0\.1:\d+: access denied for user dba/);
    expect(r.err).toMatch(/hint:/);
    expect(r.all).not.toContain('Wrong-pass-123');
    expect(r.all).not.toContain(PASSWORD);
  });

  it('exits 2 when the user lacks a privilege, and says which', async () => {
    const nomon = (port: number) => `mysql://nomon:${PASSWORD}@127.0.0.1:${port}`;
    const r = await drctl('--source', nomon(pair.primary.port), '--target', nomon(pair.replica.port));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/missing a privilege: .*(SLAVE MONITOR|REPLICA MONITOR|SUPER)/);
    expect(r.all).not.toContain(PASSWORD);
  });

  it('exits 2 when the target is not a replica', async () => {
    const r = await drctl('--source', dst, '--target', src);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--target dba@127\.0\.0\.1:\d+ is not a replica/);
  });

  it('exits 2 when the table filter matches nothing', async () => {
    const r = await drctl('--source', src, '--target', dst, '--tables', 'nosuch*');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the table filter matches no table \(--tables nosuch\*\)/);
  });

  it('exits 2 on a malformed --wait', async () => {
    const r = await drctl('--source', src, '--target', dst, '--wait', 'soon');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--wait: expected a duration/);
  });

  it('--hash sha256 passes a consistent pair; --help says what the default hash promises', async () => {
    const r = await drctl('--source', src, '--target', dst, '--hash', 'sha256', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { evidence: { hash: string } }).evidence.hash).toMatch(/SHA-256/);
    expect((await drctl('--source', src, '--target', dst, '--hash', 'md4')).code).toBe(2);
    const help = await drctl('--help');
    expect(help.out).toMatch(/--hash <kind>/);
    expect(help.out.replace(/\s+/g, ' ')).toMatch(/not a cryptographic proof/);
  });

  it('exits 130 within seconds on Ctrl-C while the replica is frozen (SIGSTOP)', async () => {
    process.kill(pair.replica.pid, 'SIGSTOP');
    try {
      const child = execa('node', ['bin/drctl.js', 'check', 'mysql', '--source', src, '--target', dst], {
        reject: false,
        env: { NO_COLOR: '1' },
      });
      // Past node's start-up (the SIGINT handler is set), inside the 10 s connect deadline.
      await new Promise((r) => setTimeout(r, 5000));
      const t0 = Date.now();
      child.kill('SIGINT');
      const r = await child;
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(r.exitCode).toBe(130);
      expect(r.stderr).toMatch(/interrupted/);
      expect(r.stderr).not.toMatch(/AbortError|\n\s+at /);
    } finally {
      process.kill(pair.replica.pid, 'SIGCONT');
    }
  }, 30_000);

  it('exits 2 naming the side when the replica is frozen (no hang)', async () => {
    process.kill(pair.replica.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const r = await drctl('--source', src, '--target', dst);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/target/);
      expect(Date.now() - t0).toBeLessThan(30_000);
    } finally {
      process.kill(pair.replica.pid, 'SIGCONT');
    }
  }, 60_000);
});
