import type { Users } from '../engine/users.js';
import type { RunLocation } from '../journal/runs.js';
import { showDuration } from '../report/format-values.js';
import { redactValue } from '../util/redact.js';
import { runningOutput } from './live-details.js';
import {
  clocksHtml,
  ganttKey,
  gatesHtml,
  runStatusText,
  shownSteps,
  snapshotSeq,
  stepRow,
  waitingHtml,
} from './pages.js';
import type { RunSnapshot } from './runs.js';

/**
 * The live summary of a run: what the page shows that the journal events alone do not give its
 * script (the RTO clocks with the forecast of the remaining critical path, the running steps'
 * last output lines, who may approve a waiting step, each step's duration), computed by the
 * server from one snapshot and sent to every viewer as one `event: live` frame of its event
 * stream (feed.ts). It names no viewer: the page's script personalises the Approve buttons.
 *
 * Rows are a delta: only those that changed since the previous summary of the same feed
 * (`base`, the journal seq that one showed). A page whose own state is older than `base` has
 * missed a delta and fetches the live fragment once to catch up.
 */
export interface LiveSummary {
  /** The journal seq this summary shows (its snapshot's last event). */
  seq: number;
  /** The seq of the previous summary these rows are a delta from; -1: every row is here. */
  base: number;
  status: string;
  finished: boolean;
  duration: string;
  events: number;
  /** HTML: the waiting-for-approval sections (personalised by the page). */
  waiting: string;
  /** HTML: the two clocks with their forecast. */
  clocks: string;
  /** HTML: the RPO evidence. */
  gates: string;
  /** Step id → its table row (HTML), for the rows that changed since `base`. */
  rows: Record<string, string>;
  /** Names the Gantt chart of this snapshot; the page fetches `/runs/:run/gantt` when it changes. */
  gantt: string;
}

/** What the next summary of a feed is a delta from. */
export interface SummaryState {
  snap: RunSnapshot;
  seq: number;
  rows: Map<string, string>;
}

/**
 * The summary of `snap`, or undefined when it would say nothing new (the same snapshot as the
 * previous one). Redacted: it carries output lines and instructions.
 */
export function summarize(
  loc: RunLocation,
  snap: RunSnapshot,
  users: Users,
  prev: SummaryState | undefined,
): { summary: LiveSummary; state: SummaryState } | undefined {
  if (prev?.snap === snap) return undefined;
  const output = runningOutput(loc, snap);
  const rows = new Map<string, string>();
  const changed: Record<string, string> = {};
  for (const s of shownSteps(snap)) {
    const row = stepRow(s, output);
    rows.set(s.id, row);
    if (prev?.rows.get(s.id) !== row) changed[s.id] = row;
  }
  const seq = snapshotSeq(snap);
  const summary = redactValue({
    seq,
    base: prev?.seq ?? -1,
    status: runStatusText(snap),
    finished: snap.view.finished !== undefined,
    duration: showDuration(snap.model.run.durationMs),
    events: snap.view.events,
    waiting: waitingHtml(snap, users),
    clocks: clocksHtml(snap, loc),
    gates: gatesHtml(snap),
    rows: changed,
    gantt: ganttKey(snap),
  });
  return { summary, state: { snap, seq, rows } };
}
