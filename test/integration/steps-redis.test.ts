import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { loadRunbook } from '../../src/runbook/load.js';
import type { Resource } from '../../src/runbook/schema.js';
import { execRunbook, type ExecRun } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep } from '../fixtures/engine-runbook.js';
import { makeTempDir } from '../harness/process.js';
import { startRedis, type RedisServer } from '../harness/redis.js';

/** redis steps against a real redis-server: atomic multi-key writes, TTLs, what is journaled. */
let redis: RedisServer;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  // A user that may write cfg:* only, as a bank's ACL would limit the switch account.
  await admin.call('ACL', 'SETUSER', 'limited', 'on', '>limited-pw', '~cfg:*', '+@all');
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

const finished = (run: ExecRun, id: string) =>
  run.events.find(
    (e): e is Extract<JournalEvent, { type: 'step-finished' }> => e.type === 'step-finished' && e.step === id,
  );
const effects = (run: ExecRun, id: string) =>
  run.events.filter(
    (e): e is Extract<JournalEvent, { type: 'step-effect' }> => e.type === 'step-effect' && e.step === id,
  );

describe('redis steps', () => {
  it('a multi-key set is all or nothing: one refused key leaves every key as it was, and says so', async () => {
    await admin.mset('cfg:a', 'live', 'other:b', 'live', 'cfg:c', 'live');
    const limitedUrl = redis.url.replace('redis://', 'redis://limited:limited-pw@');
    const resources: Record<string, Resource> = { config: { kind: 'redis', url: limitedUrl } };
    const rb = makeRunbook(
      [
        makeStep('flip', {
          kind: 'redis',
          redis: { resource: 'config', set: { 'cfg:a': 'dr', 'other:b': 'dr', 'cfg:c': 'dr' } },
        }),
      ],
      { resources },
    );
    const run = await execRunbook(rb);
    expect(await admin.mget('cfg:a', 'other:b', 'cfg:c')).toEqual(['live', 'live', 'live']);
    expect(finished(run, 'flip')?.error).toMatch(/no key changed.*NOPERM/);
    expect(effects(run, 'flip')).toMatchObject([{ target: 'keys', outcome: 'not-run' }]);
  });

  it('journals which keys changed, their previous values, the TTL a set removes, and a get value', async () => {
    await admin.set('cfg:x', 'live', 'EX', 600);
    await admin.set('cfg:y', 'live');
    const resources: Record<string, Resource> = { config: { kind: 'redis', url: redis.url } };
    const rb = makeRunbook(
      [
        makeStep('flip', {
          kind: 'redis',
          redis: { resource: 'config', set: { 'cfg:x': 'dr', 'cfg:y': 'dr' }, get: 'cfg:y' },
        }),
      ],
      { resources },
    );
    const run = await execRunbook(rb);
    expect(finished(run, 'flip')?.status).toBe('succeeded');
    expect(await admin.ttl('cfg:x')).toBe(-1);
    const [write, read] = effects(run, 'flip');
    expect(write).toMatchObject({ target: 'keys', outcome: 'committed' });
    expect(write?.detail).toMatch(
      /set cfg:x="dr" \(was "live", TTL 600s removed\); set cfg:y="dr" \(was "live"\)/,
    );
    expect(read).toMatchObject({ target: 'get cfg:y', outcome: 'read', detail: '"dr"' });
  });

  it("a template's redis.set survives a step that adds its own redis.expect (templates merge deeply)", async () => {
    await admin.set('cfg:tpl', 'live');
    const dir = makeTempDir('steps-redis-template');
    const file = join(dir, 'rb.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: drctl/v1',
        'kind: Runbook',
        'name: template-merge',
        'roles: { SRE: {} }',
        `resources: { config: { kind: redis, url: '${redis.url}' } }`,
        "templates: { flip: { owner: SRE, redis: { resource: config, set: { 'cfg:tpl': dr } } } }",
        'steps:',
        "  - { id: flip, template: flip, redis: { resource: config, expect: { 'cfg:tpl': dr } } }",
      ].join('\n'),
    );
    const runbook = loadRunbook(file);
    const run = await execRunbook(runbook, { dir });
    expect(finished(run, 'flip')?.status).toBe('succeeded');
    expect(await admin.get('cfg:tpl')).toBe('dr');
  });
});
