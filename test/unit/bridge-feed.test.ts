import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JournalFeeds, type FeedSink, type PumpEnd } from '../../src/bridge/feed.js';
import { clearSecrets, registerSecret } from '../../src/util/redact.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * The bridge's shared live feed (src/bridge/feed.ts) on a real journal file that grows while
 * viewers come and go: every viewer gets every event after its Last-Event-ID exactly once, in
 * order, then `end`; a slow viewer neither blocks the others nor keeps memory of its own, and is
 * disconnected with a `lagging` event that says where to resume.
 */

const SECRET = 'feed-Secret-Value-91';
let dir: string;
let n = 0;

beforeAll(() => {
  dir = makeTempDir('bridge-feed');
  registerSecret(SECRET);
});
afterAll(() => {
  clearSecrets();
  removeDir(dir);
});

const feedsMade: JournalFeeds[] = [];
afterEach(() => {
  for (const f of feedsMade.splice(0)) f.close();
});
function feeds(opts: ConstructorParameters<typeof JournalFeeds>[0]): JournalFeeds {
  const f = new JournalFeeds({ pollMs: 10, ...opts });
  feedsMade.push(f);
  return f;
}

/** A journal the test appends to as the executor would (whole lines; the last may be torn). */
function journal(): {
  path: string;
  add: (count: number, extra?: string) => void;
  finish: () => void;
  flush: () => void;
  seq: () => number;
} {
  const path = join(dir, `journal-${n++}.jsonl`);
  writeFileSync(path, '');
  let seq = 0;
  const line = (type: string, extra = ''): string =>
    `${JSON.stringify({ seq: seq++, ts: new Date().toISOString(), type, step: `s${seq}`, note: extra })}\n`;
  // The last few bytes of each batch land with the next one: a torn line is not sent until whole.
  let torn = '';
  const write = (text: string): void => {
    appendFileSync(path, torn + text.slice(0, -7));
    torn = text.slice(-7);
  };
  return {
    path,
    add: (count, extra = '') => {
      let text = '';
      for (let i = 0; i < count; i++) text += line('step-started', extra);
      if (text) write(text);
    },
    finish: () => appendFileSync(path, torn + line('run-finished')),
    flush: () => {
      appendFileSync(path, torn);
      torn = '';
    },
    seq: () => seq,
  };
}

/** A viewer: parses what it gets; `delayMs` per write (a slow peer), or never takes a write. */
function viewer(opts: { delayMs?: number; stuck?: boolean } = {}): FeedSink & {
  ids: number[];
  events: string[];
  writes: number;
  text: () => string;
  leave: () => void;
  aborted: boolean;
} {
  let leave!: () => void;
  const gone = new Promise<void>((resolve) => (leave = resolve));
  let buf = '';
  const v = {
    ids: [] as number[],
    events: [] as string[],
    writes: 0,
    closed: false,
    aborted: false,
    gone,
    text: () => buf,
    leave: () => {
      v.closed = true;
      leave();
    },
    abort: () => {
      v.aborted = true;
      v.leave();
    },
    write: async (chunk: string): Promise<void> => {
      if (opts.stuck) return new Promise<void>(() => undefined);
      if (opts.delayMs) await sleep(opts.delayMs);
      buf += chunk;
      v.writes += 1;
      for (const frame of chunk.split('\n\n')) {
        if (frame === '') continue;
        const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'comment';
        v.events.push(event);
        const id = /^id: (\d+)$/m.exec(frame)?.[1];
        if (id !== undefined) v.ids.push(Number(id));
      }
    },
  };
  return v;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('bridge live feed: one reader per run, every viewer', () => {
  it('viewers from the start, mid-run and with Last-Event-ID each get every event once, in order, then end', async () => {
    const f = feeds({});
    const j = journal();
    j.add(5, `token ${SECRET}`);
    const a = viewer();
    const pa = f.stream(j.path, -1, a);
    await sleep(30);
    j.add(20);
    await sleep(30);
    const b = viewer();
    const pb = f.stream(j.path, -1, b); // connects mid-run: the backlog, then live
    const c = viewer();
    const pc = f.stream(j.path, 12, c); // reconnects with Last-Event-ID 12
    expect(f.size).toBe(1);
    for (let i = 0; i < 10; i++) {
      j.add(7);
      await sleep(5);
    }
    j.finish();
    const ends = await Promise.all([pa, pb, pc]);
    expect(ends).toEqual<PumpEnd[]>(['end', 'end', 'end']);
    const all = range(0, j.seq());
    expect(a.ids).toEqual(all);
    expect(b.ids).toEqual(all);
    expect(c.ids).toEqual(range(13, j.seq()));
    for (const v of [a, b, c]) {
      expect(v.events.at(-1)).toBe('end');
      expect(v.text()).not.toContain(SECRET);
    }
    // Frames go out in batches, not one write per event.
    expect(a.events.length).toBe(j.seq() + 1);
    expect(a.writes).toBeLessThan(j.seq() / 3);
  });

  it('property: whatever the interleaving of appends and joins, each viewer gets ids after its Last-Event-ID exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            add: fc.integer({ min: 0, max: 12 }),
            join: fc.option(fc.integer({ min: -1, max: 60 })),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (plan) => {
          const f = feeds({});
          const j = journal();
          const vs: { v: ReturnType<typeof viewer>; after: number; p: Promise<PumpEnd> }[] = [];
          for (const stepOf of plan) {
            j.add(stepOf.add);
            if (stepOf.join !== null) {
              const v = viewer();
              vs.push({ v, after: stepOf.join, p: f.stream(j.path, stepOf.join, v) });
            }
            await sleep(12);
          }
          j.finish();
          for (const { v, after, p } of vs) {
            expect(await p).toBe('end');
            expect(v.ids).toEqual(range(after + 1, j.seq()));
          }
          f.close();
        },
      ),
      { seed: 1606, numRuns: 25 },
    );
  }, 60_000);

  it('a viewer that stops reading is cut off after stallMs with a lagging event; the others get everything', async () => {
    const f = feeds({ stallMs: 300 });
    const j = journal();
    const stuck = viewer({ stuck: true });
    const good = viewer();
    const ps = f.stream(j.path, -1, stuck);
    const pg = f.stream(j.path, -1, good);
    for (let i = 0; i < 20; i++) {
      j.add(10);
      await sleep(20);
    }
    expect(await ps).toBe('lagging');
    expect(stuck.aborted).toBe(true);
    j.finish();
    expect(await pg).toBe('end');
    expect(good.ids).toEqual(range(0, j.seq()));
  });

  it('a slow viewer that falls too far behind gets lagging with where to resume, and resuming there loses nothing', async () => {
    const f = feeds({ maxLagBytes: 4096, chunkBytes: 1024 });
    const j = journal();
    const slow = viewer({ delayMs: 40 });
    const fast = viewer();
    const pslow = f.stream(j.path, -1, slow);
    const pfast = f.stream(j.path, -1, fast);
    for (let i = 0; i < 15; i++) {
      j.add(10, 'x'.repeat(100));
      await sleep(15);
    }
    expect(await pslow).toBe('lagging');
    expect(slow.events.at(-1)).toBe('lagging');
    const said = JSON.parse(/event: lagging\ndata: (.*)\n/.exec(slow.text())![1]!) as {
      lastEventId: number;
      reason: string;
    };
    expect(said.reason).toMatch(/behind the run/);
    expect(said.lastEventId).toBe(slow.ids.at(-1));
    // The EventSource reconnects with Last-Event-ID: the rest, once.
    const again = viewer();
    const pagain = f.stream(j.path, said.lastEventId, again);
    j.finish();
    expect(await pagain).toBe('end');
    expect(await pfast).toBe('end');
    expect([...slow.ids, ...again.ids]).toEqual(range(0, j.seq()));
    expect(fast.ids).toEqual(range(0, j.seq()));
  });

  it('the backlog a viewer asks for does not count as lag; a viewer that leaves releases the feed', async () => {
    const f = feeds({ maxLagBytes: 2048, chunkBytes: 1024, idleMs: 50 });
    const j = journal();
    j.add(100, 'y'.repeat(100)); // ~20 KB of backlog, 10 x maxLagBytes
    const late = viewer({ delayMs: 2 });
    j.flush();
    const p = f.stream(j.path, -1, late);
    for (let t = 0; late.ids.length < 100 && t < 500; t++) await sleep(10);
    expect(late.ids).toEqual(range(0, 100));
    late.leave();
    expect(await p).toBe('gone');
    expect(f.size).toBe(1);
    await sleep(150);
    expect(f.size).toBe(0); // forgotten after idleMs: its frames are freed
  });
});
