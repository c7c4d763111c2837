import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/journal/journal.js';
import type { ReportModel } from '../../src/report/index.js';
import { listRunDirs, runCli, writeRunbook } from '../fixtures/engine-cli.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * A real gate: a runbook's check step compares a real MariaDB primary and GTID replica through
 * the executor; the report must carry the checker's summary, counts and evidence with its time.
 */
let base: string;
let pair: MariaDbPair;

beforeAll(async () => {
  base = makeTempDir('report-gate');
  pair = await startMariaDbPair();
  await pair.primary.query(
    'CREATE DATABASE bank; CREATE TABLE bank.accounts (id INT PRIMARY KEY, balance DECIMAL(12,2) NOT NULL)',
  );
  const values = Array.from({ length: 500 }, (_, i) => `(${i + 1}, ${(i * 7.25).toFixed(2)})`).join(',');
  await pair.primary.query(`INSERT INTO bank.accounts VALUES ${values}`);
  await waitForReplicaCatchUp(pair);
});
afterAll(async () => {
  await pair?.stop();
  removeDir(base);
});

async function runAndReport(name: string): Promise<{ model: ReportModel; runs: string; id: string }> {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  const runs = join(dir, 'runs');
  const file = writeRunbook(dir, name, {
    environment: name,
    roles: { SRE: {}, DBA: {} },
    resources: { core: { kind: 'mysql', primary: pair.primary.dsn, replica: pair.replica.dsn } },
    steps: [
      { id: 'stop', owner: 'SRE', run: ['true'] },
      { id: 'verify-core', owner: 'DBA', needs: ['stop'], check: { kind: 'mysql', resource: 'core' } },
    ],
  });
  const r = await runCli(['switch', file, '--yes', '--runs-dir', runs]);
  const [id] = listRunDirs(runs);
  expect(id, r.stderr).toBeDefined();
  const rep = await runCli(['report', id!, '--format', 'json', '--runs-dir', runs]);
  expect(rep.exitCode, rep.stderr).toBe(0);
  return { model: JSON.parse(rep.stdout) as ReportModel, runs, id: id! };
}

describe('RPO evidence from a real gate', () => {
  it(
    'a consistent copy: the gate result with its counts and GTID evidence',
    { timeout: 300_000 },
    async () => {
      const { model, runs, id } = await runAndReport('gate-ok');
      const events = readJournal(join(runs, id, 'journal.jsonl')).events;
      const gate = events.find((e) => e.type === 'gate-result');
      expect(gate, JSON.stringify(model.steps)).toBeDefined();
      expect(model.gates).toHaveLength(1);
      const g = model.gates[0]!;
      expect(g).toMatchObject({
        step: 'verify-core',
        at: gate!.ts,
        checker: 'mysql',
        status: 'consistent',
        ok: true,
      });
      expect(g.summary.length).toBeGreaterThan(0);
      expect(g.evidence).toEqual(gate!.type === 'gate-result' ? gate!.result.evidence : undefined);
      expect(g.counts).toEqual(gate!.type === 'gate-result' ? gate!.result.counts : undefined);
      // The GTID positions on both sides, picked out of the checker's evidence.
      const keys = Object.fromEntries(g.keyEvidence.map((k) => [k.key, k.value]));
      expect(keys['gtid.primaryPosition']).toMatch(/^0-1-\d+$/);
      expect(keys['gtid.replicaPosition']).toBe(keys['gtid.primaryPosition']);
      expect(model.steps.find((s) => s.id === 'verify-core')!.status).toBe('succeeded');
      const md = await runCli(['report', id, '--format', 'md', '--runs-dir', runs]);
      expect(md.stdout).toContain('### verify-core — mysql: CONSISTENT');
    },
  );

  it(
    'a copy missing rows: the gate fails and the report keeps what differed',
    { timeout: 300_000 },
    async () => {
      // Remove rows on the replica only (as if they never arrived), without writing to the binlog.
      await pair.replica.query(
        'SET GLOBAL read_only = OFF; SET SESSION sql_log_bin = 0; DELETE FROM bank.accounts WHERE id IN (41, 42); SET GLOBAL read_only = ON',
      );
      const { model } = await runAndReport('gate-missing');
      expect(model.run.status).toBe('failed');
      const g = model.gates[0]!;
      expect(g).toMatchObject({ step: 'verify-core', checker: 'mysql', ok: false });
      expect(g.status).not.toBe('consistent');
      expect(JSON.stringify(g.findings) + JSON.stringify(g.counts)).toMatch(/missing|41|42/);
      expect(model.steps.find((s) => s.id === 'verify-core')!.status).toBe('failed');
    },
  );
});
