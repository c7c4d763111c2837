import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runProbes } from '../../src/preflight/run-probes.js';
import type { Probe } from '../../src/preflight/types.js';

/** Scheduling of preflight probes: limits, deadlines, order. Pure timing logic, no servers. */
function probe(
  i: number,
  ms: number,
  resource: string | undefined,
  track: { now: number; max: number; per: Map<string, number>; perMax: Map<string, number> },
): Probe {
  return {
    key: `p${i}`,
    group: resource ?? 'steps',
    kind: 'test',
    item: `probe ${i}`,
    resource,
    timeoutFix: 'raise --timeout',
    run: async ({ signal }) => {
      track.now++;
      track.max = Math.max(track.max, track.now);
      if (resource) {
        track.per.set(resource, (track.per.get(resource) ?? 0) + 1);
        track.perMax.set(resource, Math.max(track.perMax.get(resource) ?? 0, track.per.get(resource)!));
      }
      try {
        await sleep(ms, undefined, { signal });
        return [
          {
            group: resource ?? 'steps',
            kind: 'test',
            item: `probe ${i}`,
            status: 'ok',
            message: `done ${i}`,
          },
        ];
      } finally {
        track.now--;
        if (resource) track.per.set(resource, track.per.get(resource)! - 1);
      }
    },
  };
}

describe('runProbes', () => {
  it('keeps the global and per-resource limits and returns lines in probe order', async () => {
    const track = { now: 0, max: 0, per: new Map<string, number>(), perMax: new Map<string, number>() };
    const probes = Array.from({ length: 24 }, (_, i) =>
      probe(i, 5 + ((i * 7) % 11), i % 3 === 0 ? 'db' : i % 3 === 1 ? 'cache' : undefined, track),
    );
    const lines = await runProbes(probes, { concurrency: 5, resourceLimits: { db: 2 }, timeoutMs: 5_000 });
    expect(lines.map((l) => l.message)).toEqual(probes.map((_, i) => `done ${i}`));
    expect(track.max).toBeLessThanOrEqual(5);
    expect(track.max).toBeGreaterThan(2);
    expect(track.perMax.get('db')).toBe(2);
  });

  it('a probe that never answers is one fail line after the deadline, and its signal is aborted', async () => {
    let aborted = false;
    const hang: Probe = {
      key: 'hang',
      group: 'core',
      kind: 'mysql',
      item: 'primary 10.0.0.1:3306',
      timeoutFix: 'check the host',
      run: ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          }),
        ),
    };
    const track = { now: 0, max: 0, per: new Map<string, number>(), perMax: new Map<string, number>() };
    const t0 = Date.now();
    const lines = await runProbes([hang, probe(1, 1, undefined, track)], {
      concurrency: 4,
      resourceLimits: {},
      timeoutMs: 200,
    });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(aborted).toBe(true);
    expect(lines[0]).toMatchObject({
      group: 'core',
      status: 'fail',
      item: 'primary 10.0.0.1:3306',
      fix: 'check the host',
    });
    expect(lines[0]!.message).toMatch(/no answer within 200ms/);
    expect(lines[1]).toMatchObject({ status: 'ok' });
  });

  it('a probe that throws is a fail line with the error and its hint', async () => {
    const boom: Probe = {
      key: 'boom',
      group: 'cfg',
      kind: 'redis',
      item: 'url',
      timeoutFix: 'x',
      run: () =>
        Promise.reject(Object.assign(new Error('authentication failed'), { hint: 'check the password' })),
    };
    const [l] = await runProbes([boom], { concurrency: 1, resourceLimits: {}, timeoutMs: 1_000 });
    expect(l).toMatchObject({ status: 'fail', message: 'authentication failed', fix: 'check the password' });
  });
});
