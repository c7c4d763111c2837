import type { JournalEvent } from '../journal/events.js';
import { redactValue } from '../util/redact.js';
import { readJournalFrom } from './runs.js';

/**
 * The live event streams of the bridge: one reader per run, shared by all its viewers.
 *
 * Each journal line is read once, redacted once and serialised once into its server-sent-event
 * frame; every viewer then gets the frames it has not seen as one write per batch (not one write
 * per event). 50 viewers of a 500-step run used to cost 50 × ~1000 small writes, each through
 * hono's writeSSE; the profile of `drctl serve` under bench/bridge.bench.ts showed that (and the
 * page re-renders) competing with the executor for the bastion's CPU.
 *
 * A viewer is a cursor into the run's frames: a slow viewer costs no memory of its own (the
 * frames are the run's, kept while anyone watches), and each write waits for the peer to take
 * the previous one (backpressure), so it never blocks the others. One that falls more than
 * `maxLagBytes` behind the events that arrived since it connected gets a `lagging` event and is
 * disconnected; an EventSource then reconnects by itself with Last-Event-ID and resumes.
 *
 * Beside the journal's frames, a run's feed carries its live summary (live-summary.ts): at most
 * every `summaryMs` while anyone watches a run that has not finished, one `event: live` frame,
 * computed once for all viewers, with what the page shows that the events alone do not give it.
 * Only the latest is kept: each stream sends it once, after the journal frames it has, and
 * again when it is replaced (a viewer that was busy meanwhile skips the ones in between; the
 * page then catches up, see live-summary.ts). It has no `id:`: Last-Event-ID stays a journal seq.
 */

/** Where a stream's bytes go. */
export interface FeedSink {
  /** Resolves once the peer has taken the chunk (backpressure). */
  write(chunk: string | Uint8Array): Promise<unknown>;
  /**
   * Takes UTF-8 bytes: the feed encodes each batch once for every viewer that gets the same one
   * (most of them, each poll), instead of each viewer's write encoding it again.
   */
  readonly bytes?: boolean;
  /** True once the peer went away. */
  readonly closed: boolean;
  /** Resolves when the peer goes away. */
  readonly gone: Promise<void>;
  /** Drops the connection now (a peer that stopped reading). */
  abort?(): void;
}

export interface FeedOptions {
  /** How often a run with viewers is looked at for new journal lines (default 250 ms). */
  pollMs?: number | undefined;
  /**
   * A viewer this many bytes behind the frames that arrived since it connected is disconnected
   * with a `lagging` event (default 1 MiB, ~3000 events). The backlog it asked for when it
   * connected does not count: it gets that at its own pace.
   */
  maxLagBytes?: number | undefined;
  /** At most this many bytes per write, whole frames (default 64 KiB). */
  chunkBytes?: number | undefined;
  /**
   * A write the peer has not taken after this long (it stopped reading: its socket buffers are
   * full) ends the stream: the `lagging` event is queued and the connection dropped (default 30 s).
   */
  stallMs?: number | undefined;
  /** A comment line to a quiet stream this often, so proxies keep it open (default 15 s). */
  keepAliveMs?: number | undefined;
  /** A run nobody watches is forgotten (its frames freed) after this long (default 30 s). */
  idleMs?: number | undefined;
  /**
   * A watched live run gets a live summary at most this often (default 1 s), and never sooner than
   * 4 times what the last one took to compute.
   */
  summaryMs?: number | undefined;
}

interface Frame {
  seq: number;
  text: string;
  /** Bytes (characters) of all frames up to and including this one. */
  end: number;
}

/**
 * Computes a run's live summary: `prev` is what the previous call returned as `state` (undefined
 * the first time). Returns the `data:` of the frame (one line of JSON), or undefined when there
 * is nothing new. The feed times it: a costly run is summarised less often.
 */
export type Summarizer = (prev: unknown) => { data: string; state: unknown } | undefined;

/** How a stream ended. */
export type PumpEnd = 'end' | 'gone' | 'lagging';

export const END_FRAME = 'event: end\ndata: {}\n\n';

class RunFeed {
  readonly frames: Frame[] = [];
  /** Characters of all frames. */
  bytes = 0;
  /** The run has finished (its last run-finished is not followed by a run-resumed). */
  finished = false;
  private offset = 0;
  private viewers = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  /** Set by the first stream that brings one. */
  summarizer: Summarizer | undefined;
  private summaryState: unknown;
  private nextSummaryAt = 0;
  /** The latest live summary's frame, and its number (0: none yet). */
  summary = { gen: 0, text: '' };

  constructor(
    private readonly path: string,
    private readonly form: FeedForm,
    private readonly pollMs: number,
    private readonly idleMs: number,
    private readonly summaryMs: number,
    private readonly forget: () => void,
  ) {}

  /** Reads what was appended since the last look; true if anything was. */
  private readMore(): boolean {
    let events;
    try {
      ({ events, offset: this.offset } = readJournalFrom(this.path, this.offset));
    } catch {
      return false; // the run directory went away: nothing more to send
    }
    for (const ev of events) {
      if (ev.type === 'run-finished') this.finished = true;
      else if (ev.type === 'run-resumed') this.finished = false;
      const data = this.form === 'page' ? pageEvent(ev) : ev;
      this.push(ev.seq, `event: journal\ndata: ${JSON.stringify(redactValue(data))}\nid: ${ev.seq}\n\n`);
    }
    return events.length > 0;
  }

  private readonly encoded = new Map<string, Uint8Array>();

  /** `text` as UTF-8, encoded once per `key` until the frames or the summary change. */
  encode(key: string, text: () => string): Uint8Array {
    let b = this.encoded.get(key);
    if (b === undefined) {
      b = Buffer.from(text(), 'utf8');
      this.encoded.set(key, b);
    }
    return b;
  }

  private push(seq: number, text: string): void {
    this.encoded.clear();
    this.bytes += text.length;
    this.frames.push({ seq, text, end: this.bytes });
  }

  /** The run's live summary, when it is due. */
  private summarize(): boolean {
    if (this.summarizer === undefined || this.finished || Date.now() < this.nextSummaryAt) return false;
    const t0 = performance.now();
    let r: ReturnType<Summarizer>;
    try {
      r = this.summarizer(this.summaryState);
    } catch {
      r = undefined; // a run that cannot be read now: the events still flow
    }
    const cost = performance.now() - t0;
    this.nextSummaryAt = Date.now() + Math.max(this.summaryMs, 4 * cost);
    if (r === undefined) return false;
    this.summaryState = r.state;
    this.summary = { gen: this.summary.gen + 1, text: `event: live\ndata: ${r.data}\n\n` };
    this.encoded.clear();
    return true;
  }

  /** Reads what was appended since the last look, adds a summary when due; wakes the streams if anything was. */
  poll(): void {
    const read = this.readMore();
    const summed = this.summarize();
    if (!read && !summed) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves at the next poll that finds new lines. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  acquire(): void {
    this.viewers += 1;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.timer === undefined) {
      this.poll();
      this.timer = setInterval(() => this.poll(), this.pollMs);
      this.timer.unref();
    }
  }

  release(): void {
    this.viewers -= 1;
    if (this.viewers > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.idle = setTimeout(this.forget, this.idleMs);
    this.idle.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.idle);
    this.timer = this.idle = undefined;
  }
}

/**
 * What a stream's journal frames carry: `journal`, each event whole (redacted), for API clients;
 * `page`, only what the run page folds into its rows (seq, type, step, status, attempts, a gate's
 * verdict). A journal line is ~230 bytes, most of it the hash chain, timestamps and descriptions
 * the page never reads; 50 viewers took 50 copies of each. With the page form the bridge bench's
 * executor overhead went from 8–12% to 3–4% (bench/bridge.bench.ts).
 */
export type FeedForm = 'journal' | 'page';

/** An event as the run page needs it (see FeedForm). */
export function pageEvent(ev: JournalEvent): Record<string, unknown> {
  const e = ev as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { seq: ev.seq, type: ev.type };
  for (const k of ['step', 'status', 'attempt', 'attempts'] as const) if (e[k] !== undefined) out[k] = e[k];
  if (ev.type === 'gate-result') out.result = { ok: ev.result.ok, status: ev.result.status };
  return out;
}

/** The live feeds of every watched run, keyed by form and journal path. */
export class JournalFeeds {
  private readonly feeds = new Map<string, RunFeed>();
  private readonly pollMs: number;
  private readonly maxLagBytes: number;
  private readonly chunkBytes: number;
  private readonly keepAliveMs: number;
  private readonly idleMs: number;
  private readonly stallMs: number;
  private readonly summaryMs: number;

  constructor(opts: FeedOptions = {}) {
    this.summaryMs = opts.summaryMs ?? 1000;
    this.pollMs = opts.pollMs ?? 250;
    this.maxLagBytes = opts.maxLagBytes ?? 1024 * 1024;
    this.chunkBytes = opts.chunkBytes ?? 64 * 1024;
    this.keepAliveMs = opts.keepAliveMs ?? 15_000;
    this.idleMs = opts.idleMs ?? 30_000;
    this.stallMs = opts.stallMs ?? 30_000;
  }

  /** Runs with a live feed (watched now, or within `idleMs`). */
  get size(): number {
    return this.feeds.size;
  }

  /**
   * Streams the run's journal events after `after` (a Last-Event-ID; -1 for all) into `sink`,
   * live, until the run finishes (`end`), the peer goes (`gone`) or falls too far behind
   * (`lagging`). `summarizer`: the run's live summary (the first stream of a run that brings
   * one sets it for all).
   */
  async stream(
    journalPath: string,
    after: number,
    sink: FeedSink,
    summarizer?: Summarizer,
    form: FeedForm = 'journal',
  ): Promise<PumpEnd> {
    const key = `${form}:${journalPath}`;
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      const created = new RunFeed(journalPath, form, this.pollMs, this.idleMs, this.summaryMs, () => {
        if (this.feeds.get(key) === created) this.feeds.delete(key);
      });
      feed = created;
      this.feeds.set(key, feed);
    }
    feed.summarizer ??= summarizer;
    feed.acquire();
    try {
      return await this.pump(feed, after, sink);
    } finally {
      feed.release();
    }
  }

  private async pump(feed: RunFeed, after: number, sink: FeedSink): Promise<PumpEnd> {
    const { frames } = feed;
    let next = frames.findIndex((f) => f.seq > after);
    if (next < 0) next = frames.length;
    // What it asked for on connecting is its backlog; lag counts only what came after.
    const backlogEnd = feed.bytes;
    let sent = next > 0 ? frames[next - 1]!.end : 0;
    let lastSeq = after;
    let sentSummary = 0;
    let keepAlive: NodeJS.Timeout | undefined;
    // One waiter per stream at a time, however many keep-alives pass before the run moves.
    let change: Promise<void> | undefined;
    try {
      while (!sink.closed) {
        // A Last-Event-ID past the end of the journal then (a run resumed into a new journal
        // is a new run id, but a client may send anything): never resend what it says it has.
        while (next < frames.length && frames[next]!.seq <= after) {
          sent = frames[next]!.end;
          next += 1;
        }
        if (next < frames.length) {
          if (feed.bytes - Math.max(sent, backlogEnd) > this.maxLagBytes) {
            await this.write(sink, lagging(`more than ${this.maxLagBytes} bytes behind the run`, lastSeq));
            return 'lagging';
          }
          let j = next;
          let size = 0;
          do {
            size += frames[j]!.text.length;
            j += 1;
          } while (j < frames.length && size + frames[j]!.text.length <= this.chunkBytes);
          // The latest summary rides along with the batch that catches the stream up.
          const summary = feed.summary;
          const withSummary = j === frames.length && summary.gen !== sentSummary && !feed.finished;
          const from = next;
          const text = (): string =>
            (j - from === 1 ? frames[from]!.text : joinTexts(frames, from, j)) +
            (withSummary ? summary.text : '');
          const out = sink.bytes
            ? feed.encode(`${from}:${j}:${withSummary ? summary.gen : 0}`, text)
            : text();
          if (!(await this.write(sink, out))) {
            void sink.write(lagging(`took none of the last ${this.stallMs} ms of events`, lastSeq));
            sink.abort?.();
            return 'lagging';
          }
          if (j === frames.length) sentSummary = summary.gen;
          sent = frames[j - 1]!.end;
          lastSeq = frames[j - 1]!.seq;
          next = j;
          continue;
        }
        if (feed.summary.gen !== sentSummary && !feed.finished) {
          const summary = feed.summary;
          const out = sink.bytes ? feed.encode(`s:${summary.gen}`, () => summary.text) : summary.text;
          if (!(await this.write(sink, out))) {
            void sink.write(lagging(`took none of the last ${this.stallMs} ms of events`, lastSeq));
            sink.abort?.();
            return 'lagging';
          }
          sentSummary = summary.gen;
          continue;
        }
        if (feed.finished) {
          await sink.write(END_FRAME);
          return 'end';
        }
        const quiet = new Promise<'quiet'>((resolve) => {
          keepAlive = setTimeout(() => resolve('quiet'), this.keepAliveMs);
        });
        change ??= feed.changed().then(() => {
          change = undefined;
        });
        const why = await Promise.race([change, sink.gone, quiet]);
        clearTimeout(keepAlive);
        if (why === 'quiet') await sink.write(': keep-alive\n\n');
      }
      return 'gone';
    } finally {
      clearTimeout(keepAlive);
    }
  }

  /** Writes; false if the peer has not taken it after `stallMs`. */
  private async write(sink: FeedSink, chunk: string | Uint8Array): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.stallMs);
    });
    try {
      return await Promise.race([sink.write(chunk).then(() => true), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every feed's timers (the server is closing). */
  close(): void {
    for (const f of this.feeds.values()) f.stop();
    this.feeds.clear();
  }
}

/** The last frame a viewer that fell behind gets; an EventSource reconnects after `retry`. */
function lagging(why: string, lastSeq: number): string {
  const data = {
    reason: `this viewer ${why}: disconnected; reconnect with Last-Event-ID ${lastSeq} to resume`,
    lastEventId: lastSeq,
  };
  return `event: lagging\ndata: ${JSON.stringify(data)}\nretry: 5000\n\n`;
}

function joinTexts(frames: Frame[], from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += frames[i]!.text;
  return s;
}
