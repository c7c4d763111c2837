import { formatDuration } from '../util/duration.js';
import type { JournalEvent, JournalStepInfo, StepStatus } from '../journal/events.js';
import type { ApprovalNote, OverrideNote, ReportStepStatus } from './model.js';

/** What the journal says happened to one step, with times as epoch milliseconds. */
export interface StepTrack {
  info: JournalStepInfo;
  /** Index in the plan (run-started order); unknown steps come after. */
  order: number;
  starts: number[];
  /** `attempt` of the last step-started (a resumed step continues the count). */
  lastStartAttempt: number;
  /** Session (`user@host`) of the last start. */
  ranBy: string | undefined;
  finished:
    | {
        at: number;
        status: StepStatus;
        attempts: number;
        exitCode?: number | undefined;
        error?: string | undefined;
        outputTail?: string[] | undefined;
      }
    | undefined;
  skipped: { at: number; reason: string } | undefined;
  attemptEvents: number;
  attemptErrors: string[];
  /** Approval waits: requested → decided (to undefined while still open). */
  approvalWaits: { from: number; to: number | undefined }[];
  approvals: ApprovalNote[];
  overrides: OverrideNote[];
  /** Time of a mark-done override with no step-finished after it. */
  overrideDoneAt: number | undefined;
  drill: boolean;
  dryRun: boolean;
  /** A start that a crash cut short (a run-resumed came before the step finished). */
  interruptedAt: number | undefined;
  /** Final state and the end of its bar, filled by finishTracks. */
  status: ReportStepStatus;
  end: number | undefined;
  /** End of the step's bar on the timeline (= end, or the crash / last event for open steps). */
  barEnd: number | undefined;
}

/** Statuses after which dependants may start. */
export const DONE_STATUSES: ReadonlySet<ReportStepStatus> = new Set([
  'succeeded',
  'done-by-override',
  'skipped',
]);

export interface TrackSet {
  tracks: Map<string, StepTrack>;
  runStart: number;
  runEnd: number;
  /** Intervals when the drctl process was not running (crash → run-resumed). */
  down: { from: number; to: number }[];
  warnings: string[];
}

function whoOf(who: { user: string; host: string } | undefined): string | undefined {
  return who === undefined ? undefined : `${who.user}@${who.host}`;
}

function newTrack(info: JournalStepInfo, order: number): StepTrack {
  return {
    info,
    order,
    starts: [],
    lastStartAttempt: 0,
    ranBy: undefined,
    finished: undefined,
    skipped: undefined,
    attemptEvents: 0,
    attemptErrors: [],
    approvalWaits: [],
    approvals: [],
    overrides: [],
    overrideDoneAt: undefined,
    drill: false,
    dryRun: false,
    interruptedAt: undefined,
    status: 'not-run',
    end: undefined,
    barEnd: undefined,
  };
}

/** Replays the journal into one track per step. Pure. */
export function collectTracks(events: JournalEvent[], runDryRun: boolean): TrackSet {
  const tracks = new Map<string, StepTrack>();
  const warnings: string[] = [];
  const down: { from: number; to: number }[] = [];
  let session: string | undefined;
  let lastTs: number | undefined;
  const first = events[0];
  const runStart = first === undefined ? 0 : Date.parse(first.ts);

  const trackOf = (id: string, type: string): StepTrack => {
    let t = tracks.get(id);
    if (t === undefined) {
      warnings.push(`${type} event for step "${id}", which is not in the run's plan`);
      t = newTrack({ id, title: id, owner: '(unknown)', kind: '(unknown)', needs: [] }, tracks.size);
      tracks.set(id, t);
    }
    return t;
  };

  for (const ev of events) {
    const at = Date.parse(ev.ts);
    switch (ev.type) {
      case 'run-started':
        session = whoOf(ev.who);
        ev.steps.forEach((info, i) => {
          if (!tracks.has(info.id)) tracks.set(info.id, newTrack(info, i));
        });
        break;
      case 'run-resumed':
        session = whoOf(ev.who);
        if (lastTs !== undefined && at > lastTs) down.push({ from: lastTs, to: at });
        for (const t of tracks.values()) {
          const open = t.starts.length > 0 && t.finished === undefined && t.skipped === undefined;
          if (open) t.interruptedAt = lastTs ?? at;
        }
        break;
      case 'step-started': {
        const t = trackOf(ev.step, ev.type);
        t.starts.push(at);
        t.lastStartAttempt = ev.attempt;
        t.ranBy = session;
        t.finished = undefined;
        if (ev.drill === true) t.drill = true;
        if (ev.dryRun === true || runDryRun) t.dryRun = true;
        break;
      }
      case 'step-attempt': {
        const t = trackOf(ev.step, ev.type);
        t.attemptEvents += 1;
        if (!ev.ok) {
          const retry = ev.retryInMs === undefined ? '' : ` (retry in ${formatDuration(ev.retryInMs)})`;
          const code = ev.exitCode === undefined ? '' : ` exit ${ev.exitCode}`;
          t.attemptErrors.push(`attempt ${ev.attempt} failed${code}: ${ev.error ?? 'no error text'}${retry}`);
        }
        break;
      }
      case 'step-finished': {
        const t = trackOf(ev.step, ev.type);
        t.finished = {
          at,
          status: ev.status,
          attempts: ev.attempts,
          exitCode: ev.exitCode,
          error: ev.error,
          outputTail: ev.outputTail,
        };
        t.overrideDoneAt = undefined;
        break;
      }
      case 'step-skipped':
        trackOf(ev.step, ev.type).skipped = { at, reason: ev.reason };
        break;
      case 'approval-requested':
        trackOf(ev.step, ev.type).approvalWaits.push({ from: at, to: undefined });
        break;
      case 'approval': {
        const t = trackOf(ev.step, ev.type);
        const open = t.approvalWaits.find((w) => w.to === undefined);
        if (open !== undefined) open.to = at;
        t.approvals.push({ at: ev.ts, decision: ev.decision, by: ev.by, via: ev.via, comment: ev.comment });
        break;
      }
      case 'override': {
        const t = trackOf(ev.step, ev.type);
        t.overrides.push({ at: ev.ts, action: ev.action, by: ev.by, reason: ev.reason });
        if (ev.action === 'mark-done') t.overrideDoneAt = at;
        break;
      }
      case 'gate-result':
        trackOf(ev.step, ev.type);
        break;
      case 'approval-refused':
      case 'step-process':
        break;
      case 'rollback-started':
      case 'rollback-finished':
      case 'run-finished':
        break;
    }
    lastTs = at;
  }
  const runEnd = lastTs ?? runStart;
  const finished = events.some((e) => e.type === 'run-finished');
  for (const t of tracks.values()) finishTrack(t, runEnd, finished);
  return { tracks, runStart, runEnd, down, warnings };
}

function finishTrack(t: StepTrack, runEnd: number, runFinished: boolean): void {
  const lastStart = t.starts.at(-1);
  if (t.overrideDoneAt !== undefined) {
    t.status = 'done-by-override';
    t.end = t.overrideDoneAt;
  } else if (t.finished !== undefined) {
    t.status = t.finished.status;
    t.end = t.finished.at;
  } else if (t.skipped !== undefined) {
    t.status = 'skipped';
    t.end = t.skipped.at;
  } else if (lastStart !== undefined) {
    const crashed = t.interruptedAt !== undefined && t.interruptedAt >= lastStart;
    if (crashed || runFinished) {
      t.status = 'unknown';
      t.barEnd = crashed ? t.interruptedAt : runEnd;
      return;
    }
    t.status = t.approvalWaits.some((w) => w.to === undefined) ? 'awaiting-approval' : 'running';
    t.barEnd = runEnd;
    return;
  } else {
    t.status =
      t.approvalWaits.some((w) => w.to === undefined) && !runFinished ? 'awaiting-approval' : 'not-run';
    return;
  }
  t.barEnd = t.end;
}

/** First start of a track, or its end for a step that ended without starting (skipped). */
export function startOf(t: StepTrack): number | undefined {
  return t.starts[0] ?? (t.skipped !== undefined ? t.skipped.at : undefined);
}

/**
 * Attempts made, across resumes. The executor journals failed attempts only; a step-started
 * carries the number of its first attempt (it continues after a resume) and step-finished the
 * attempts made since that start.
 */
export function countAttempts(t: StepTrack): number {
  const finished = t.finished;
  const viaFinish =
    finished === undefined || finished.status === 'done-by-override'
      ? 0
      : Math.max(0, t.lastStartAttempt - 1) + finished.attempts;
  const viaAttempts = t.attemptEvents + (t.status === 'succeeded' ? 1 : 0);
  return Math.max(viaFinish, viaAttempts, t.starts.length);
}
