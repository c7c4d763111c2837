import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readStatus, statusJson } from '../cli/commands/status.js';
import { liveness } from '../engine/inspect.js';
import type { RunView } from '../engine/state.js';
import type { JournalEvent } from '../journal/events.js';
import { JOURNAL_FILE, listRuns, type RunLocation } from '../journal/runs.js';
import type { ReportModel } from '../report/index.js';
import { redactValue } from '../util/redact.js';

/** A run id as `makeRunId` writes it; anything else (`..`, `/`, `latest`, a prefix) is not a run. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Finds a run by its exact id, and only among the run directories of `runsDir`: no prefixes, no
 * `latest`, no paths, so a request can never name a file outside the runs directory.
 */
export function findRun(runsDir: string, id: string): RunLocation | undefined {
  if (!RUN_ID.test(id) || id.includes('..')) return undefined;
  const dir = join(runsDir, id);
  if (!existsSync(join(dir, JOURNAL_FILE))) return undefined;
  return listRuns(runsDir).find((r) => r.id === id);
}

export interface RunSnapshot {
  view: RunView;
  model: ReportModel;
  /** `drctl status <run> --json`, redacted. */
  doc: Record<string, unknown>;
  live: boolean | 'unknown';
}

/**
 * The run read from its journal, cached while the journal does not grow (and at most `ttlMs`,
 * so open clocks tick): 50 viewers refreshing after each event replay the journal once.
 */
export class RunReader {
  private readonly cache = new Map<string, { size: number; at: number; snap: RunSnapshot }>();

  constructor(private readonly ttlMs = 1000) {}

  read(loc: RunLocation): RunSnapshot {
    const size = statSync(loc.journalPath).size;
    const hit = this.cache.get(loc.id);
    const now = Date.now();
    if (hit && hit.size === size && (now - hit.at < this.ttlMs || hit.snap.view.finished)) return hit.snap;
    const { view, model } = readStatus(loc.journalPath, loc.id, { now });
    const doc = redactValue(statusJson(view, model)) as Record<string, unknown>;
    const snap = { view, model, doc, live: liveness(view) };
    this.cache.set(loc.id, { size, at: now, snap });
    return snap;
  }
}

/** One line of the run list: running runs first, then past runs newest first. */
export interface RunSummary {
  runId: string;
  runbook: string;
  environment?: string | undefined;
  direction: string;
  drill: boolean;
  dryRun: boolean;
  startedAt: string;
  status: string;
  live: boolean | 'unknown';
  durationMs: number;
  waitingApproval: string[];
  rto: { technical: string; compliance: string };
  error?: string | undefined;
}

export function listRunSummaries(runsDir: string, reader: RunReader): RunSummary[] {
  const out: RunSummary[] = [];
  for (const loc of listRuns(runsDir)) {
    try {
      const { view, model, live } = reader.read(loc);
      out.push({
        runId: view.runId,
        runbook: view.runbook.name,
        direction: view.direction,
        drill: view.drill,
        dryRun: view.dryRun,
        startedAt: view.startedAt,
        status: model.run.status,
        live,
        durationMs: model.run.durationMs,
        waitingApproval: view.steps.filter((s) => s.state === 'waiting-approval').map((s) => s.id),
        rto: { technical: model.rto.technical.verdict, compliance: model.rto.compliance.verdict },
      });
    } catch (err) {
      out.push({
        runId: loc.id,
        runbook: '?',
        direction: '?',
        drill: false,
        dryRun: false,
        startedAt: '',
        status: 'unreadable',
        live: false,
        durationMs: 0,
        waitingApproval: [],
        rto: { technical: '', compliance: '' },
        error: (err as Error).message,
      });
    }
  }
  const running = (s: RunSummary): number => (s.status === 'in-progress' && s.live !== false ? 0 : 1);
  return redactValue(out.sort((a, b) => running(a) - running(b) || b.startedAt.localeCompare(a.startedAt)));
}

/**
 * Reads a journal from a byte offset: the complete lines written since, parsed. A line still
 * being written (no newline yet) is left for the next read.
 */
export function readJournalFrom(path: string, offset: number): { events: JournalEvent[]; offset: number } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return { events: [], offset };
  }
  if (size <= offset) return { events: [], offset };
  const buf = Buffer.alloc(size - offset);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, offset);
  } finally {
    closeSync(fd);
  }
  const end = buf.lastIndexOf(0x0a);
  if (end < 0) return { events: [], offset };
  const events: JournalEvent[] = [];
  for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
    if (line === '') continue;
    try {
      events.push(JSON.parse(line) as JournalEvent);
    } catch {
      // a torn or corrupt line: verify reports it; the live view skips it
    }
  }
  return { events, offset: offset + end + 1 };
}

/** A journal event as the event stream sends it: redacted and serialized once for every viewer. */
export interface StreamItem {
  seq: number;
  type: string;
  data: string;
}

/**
 * Every run's journal read once for all its viewers: each stream asks for the items so far, and
 * the file is read at most once per `pollMs` whatever the number of viewers (50 viewers used to
 * mean 50 reads, parses and redactions of each event).
 */
export class JournalTails {
  private readonly tails = new Map<string, { offset: number; items: StreamItem[]; at: number }>();

  constructor(private readonly pollMs: number) {}

  items(path: string): StreamItem[] {
    let t = this.tails.get(path);
    if (t === undefined) {
      t = { offset: 0, items: [], at: 0 };
      this.tails.set(path, t);
    }
    const now = Date.now();
    if (now - t.at >= this.pollMs) {
      t.at = now;
      try {
        const { events, offset } = readJournalFrom(path, t.offset);
        t.offset = offset;
        for (const ev of events) {
          t.items.push({ seq: ev.seq, type: ev.type, data: JSON.stringify(redactValue(ev)) });
        }
      } catch {
        // the run directory went away: nothing more to send
      }
    }
    return t.items;
  }
}
