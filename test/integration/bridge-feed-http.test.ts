import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type StartedBridge } from '../../src/bridge/server.js';
import { hashPassword, writeUsers } from '../../src/engine/users.js';
import { JournalWriter } from '../../src/journal/journal.js';
import { createRunDir } from '../../src/journal/runs.js';
import { runStarted } from '../fixtures/report-journals.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * The bridge's event stream over HTTP while a journal grows (written by the real JournalWriter,
 * with fsync): viewers that connect at the start, mid-run or with Last-Event-ID each get every
 * event exactly once and in order; a viewer that falls behind is told so and resumes with
 * Last-Event-ID without a gap; one that stops reading is disconnected and does not hold up the
 * others.
 */

let dir: string;
let runs: string;
let usersFile: string;
let bridge: StartedBridge;
/** The same runs, with a small lag allowance and stall time, to see viewers cut off. */
let tight: StartedBridge;
/** Sessions live in each server's memory: one cookie per server. */
const cookies = new Map<StartedBridge, string>();
let n = 0;

beforeAll(async () => {
  dir = makeTempDir('bridge-feed-http');
  runs = `${dir}/runs`;
  usersFile = `${dir}/users.yaml`;
  writeUsers(usersFile, new Map([['viewer', { roles: ['QA'], password: hashPassword('viewer-pass-1') }]]));
  bridge = await startBridge({
    runsDir: runs,
    usersFile,
    host: '127.0.0.1',
    port: 0,
    secure: false,
    pollMs: 20,
  });
  tight = await startBridge({
    runsDir: runs,
    usersFile,
    host: '127.0.0.1',
    port: 0,
    secure: false,
    pollMs: 20,
    maxLagBytes: 2000,
    stallMs: 2000,
  });
  for (const b of [bridge, tight]) {
    const res = await fetch(`${b.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'viewer', password: 'viewer-pass-1' }),
    });
    expect(res.status).toBe(200);
    cookies.set(b, res.headers.get('set-cookie')!.split(';')[0]!);
  }
}, 60_000);

afterAll(async () => {
  await bridge?.close();
  await tight?.close();
  removeDir(dir);
});

/** A run whose journal the test grows, as the executor would. */
function run(): {
  id: string;
  step: (i: number, note?: string) => void;
  gate: (i: number) => void;
  finish: () => void;
  count: () => number;
} {
  const id = `20261129T2300000${String(n++).padStart(2, '0')}Z-feed`;
  const loc = createRunDir(runs, id);
  const w = JournalWriter.open(loc.journalPath);
  let count = 0;
  const add = (body: Parameters<JournalWriter['append']>[0]): void => {
    w.append(body);
    count += 1;
  };
  add(runStarted(id, { steps: [] }));
  return {
    id,
    step: (i, note) => {
      add({ type: 'step-started', step: `s${i}`, attempt: 1, ...(note ? { description: note } : {}) });
      add({ type: 'step-finished', step: `s${i}`, status: 'succeeded', durationMs: 1, attempts: 1 });
    },
    gate: (i) =>
      add({
        type: 'gate-result',
        step: `s${i}`,
        result: {
          checker: 'mysql',
          ok: false,
          status: 'unverified',
          summary: 'Main unreachable',
          counts: { missing: 0 },
          findings: [],
          findingsOmitted: 0,
          evidence: { dsn: 'mysql://127.0.0.1:1' },
          startedAt: '2026-11-29T23:00:00.000Z',
          finishedAt: '2026-11-29T23:00:01.000Z',
          durationMs: 1000,
        },
      }),
    finish: () => {
      add({ type: 'run-finished', status: 'succeeded', durationMs: 100 });
      w.close();
    },
    count: () => count,
  };
}

/** One EventSource-like connection: ids of journal events, other event names, and how it ended. */
async function listen(
  id: string,
  lastEventId?: number,
  via: StartedBridge = bridge,
  form?: string,
): Promise<{
  ids: number[];
  events: string[];
  data: Record<string, unknown>[];
  lagging?: { lastEventId: number };
}> {
  const headers: Record<string, string> = { cookie: cookies.get(via)! };
  if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
  let text = '';
  const res = await fetch(`${via.url}/api/runs/${id}/events${form ? `?form=${form}` : ''}`, { headers });
  expect(res.status).toBe(200);
  try {
    // Ends with `end`, or after `lagging`; read as it comes (a cut connection keeps what came).
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
  } catch {
    // cut off (as a stalled viewer is): an EventSource reconnects from the last whole event
  }
  text = text.slice(0, text.lastIndexOf('\n\n') + 2);
  const out: Awaited<ReturnType<typeof listen>> = { ids: [], events: [], data: [] };
  for (const frame of text.split('\n\n')) {
    const event = /^event: (.*)$/m.exec(frame)?.[1];
    if (event === undefined) continue;
    out.events.push(event);
    if (event === 'journal') {
      out.ids.push(Number(/^id: (\d+)$/m.exec(frame)![1]));
      out.data.push(JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as Record<string, unknown>);
    }
    if (event === 'lagging')
      out.lagging = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as { lastEventId: number };
  }
  return out;
}

/** What an EventSource does: reconnect with the last id until the stream says `end`. */
async function follow(
  id: string,
  via: StartedBridge = tight,
): Promise<{ ids: number[]; connections: number; laggings: number }> {
  const ids: number[] = [];
  let last: number | undefined;
  let laggings = 0;
  for (let connections = 1; connections < 1000; connections++) {
    const got = await listen(id, last, via);
    ids.push(...got.ids);
    if (got.lagging) {
      laggings += 1;
      expect(got.lagging.lastEventId).toBe(ids.at(-1) ?? last ?? -1);
    }
    if (got.events.at(-1) === 'end') return { ids, connections, laggings };
    last = ids.at(-1) ?? last;
  }
  throw new Error('never reached the end of the run');
}

const range = (to: number): number[] => Array.from({ length: to }, (_, i) => i);

describe('bridge event stream over HTTP, journal growing', () => {
  it('from the start, mid-run and with Last-Event-ID: every event once, in order, then end', async () => {
    const r = run();
    const fromStart = listen(r.id);
    for (let i = 0; i < 10; i++) r.step(i);
    await sleep(100);
    const midRun = listen(r.id);
    const resumed = listen(r.id, 7);
    for (let i = 10; i < 30; i++) {
      r.step(i);
      if (i % 5 === 0) await sleep(30);
    }
    r.finish();
    const [a, b, c] = await Promise.all([fromStart, midRun, resumed]);
    expect(a.ids).toEqual(range(r.count()));
    expect(b.ids).toEqual(range(r.count()));
    expect(c.ids).toEqual(range(r.count()).slice(8));
    for (const v of [a, b, c]) expect(v.events.at(-1)).toBe('end');
  }, 60_000);

  it('form=page: the same events, each with only what the run page folds (no hash chain, clocks or text)', async () => {
    const r = run();
    const page = listen(r.id, undefined, bridge, 'page');
    const whole = listen(r.id);
    r.step(0, 'a description the page never shows');
    r.gate(1);
    r.finish();
    const [p, w] = await Promise.all([page, whole]);
    expect(p.ids).toEqual(w.ids);
    expect(p.events.at(-1)).toBe('end');
    for (const [i, ev] of p.data.entries()) {
      const full = w.data[i]!;
      const expected = Object.fromEntries(
        ['seq', 'type', 'step', 'status', 'attempt', 'attempts']
          .filter((k) => k in full)
          .map((k) => [k, full[k]]),
      );
      // A gate's verdict, without its evidence, findings or summary.
      if (full.type === 'gate-result') expected.result = { ok: false, status: 'unverified' };
      expect(ev).toEqual(expected);
      expect(full).toHaveProperty('prev');
    }
    expect(p.data.some((e) => e.type === 'gate-result')).toBe(true);
    expect(JSON.stringify(p.data)).not.toMatch(/description|evidence|Main unreachable/);
    const bad = await fetch(`${bridge.url}/api/runs/${r.id}/events?form=everything`, {
      headers: { cookie: cookies.get(bridge)! },
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('form=page');
  }, 60_000);

  it('a viewer that falls behind gets `lagging` with its last id; reconnecting there loses and repeats nothing', async () => {
    const r = run();
    const following = follow(r.id);
    await sleep(50);
    // Bursts bigger than maxLagBytes (2000) between two reads of the journal.
    for (let burst = 0; burst < 6; burst++) {
      for (let i = 0; i < 12; i++) r.step(burst * 12 + i, 'x'.repeat(60));
      await sleep(80);
    }
    r.finish();
    const got = await following;
    expect(got.laggings).toBeGreaterThan(0);
    expect(got.ids).toEqual(range(r.count()));
  }, 60_000);

  it('a viewer that stops reading is disconnected after stallMs; the others get everything meanwhile', async () => {
    const r = run();
    // Raw HTTP: sends the request, then reads nothing (its socket buffers fill up).
    const stuck = connect(Number(new URL(tight.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => stuck.once('connect', resolve));
    stuck.pause();
    stuck.write(
      `GET /api/runs/${r.id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookies.get(tight)!}\r\n\r\n`,
    );
    const other = follow(r.id);
    // ~6 MB of events: more than loopback socket buffers take (~4 MB).
    const big = 'y'.repeat(60_000);
    for (let i = 0; i < 100; i++) {
      r.step(i, big);
      await sleep(5);
    }
    // Past stallMs the server has dropped it: reading now drains what was buffered, then the end
    // of the connection, although the run has not finished.
    await sleep(3000);
    let received = 0;
    stuck.on('data', (b: Buffer) => (received += b.length));
    const ended = new Promise<boolean>((resolve) => {
      stuck.once('close', () => resolve(true));
      stuck.once('error', () => resolve(true));
    });
    stuck.resume();
    const cut = await Promise.race([ended, sleep(15_000).then(() => false)]);
    expect(cut, 'the stuck viewer was never disconnected').toBe(true);
    expect(received).toBeLessThan(6_000_000);
    r.finish();
    const got = await other;
    expect(got.ids).toEqual(range(r.count()));
    stuck.destroy();
  }, 90_000);
});
