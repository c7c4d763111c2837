import { createHash } from 'node:crypto';
import { closeSync, fsync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DrctlError, ExitCode } from '../errors.js';
import { redactValue } from '../util/redact.js';
import type { JournalEvent, JournalEventBody } from './events.js';

export const GENESIS_HASH = '0'.repeat(64);

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The chain's head, kept outside the journal: the seq and hash of the last event written.
 * A hash chain alone cannot tell that its last lines were edited or deleted (nothing after them
 * points back); the head can. Rewritten in place (one fixed-size record) after every append.
 */
export interface JournalHead {
  seq: number;
  hash: string;
}

/** Size of the head record: one write of one block, never torn in practice. */
const HEAD_BYTES = 160;

/** `journal.head` next to `journal.jsonl`. */
export function headPathOf(journalPath: string): string {
  return join(dirname(journalPath), `${basename(journalPath).replace(/\.jsonl$/, '')}.head`);
}

/** The head record, undefined when there is none (a run recorded before heads existed). */
export function readHead(journalPath: string): JournalHead | 'unreadable' | undefined {
  let text: string;
  try {
    text = readFileSync(headPathOf(journalPath), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return 'unreadable';
  }
  try {
    const h = JSON.parse(text.trim()) as JournalHead;
    if (!Number.isInteger(h.seq) || typeof h.hash !== 'string' || !/^[0-9a-f]{64}$/.test(h.hash))
      return 'unreadable';
    return { seq: h.seq, hash: h.hash };
  } catch {
    return 'unreadable';
  }
}

function headRecord(seq: number, hash: string): string {
  return JSON.stringify({ seq, hash }).padEnd(HEAD_BYTES - 1, ' ') + '\n';
}

/**
 * Append-only JSON-lines journal with a sha-256 hash chain; every event is fsynced before
 * `append` returns, so a crash loses at most the event being written (a torn last line).
 */
export class JournalWriter {
  private fd: number;
  private readonly headFd: number;
  private seq: number;
  private prev: string;
  private dirty = false;
  /** The first write error: once a line may be torn, this writer appends nothing more. */
  private failed: Error | undefined;
  private inflight: Promise<void> | undefined;
  private readonly t0 = performance.now();

  private constructor(
    readonly path: string,
    fd: number,
    headFd: number,
    seq: number,
    prev: string,
  ) {
    this.fd = fd;
    this.headFd = headFd;
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
    const headFd = openSync(headPathOf(path), 'a+');
    closeSync(headFd);
    const hfd = openSync(headPathOf(path), 'r+');
    const prev = last === undefined ? GENESIS_HASH : sha256(last);
    // Anchors what is there (callers that act on a journal verify it first: openJournalChecked).
    if (last !== undefined) writeSync(hfd, headRecord(existing.events.length - 1, prev), 0);
    return new JournalWriter(path, fd, hfd, existing.events.length, prev);
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
    if (this.failed) throw this.failed;
    try {
      writeSync(this.fd, line + '\n');
    } catch (err) {
      // Part of the line may be on disk (ENOSPC): nothing more is appended after a torn line
      // by this writer; the next one (resume) terminates it and readers skip it.
      this.failed = err as Error;
      throw err;
    }
    const hash = sha256(line);
    // After the line: a crash in between leaves the head one event behind, which verify
    // accepts (and says so); the other order would make a crash look like a deleted event.
    writeSync(this.headFd, headRecord(this.seq, hash), 0);
    if (options.sync === false) this.dirty = true;
    else this.sync(true);
    this.prev = hash;
    this.seq += 1;
    return event;
  }

  /** Makes every appended event durable; a no-op when nothing is pending. */
  sync(force = false): void {
    if (!force && !this.dirty) return;
    fsyncSync(this.fd);
    fsyncSync(this.headFd);
    this.dirty = false;
  }

  /**
   * Like sync() without blocking the event loop (the fsync runs on libuv's pool): resolves once
   * every event appended before the call is durable.
   */
  syncAsync(): Promise<void> {
    if (!this.dirty) return this.inflight ?? Promise.resolve();
    this.dirty = false;
    // Both files at once, on two of libuv's threads: one flush of waiting, not two in a row
    // (2–5 ms each here, twice per step on a chain's critical path). Both are durable when this
    // resolves, as before. Flushing them in turn never ordered them on disk: both were written
    // before this call, and the kernel may write the head's page back before either fsync.
    const flush = (fd: number) =>
      new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
    const p = Promise.all([flush(this.fd), flush(this.headFd)]).then(() => undefined);
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
    closeSync(this.headFd);
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
  return parseJournal(text);
}

/** Parses a journal's text (see readJournal). */
export function parseJournal(text: string): ReadJournalResult {
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
  /**
   * How the head file anchors the last event: `anchored`; `one-behind` (drctl stopped between
   * writing an event and its anchor: the last event is chained but not anchored); `no-head`
   * (a journal without a head file: its last event is not protected); `writing` (a drctl process
   * kept appending while it was read: events after the head are chained, anchored by the next
   * head it writes). Absent when not checked.
   */
  anchor?: 'anchored' | 'one-behind' | 'no-head' | 'writing' | undefined;
  /** First place the chain breaks: the event's seq, its line and why. */
  breakAt?: { seq: number; line: number; reason: string };
  tornTail: boolean;
}

/**
 * Checks every event's `prev` against the sha-256 of the line before it, and the seq order; with
 * `head` (see readHead), also that the journal ends where its head says, with that hash.
 */
export function verifyChain(
  journal: ReadJournalResult,
  head?: JournalHead | 'unreadable' | null,
  /** A writer was seen appending during the read: events after the head may be unanchored. */
  writing = false,
): ChainVerification {
  const chain = verifyLinks(journal);
  if (!chain.ok || head === undefined) return chain;
  const broken = (reason: string, seq: number): ChainVerification => ({
    ...chain,
    ok: false,
    breakAt: { seq, line: Math.max(1, seq + 1), reason },
  });
  if (head === null) return { ...chain, anchor: 'no-head' };
  const n = journal.events.length;
  if (head === 'unreadable') return broken('the head file (journal.head) is damaged', n - 1);
  const hashAt = (i: number): string | undefined =>
    journal.lines[i] === undefined ? undefined : sha256(journal.lines[i]);
  if (head.seq > n - 1) {
    return broken(
      `the head file says the journal ends at event ${head.seq}, but its last event is ${n - 1}: events were removed from the end`,
      n,
    );
  }
  if (head.seq === n - 1) {
    if (hashAt(n - 1) === head.hash) return { ...chain, anchor: 'anchored' };
    return broken(
      `event ${n - 1} (the last) was altered after it was written: it does not match the head file`,
      n - 1,
    );
  }
  if (hashAt(head.seq) !== head.hash) {
    return broken(
      `event ${head.seq} was altered after it was written: it does not match the head file`,
      head.seq,
    );
  }
  if (head.seq === n - 2) return { ...chain, anchor: 'one-behind' };
  if (writing) return { ...chain, anchor: 'writing' };
  return broken(
    `events ${head.seq + 1}–${n - 1} were not written by drctl: the head file says the journal ends at event ${head.seq}`,
    head.seq + 1,
  );
}

function verifyLinks(journal: ReadJournalResult): ChainVerification {
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

/** The journal and its verification, head included (`anchor` is always set). */
export function checkJournal(journalPath: string): {
  journal: ReadJournalResult;
  chain: ChainVerification;
  /** The journal's text as read (one read: the events and the lines come from it). */
  text: string;
} {
  const snap = snapshotJournal(journalPath);
  const journal = parseJournal(snap.text);
  return { journal, text: snap.text, chain: verifyChain(journal, snap.head ?? null, snap.writing) };
}

const READ_ATTEMPTS = 40;
const READ_PAUSE_MS = 5;

/**
 * Reads the head and the journal as one consistent picture while a drctl process may be
 * appending. The writer writes an event's line, then its head, one event at a time; a reader
 * that reads the head, the journal, then the head again, and finds the same head both times,
 * saw a journal at most one event ahead of its head (the strict rule). When the head keeps
 * moving (a busy run) it retries; if the writer never pauses, the head read first still anchors
 * every event up to it, and `writing` says the events after it were being appended meanwhile.
 */
function snapshotJournal(journalPath: string): {
  head: JournalHead | 'unreadable' | undefined;
  text: string;
  writing: boolean;
} {
  let first: { head: JournalHead | 'unreadable' | undefined; text: string } | undefined;
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const before = readHead(journalPath);
    const text = readFileSync(journalPath, 'utf8');
    const after = readHead(journalPath);
    if (sameHead(before, after)) return { head: before, text, writing: false };
    first ??= { head: before, text };
    pauseSync(READ_PAUSE_MS);
  }
  return { ...first!, writing: true };
}

function sameHead(
  a: JournalHead | 'unreadable' | undefined,
  b: JournalHead | 'unreadable' | undefined,
): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return a.seq === b.seq && a.hash === b.hash;
}

function pauseSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A journal whose hash chain or head does not verify: nothing should act on it. */
export class JournalIntegrityError extends DrctlError {}

/**
 * Reads a journal for a command that acts on it (status, resume, report, approve), refusing
 * one whose chain is broken: an edited or truncated journal would make drctl re-run a finished
 * step or report a failure as a success. `force` returns it anyway, for reading only, cut to the
 * events before the break: nothing is computed from events that may be forged.
 */
export function openJournalChecked(
  journalPath: string,
  options: { force?: boolean; run?: string } = {},
): { journal: ReadJournalResult; chain: ChainVerification } {
  const checked = checkJournal(journalPath);
  if (!checked.chain.ok && !options.force) {
    const b = checked.chain.breakAt;
    const where = b === undefined ? '' : ` at ${b.seq >= 0 ? `event ${b.seq}, ` : ''}line ${b.line}`;
    throw new JournalIntegrityError(
      `the journal of run ${options.run ?? journalPath} is not intact${where}: ${b?.reason ?? 'unknown'}; refusing to act on it`,
      {
        exitCode: ExitCode.usage,
        hint: `run \`drctl verify ${options.run ?? journalPath}\` for details; investigate before anything else (reading commands accept --force to show it anyway)`,
      },
    );
  }
  const b = checked.chain.breakAt;
  if (!checked.chain.ok && b !== undefined && b.seq >= 0) {
    const journal = { ...checked.journal, events: checked.journal.events.filter((e) => e.seq < b.seq) };
    return { journal, chain: checked.chain };
  }
  return checked;
}
