import { createHash } from 'node:crypto';
import { closeSync, fsync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { redactValue } from '../util/redact.js';
import type { JournalEvent, JournalEventBody } from './events.js';

export const GENESIS_HASH = '0'.repeat(64);

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Append-only JSON-lines journal with a sha-256 hash chain; every event is fsynced before
 * `append` returns, so a crash loses at most the event being written (a torn last line).
 */
export class JournalWriter {
  private fd: number;
  private seq: number;
  private prev: string;
  private dirty = false;
  private inflight: Promise<void> | undefined;
  private readonly t0 = performance.now();

  private constructor(
    readonly path: string,
    fd: number,
    seq: number,
    prev: string,
  ) {
    this.fd = fd;
    this.seq = seq;
    this.prev = prev;
  }

  /** Opens a journal for appending, continuing the chain of what is already there. */
  static open(path: string): JournalWriter {
    const existing = readJournal(path, { allowMissing: true });
    const last = existing.lines.at(-1);
    const fd = openSync(path, 'a');
    if (existing.tornTail !== undefined) {
      // Terminate the torn line so the next event starts on its own line; readers skip it.
      writeSync(fd, '\n');
    }
    return new JournalWriter(
      path,
      fd,
      existing.events.length,
      last === undefined ? GENESIS_HASH : sha256(last),
    );
  }

  /**
   * Appends one event, fsynced before returning. With `{ sync: false }` the line is written (it
   * survives a crash of this process) and the fsync is left to the next `sync()`: the executor
   * groups events that happen together and syncs before any action starts (group commit).
   */
  append(body: JournalEventBody, options: { sync?: boolean } = {}): JournalEvent {
    const event: JournalEvent = {
      seq: this.seq,
      ts: new Date().toISOString(),
      mono: Math.round((performance.now() - this.t0) * 1000) / 1000,
      prev: this.prev,
      ...redactValue(body),
    };
    const line = JSON.stringify(event);
    writeSync(this.fd, line + '\n');
    if (options.sync === false) this.dirty = true;
    else this.sync(true);
    this.prev = sha256(line);
    this.seq += 1;
    return event;
  }

  /** Makes every appended event durable; a no-op when nothing is pending. */
  sync(force = false): void {
    if (!force && !this.dirty) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  /**
   * Like sync() without blocking the event loop (the fsync runs on libuv's pool): resolves once
   * every event appended before the call is durable.
   */
  syncAsync(): Promise<void> {
    if (!this.dirty) return this.inflight ?? Promise.resolve();
    this.dirty = false;
    const p = new Promise<void>((resolve, reject) =>
      fsync(this.fd, (err) => (err ? reject(err) : resolve())),
    );
    const tracked: Promise<void> = p
      .catch(() => undefined)
      .then(() => {
        if (this.inflight === tracked) this.inflight = undefined;
      });
    this.inflight = tracked;
    return p;
  }

  close(): void {
    this.sync();
    closeSync(this.fd);
  }
}

export interface ReadJournalResult {
  events: JournalEvent[];
  /** Raw lines of the parsed events, as written (for hash verification). */
  lines: string[];
  /** A last line that was cut short by a crash, if any. */
  tornTail: string | undefined;
  /** Lines (1-based) that are not valid JSON events other than the torn tail. */
  corrupt: { line: number; text: string }[];
}

/** Reads a journal, tolerating a torn last line (the process died mid-write). */
export function readJournal(path: string, options: { allowMissing?: boolean } = {}): ReadJournalResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (options.allowMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { events: [], lines: [], tornTail: undefined, corrupt: [] };
    }
    throw err;
  }
  const raw = text.split('\n');
  const endsClean = text.endsWith('\n') || text === '';
  const result: ReadJournalResult = { events: [], lines: [], tornTail: undefined, corrupt: [] };
  raw.forEach((line, i) => {
    if (line === '') return;
    const isLast = i === raw.length - 1 && !endsClean;
    try {
      const ev = JSON.parse(line) as JournalEvent;
      if (typeof ev !== 'object' || ev === null || typeof ev.type !== 'string')
        throw new Error('not an event');
      result.events.push(ev);
      result.lines.push(line);
    } catch {
      if (isLast) result.tornTail = line;
      else if (isTornRepair(raw, i)) result.tornTail ??= line;
      else result.corrupt.push({ line: i + 1, text: line.slice(0, 200) });
    }
  });
  return result;
}

/** A torn line that a later writer terminated with '\n' is followed by a valid chain. */
function isTornRepair(raw: string[], i: number): boolean {
  const next = raw.slice(i + 1).find((l) => l !== '');
  if (next === undefined) return true;
  try {
    const ev = JSON.parse(next) as JournalEvent;
    return ev.seq !== undefined;
  } catch {
    return false;
  }
}

export interface ChainVerification {
  ok: boolean;
  events: number;
  /** First place the chain breaks: the event's seq, its line and why. */
  breakAt?: { seq: number; line: number; reason: string };
  tornTail: boolean;
}

/** Checks every event's `prev` against the sha-256 of the line before it, and the seq order. */
export function verifyChain(journal: ReadJournalResult): ChainVerification {
  let prev = GENESIS_HASH;
  for (let i = 0; i < journal.events.length; i++) {
    const ev = journal.events[i]!;
    if (ev.seq !== i) {
      return {
        ok: false,
        events: journal.events.length,
        tornTail: journal.tornTail !== undefined,
        breakAt: {
          seq: ev.seq,
          line: i + 1,
          reason: `expected seq ${i}, found ${ev.seq} (an event was removed or reordered)`,
        },
      };
    }
    if (ev.prev !== prev) {
      return {
        ok: false,
        events: journal.events.length,
        tornTail: journal.tornTail !== undefined,
        breakAt: {
          seq: ev.seq,
          line: i + 1,
          reason: `prev hash does not match the event before it (event ${i - 1} was altered)`,
        },
      };
    }
    prev = sha256(journal.lines[i]!);
  }
  if (journal.corrupt.length > 0) {
    const c = journal.corrupt[0]!;
    return {
      ok: false,
      events: journal.events.length,
      tornTail: journal.tornTail !== undefined,
      breakAt: { seq: -1, line: c.line, reason: 'line is not a valid journal event' },
    };
  }
  return { ok: true, events: journal.events.length, tornTail: journal.tornTail !== undefined };
}
