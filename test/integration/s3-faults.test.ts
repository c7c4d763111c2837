import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, DrctlError } from '../../src/errors.js';
import { startCeph, type CephCluster } from '../harness/ceph.js';
import { inParallel, Lab } from './s3-lab.js';

/**
 * A frozen (SIGSTOP) or killed (SIGKILL) Ceph RGW before or in the middle of `check s3`
 * (issue 14 #1, #10): the check ends within its request deadline, or within a second or two of
 * an abort, as a connection error (exit 2) that names the side and what was under way. Never a
 * hang, never a verdict, never an internal error.
 */

let ceph: CephCluster;
let lab: Lab;
const KEYS = 20;
const key = (i: number) => `k/${String(i).padStart(4, '0')}`;

beforeAll(async () => {
  ceph = await startCeph();
  lab = new Lab(ceph);
  await lab.buckets('fault-src', 'fault-dst');
  await inParallel(
    16,
    Array.from({ length: KEYS }, (_, i) => () => lab.put('fault-src', key(i), `v${i}`)),
  );
  // On DR: the first key differs, the next ones are copies; with --download each is fetched, so
  // freezing or killing the gateway at the first finding leaves requests still to be made.
  await lab.put('fault-dst', key(0), 'changed');
  for (let i = 1; i < 10; i++) await lab.put('fault-dst', key(i), `v${i}`);
}, 180_000);

afterAll(async () => {
  try {
    process.kill(ceph.gatewayPid(), 'SIGCONT');
  } catch {
    /* already gone */
  }
  lab?.destroy();
  await ceph?.stop();
});

/** Runs `fn` with the gateway stopped, and always continues it afterwards. */
async function whileFrozen<T>(fn: () => Promise<T>): Promise<T> {
  const pid = ceph.gatewayPid();
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

const pair = () => [lab.endpoint('fault-src'), lab.endpoint('fault-dst')] as const;

describe('a frozen RGW (SIGSTOP)', () => {
  it('before the check: ends at the request deadline, exit 2, naming the side', async () => {
    const t0 = Date.now();
    const err = await whileFrozen(() =>
      lab.check(...pair(), { requestTimeout: '2s' }).catch((e: unknown) => e),
    );
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^(source|target) S3 endpoint ${ceph.endpoint} did not answer within 2\\.00s \\(opening bucket fault-`,
      ),
    );
    expect((err as ConnectionError).hint).toContain('--request-timeout');
    expect(took).toBeLessThan(5_000);
  });

  it('an abort (Ctrl-C, a step timeout) ends the check within 2 s, whatever the deadline', async () => {
    const ac = new AbortController();
    const err = await whileFrozen(async () => {
      const running = lab.check(...pair(), { requestTimeout: '10m' }, ac.signal).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      ac.abort(new Error('interrupted'));
      const e = await running;
      expect(Date.now() - t0).toBeLessThan(2_000);
      return e;
    });
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ConnectionError);
  });

  it('frozen in the middle of the check: ends at the deadline naming the object being read', async () => {
    const pid = ceph.gatewayPid();
    let frozen = false;
    const t0 = Date.now();
    // Freeze at the first finding: the second listing page is then requested from a frozen gateway.
    const ctxErr = await new Promise<unknown>((resolve) => {
      void import('../../checkers/s3/index.js').then(({ runS3Check }) =>
        runS3Check(
          { kind: 's3', source: lab.endpoint('fault-src'), target: lab.endpoint('fault-dst') },
          {
            download: true,
            metadata: false,
            requestTimeout: '2s',
            compareModTime: false,
            concurrency: 1,
            maxFindings: 10,
          },
          {
            signal: new AbortController().signal,
            progress: () => undefined,
            onFinding: () => {
              if (!frozen) {
                frozen = true;
                process.kill(pid, 'SIGSTOP');
              }
            },
          },
        ).then(resolve, resolve),
      );
    });
    process.kill(pid, 'SIGCONT');
    expect(frozen).toBe(true);
    expect(ctxErr).toBeInstanceOf(ConnectionError);
    expect((ctxErr as Error).message).toMatch(
      /^(source|target) S3 endpoint .* did not answer within 2\.00s \(downloading fault-(src|dst)\/k\/000\d\)$/,
    );
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});

describe('a killed RGW (SIGKILL) in the middle of the check', () => {
  it('is exit 2 "stopped answering while downloading …", not a verdict or an internal error', async () => {
    const { runS3Check } = await import('../../checkers/s3/index.js');
    const pid = ceph.gatewayPid();
    let killed = false;
    const t0 = Date.now();
    const err = await runS3Check(
      { kind: 's3', source: lab.endpoint('fault-src'), target: lab.endpoint('fault-dst') },
      {
        download: true,
        metadata: false,
        requestTimeout: '5s',
        compareModTime: false,
        concurrency: 1,
        maxFindings: 10,
      },
      {
        signal: new AbortController().signal,
        progress: () => undefined,
        onFinding: () => {
          if (!killed) {
            killed = true;
            process.kill(pid, 'SIGKILL');
          }
        },
      },
    ).catch((e: unknown) => e);
    expect(killed).toBe(true);
    expect(err).toBeInstanceOf(DrctlError);
    expect((err as DrctlError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(
      /^the (source|target) S3 endpoint .* stopped answering while downloading fault-(src|dst)\/k\/000\d \((ECONNREFUSED|ECONNRESET|EPIPE)\)$/,
    );
    expect(Date.now() - t0).toBeLessThan(30_000);
    // The harness can bring it back for whatever runs next.
    await ceph.restartGateway();
    const again = await lab.check(lab.endpoint('fault-src'), lab.endpoint('fault-src'));
    expect(again.status).toBe('consistent');
  });
});
