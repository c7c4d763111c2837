import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import type { Resource } from '../../src/runbook/schema.js';
import { execRunbook } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep } from '../fixtures/engine-runbook.js';
import { startMariaDbPair, waitForReplicaCatchUp, type MariaDbPair } from '../harness/mysql.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

/** sql, redis, http and wait steps against real servers the test starts. */
let redis: RedisServer;
let pair: MariaDbPair;
let http: Server;
let httpUrl: string;
const hits: { method: string; path: string; body: string }[] = [];
let readyAfter = 0;

beforeAll(async () => {
  [redis, pair] = await Promise.all([startRedis(), startMariaDbPair()]);
  http = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ method: req.method ?? '', path: req.url ?? '', body });
      if (req.url === '/health') {
        const ready = Date.now() >= readyAfter;
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ready ? 'UP' : 'STARTING' }));
      } else if (req.url === '/webhook') {
        res.writeHead(202).end('accepted');
      } else res.writeHead(404).end('no');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.allSettled([redis?.stop(), pair?.stop(), new Promise((r) => http?.close(r))]);
});

const finished = (events: JournalEvent[]) =>
  Object.fromEntries(
    events.flatMap((e) =>
      e.type === 'step-finished' ? [[e.step, e.status === 'succeeded' ? 'ok' : (e.error ?? e.status)]] : [],
    ),
  );

describe('step kinds against real systems', () => {
  it('redis: sets the config key, checks it, and fails on an unexpected value', async () => {
    const resources: Record<string, Resource> = { config: { kind: 'redis', url: redis.url } };
    const rb = makeRunbook(
      [
        makeStep('flip', {
          kind: 'redis',
          redis: { resource: 'config', set: { 'bcf.resource.target.mysql': 'dr', 'tmp.key': 1 } },
        }),
        makeStep(
          'clean',
          { kind: 'redis', redis: { resource: 'config', del: 'tmp.key' } },
          { needs: ['flip'] },
        ),
        makeStep(
          'verify',
          {
            kind: 'redis',
            redis: { resource: 'config', expect: { 'bcf.resource.target.mysql': 'dr', 'tmp.key': null } },
          },
          { needs: ['clean'] },
        ),
        makeStep(
          'wrong',
          { kind: 'redis', redis: { resource: 'config', expect: { 'bcf.resource.target.mysql': 'live' } } },
          { needs: ['verify'] },
        ),
      ],
      { resources },
    );
    const run = await execRunbook(rb);
    const c = new Redis(redis.url);
    expect(await c.get('bcf.resource.target.mysql')).toBe('dr');
    expect(await c.exists('tmp.key')).toBe(0);
    c.disconnect();
    expect(finished(run.events)).toEqual({
      flip: 'ok',
      clean: 'ok',
      verify: 'ok',
      wrong: 'redis bcf.resource.target.mysql: expected "live", got "dr"',
    });
  });

  it('check: a mysql gate runs the registry checker and journals its whole result', async () => {
    await pair.primary.query(
      'CREATE DATABASE gate; CREATE TABLE gate.acct (id INT PRIMARY KEY, balance DECIMAL(12,2)); INSERT INTO gate.acct VALUES (1, 10.00), (2, 20.00)',
    );
    await waitForReplicaCatchUp(pair);
    const resources: Record<string, Resource> = {
      core: { kind: 'mysql', primary: pair.primary.dsn, replica: pair.replica.dsn },
    };
    const gate = (id: string) =>
      makeStep(
        id,
        {
          kind: 'check',
          check: { kind: 'mysql', resource: 'core', options: { databases: ['gate'], waitMs: 5000 } },
        },
        { onFailure: 'continue' },
      );
    const consistent = await execRunbook(makeRunbook([gate('rpo-gate')], { resources }));
    const result = consistent.events.find((e) => e.type === 'gate-result');
    expect(result, JSON.stringify(finished(consistent.events))).toMatchObject({
      step: 'rpo-gate',
      result: { checker: 'mysql', ok: true, status: 'consistent' },
    });
    expect(finished(consistent.events)['rpo-gate']).toBe('ok');

    // A row lost on DR: the gate must fail, with the evidence kept.
    await pair.replica.query(
      'SET SESSION sql_log_bin = 0; SET GLOBAL read_only = OFF; DELETE FROM gate.acct WHERE id = 2; SET GLOBAL read_only = ON',
    );
    const different = await execRunbook(makeRunbook([gate('rpo-gate')], { resources }));
    const bad = different.events.find((e) => e.type === 'gate-result');
    expect(bad).toMatchObject({ result: { ok: false } });
    expect(finished(different.events)['rpo-gate']).toMatch(/mysql check (different|unverified)/);
    await pair.replica.query(
      'SET SESSION sql_log_bin = 0; SET GLOBAL read_only = OFF; INSERT INTO gate.acct VALUES (2, 20.00); SET GLOBAL read_only = ON',
    );
  });

  it('sql: runs statements on the primary or the replica and checks the expected value', async () => {
    await pair.primary.query(
      'CREATE DATABASE IF NOT EXISTS bank; CREATE TABLE IF NOT EXISTS bank.t (id INT PRIMARY KEY)',
    );
    const resources: Record<string, Resource> = {
      core: { kind: 'mysql', primary: pair.primary.dsn, replica: pair.replica.dsn },
    };
    const rb = makeRunbook(
      [
        makeStep('freeze-main', {
          kind: 'sql',
          sql: { resource: 'core', statements: ['SET GLOBAL read_only = ON'] },
        }),
        makeStep(
          'check-frozen',
          { kind: 'sql', sql: { resource: 'core', statements: 'SELECT @@global.read_only', expect: true } },
          { needs: ['freeze-main'] },
        ),
        makeStep(
          'replica-caught-up',
          {
            kind: 'wait',
            until: {
              kind: 'sql',
              sql: {
                resource: 'core',
                on: 'replica',
                statements: "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'bank'",
                expect: 1,
              },
            },
            intervalMs: 100,
          },
          { needs: ['check-frozen'], timeoutMs: 20_000 },
        ),
        makeStep(
          'promote-dr',
          {
            kind: 'sql',
            sql: {
              resource: 'core',
              on: 'replica',
              statements: ['STOP SLAVE', 'SET GLOBAL read_only = OFF', 'SELECT @@global.read_only'],
              expect: 0,
            },
          },
          { needs: ['replica-caught-up'] },
        ),
        makeStep(
          'bad-sql',
          { kind: 'sql', sql: { resource: 'core', statements: 'SELEC nonsense' } },
          { needs: ['promote-dr'] },
        ),
      ],
      { resources },
    );
    const run = await execRunbook(rb);
    const st = finished(run.events);
    expect(st['freeze-main']).toBe('ok');
    expect(st['check-frozen']).toBe('ok');
    expect(st['replica-caught-up']).toBe('ok');
    expect(st['promote-dr']).toBe('ok');
    expect(st['bad-sql']).toMatch(/sql on root@127\.0\.0\.1:\d+ failed: .*SQL syntax/);
    expect(
      Number(((await pair.replica.query('SELECT @@global.read_only AS r')) as { r: unknown }[])[0]!.r),
    ).toBe(0);
    expect(
      Number(((await pair.primary.query('SELECT @@global.read_only AS r')) as { r: unknown }[])[0]!.r),
    ).toBe(1);
    await pair.primary.query('SET GLOBAL read_only = OFF');
  });

  it('sql: a wrong password fails the step without showing the password', async () => {
    const port = /:(\d+)/.exec(pair.primary.dsn)![1];
    const resources: Record<string, Resource> = {
      core: {
        kind: 'mysql',
        primary: `mysql://nobody:Sup3rS3cretPw@127.0.0.1:${port}`,
        replica: pair.replica.dsn,
      },
    };
    const run = await execRunbook(
      makeRunbook([makeStep('x', { kind: 'sql', sql: { resource: 'core', statements: 'SELECT 1' } })], {
        resources,
      }),
    );
    const err = finished(run.events)['x'] as string;
    expect(err).toMatch(/Access denied|nobody/);
    expect(JSON.stringify(run.events)).not.toContain('Sup3rS3cretPw');
  });

  it('http: webhook with a JSON body, expected status and body; wait polls a health probe', async () => {
    readyAfter = Date.now() + 600;
    const rb = makeRunbook([
      makeStep('notify', {
        kind: 'http',
        http: {
          url: `${httpUrl}/webhook`,
          method: 'POST',
          body: { event: 'switch' },
          expect: { status: 202, body: 'accepted' },
        },
      }),
      makeStep(
        'healthy',
        {
          kind: 'wait',
          until: { kind: 'http', http: { url: `${httpUrl}/health`, expect: { bodyMatches: '"UP"' } } },
          intervalMs: 100,
        },
        { timeoutMs: 15_000 },
      ),
      makeStep(
        'missing',
        { kind: 'http', http: { url: `${httpUrl}/nope` } },
        { needs: ['notify', 'healthy'] },
      ),
    ]);
    const run = await execRunbook(rb);
    const st = finished(run.events);
    expect(st).toMatchObject({ notify: 'ok', healthy: 'ok' });
    expect(st['missing']).toMatch(/status 404, expected "2xx"/);
    expect(hits.find((h) => h.path === '/webhook')).toMatchObject({
      method: 'POST',
      body: '{"event":"switch"}',
    });
    expect(hits.filter((h) => h.path === '/health').length).toBeGreaterThan(1);
  });

  it('wait: gives up at its timeout with the last poll result', async () => {
    const rb = makeRunbook([
      makeStep(
        'never',
        { kind: 'wait', until: { kind: 'http', http: { url: `${httpUrl}/nope` } }, intervalMs: 50 },
        { timeoutMs: 1500 },
      ),
    ]);
    const run = await execRunbook(rb);
    expect(finished(run.events)['never']).toMatch(/timed out after .* polls; last: .*status 404/);
  });
});
