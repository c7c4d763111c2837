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
  const journalPath = join(dir, JOURNAL_FILE);
  // What listRuns would list under that name, without listing every run on each request.
  return existsSync(journalPath) ? { id, dir, journalPath } : undefined;
}

export interface RunSnapshot {
  view: RunView;
  model: ReportModel;
  /** `drctl status <run> --json`, redacted (built on first use: only the API needs it). */
  readonly doc: Record<string, unknown>;
  live: boolean | 'unknown';
}

/** What a snapshot has cost so far: its replay, and the pages rendered from it. */
export interface SnapshotCost {
  ms: number;
}

/**
 * The run read from its journal, shared by every request while it is fresh. A finished run is
 * read again only when its journal changes. A growing run is replayed at most once per
 * `minAgeMs`, and never sooner than `costFactor` times what the last snapshot cost (its replay
 * plus the pages rendered from it, see `charge`): however many viewers, the bridge spends at most
 * about 1/`costFactor` of a core on a live run's pages, and a bigger audience sees a slightly
 * older picture instead of slowing the switch on a shared bastion. Each viewer used to replay the
 * whole journal on every refresh (50 viewers × a journal that grows between any two requests).
 */
export class RunReader {
  private readonly cache = new Map<
    string,
    { size: number; at: number; snap: RunSnapshot; cost: SnapshotCost }
  >();
  private readonly costs = new WeakMap<RunSnapshot, SnapshotCost>();
  private readonly ttlMs: number;
  private readonly minAgeMs: number;
  private readonly costFactor: number;

  constructor(
    opts: {
      /** A live run with an unchanged journal is replayed again after this (its clocks tick; default 1 s). */
      ttlMs?: number | undefined;
      /** A growing run is replayed at most this often (default 250 ms). */
      minAgeMs?: number | undefined;
      /** And no sooner than this many times what its last snapshot cost (default 4). */
      costFactor?: number | undefined;
    } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 1000;
    this.minAgeMs = opts.minAgeMs ?? 250;
    this.costFactor = opts.costFactor ?? 4;
  }

  /**
   * `fresh`: replay if the journal changed at all (a decision about to be taken on it).
   * `maxAgeMs`: a snapshot younger than this will do even if the journal grew since (what the
   * live page gets from the event stream anyway: its first view, its Gantt chart).
   */
  read(loc: RunLocation, opts: { fresh?: boolean; maxAgeMs?: number } = {}): RunSnapshot {
    const size = statSync(loc.journalPath).size;
    const hit = this.cache.get(loc.id);
    const now = Date.now();
    if (hit) {
      const age = now - hit.at;
      if (!opts.fresh && opts.maxAgeMs !== undefined && age < opts.maxAgeMs) return hit.snap;
      if (hit.size === size && (age < this.ttlMs || hit.snap.view.finished)) return hit.snap;
      if (
        !opts.fresh &&
        !hit.snap.view.finished &&
        age < Math.max(this.minAgeMs, this.costFactor * hit.cost.ms)
      ) {
        return hit.snap;
      }
    }
    const t0 = performance.now();
    const { view, model } = readStatus(loc.journalPath, loc.id, { now });
    let doc: Record<string, unknown> | undefined;
    const snap = {
      view,
      model,
      get doc() {
        return (doc ??= redactValue(statusJson(view, model)) as Record<string, unknown>);
      },
      live: liveness(view),
    };
    const cost = { ms: performance.now() - t0 };
    this.costs.set(snap, cost);
    this.cache.set(loc.id, { size, at: now, snap, cost });
    return snap;
  }

  /** Adds the time spent rendering a page from `snap` to what it cost. */
  charge(snap: RunSnapshot, ms: number): void {
    const cost = this.costs.get(snap);
    if (cost) cost.ms += ms;
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
