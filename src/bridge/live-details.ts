import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { RUNBOOK_FILE } from '../engine/run-dir.js';
import type { RunLocation } from '../journal/runs.js';
import { RtoWatch, type ClockEstimate } from '../notify/rto-watch.js';
import { buildPlan } from '../plan/plan.js';
import type { Schedule } from '../plan/scheduler.js';
import type { Runbook } from '../runbook/schema.js';
import { redact } from '../util/redact.js';
import type { RunSnapshot } from './runs.js';

/** The resolved runbook a run recorded (runbook.json) and its schedule, read once per run. */
const plans = new Map<string, { runbook: Runbook; schedule: Schedule } | null>();

function planOf(loc: RunLocation): { runbook: Runbook; schedule: Schedule } | undefined {
  let hit = plans.get(loc.dir);
  if (hit === undefined) {
    try {
      const runbook = JSON.parse(readFileSync(join(loc.dir, RUNBOOK_FILE), 'utf8')) as Runbook;
      const concurrency = (
        JSON.parse(readFileSync(join(loc.dir, 'invocation.json'), 'utf8')) as { concurrency?: number }
      ).concurrency;
      hit = { runbook, schedule: buildPlan(runbook, { concurrency }).schedule };
    } catch {
      // No runbook.json (a run written by something else): the page shows no forecast.
      hit = null;
    }
    plans.set(loc.dir, hit);
  }
  return hit ?? undefined;
}

const forecasts = new WeakMap<RunSnapshot, ClockEstimate[]>();

/**
 * The two RTO clocks of a live run with their forecast: the notifier's own (RtoWatch, the
 * executor's scheduler rerun on a virtual clock from now, a running step's estimate less the time
 * it has run). Computed once per snapshot (RunReader caches one per journal size, at most ~1 s),
 * so viewers share it. Undefined for a finished run or one without a recorded runbook.
 */
export function clockForecasts(loc: RunLocation, snap: RunSnapshot): ClockEstimate[] | undefined {
  if (snap.view.finished || snap.view.dryRun) return undefined;
  const cached = forecasts.get(snap);
  if (cached) return cached;
  const plan = planOf(loc);
  if (plan === undefined) return undefined;
  const watch = new RtoWatch(plan.runbook, plan.schedule);
  watch.seed(snap.view.steps);
  for (const s of snap.view.steps) {
    // A step that waits for approval counts as running: its estimate covers the wait.
    if ((s.state === 'running' || s.state === 'waiting-approval') && s.startedAt !== undefined) {
      watch.markRunning(s.id, Date.parse(s.startedAt));
    }
  }
  const out = watch.forecast(Date.now());
  forecasts.set(snap, out);
  return out;
}

const outputs = new WeakMap<RunSnapshot, Map<string, string[]>>();

/** Lines kept per running step on the page. */
export const OUTPUT_LINES = 5;
/** Bytes read from the end of a step's output file: enough for a few lines, whatever its size. */
const TAIL_BYTES = 16 * 1024;

/**
 * The last output lines of each running step, live: the ends of its stdout and stderr files in
 * the run directory (steps/<id>.stdout.log, .stderr.log, written line by line and redacted by
 * the executor), from its current attempt only, redacted again here.
 */
export function runningOutput(loc: RunLocation, snap: RunSnapshot): Map<string, string[]> {
  // Per snapshot (at most ~1 s old): 50 viewers refreshing read each file once.
  const cached = outputs.get(snap);
  if (cached) return cached;
  const out = new Map<string, string[]>();
  outputs.set(snap, out);
  for (const s of snap.view.steps) {
    if (s.state !== 'running') continue;
    const lines: string[] = [];
    for (const stream of ['stdout', 'stderr']) {
      lines.push(...currentAttemptTail(join(loc.dir, 'steps', `${s.id}.${stream}.log`)));
    }
    if (lines.length > 0) out.set(s.id, lines.slice(-OUTPUT_LINES).map(redact));
  }
  return out;
}

function currentAttemptTail(path: string): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    if (size > len) lines.shift(); // the first line was cut by the read window
    lines.pop(); // after the last newline: empty, or a line still being written
    // Each attempt starts with a `--- attempt N …` header (OutputCapture): keep what follows the last.
    const header = lines.findLastIndex((l) => l.startsWith('--- attempt '));
    return lines.slice(header + 1).slice(-OUTPUT_LINES);
  } finally {
    closeSync(fd);
  }
}
