import type { CheckResult } from '../../checkers/types.js';
import { formatDuration } from '../util/duration.js';
import type { JournalEvent, JournalStepInfo, RunStatus, StepStatus } from './events.js';

/**
 * The one replay of a run's journal. `drctl status` (text and --json), `drctl resume`, the report
 * and `drctl plan --history` all read a run through `replayRun`, so they give one answer.
 * Definitions of every interval are in docs/report.md ("How each number is computed").
 */

/**
 * A step's state after the replay. Journal statuses plus `running` (started, no end yet, run
 * still going), `awaiting-approval`, `not-run` (never started) and `dry-run` (a dry run only
 * showed what it would do).
 */
export type TrackStatus = StepStatus | 'running' | 'awaiting-approval' | 'not-run' | 'dry-run';

export interface ApprovalNote {
  at: string;
  decision: 'approved' | 'rejected';
  by: string;
  via: string;
  comment?: string | undefined;
}

export interface OverrideNote {
  at: string;
  action: string;
  by: string;
  reason: string;
}

export interface Interval {
  from: number;
  to: number;
}

export type RunStartedEvent = Extract<JournalEvent, { type: 'run-started' }>;
export type Who = RunStartedEvent['who'];

/** What the journal says happened to one step, with times as epoch milliseconds. */
export interface StepTrack {
  info: JournalStepInfo;
  /** Index in the plan (run-started order); unknown steps come after. */
  order: number;
  /** Every step-started, in order (a re-run after a failure or a resume adds one). */
  starts: number[];
  /**
   * One per step-started: from it to the step-finished of the same session, or to the last
   * event before the process stopped (a crash, then a resume), or `undefined` while still open.
   */
  sessions: { from: number; to: number | undefined }[];
  /** `attempt` of the last step-started (a resumed step continues the count). */
  lastStartAttempt: number;
  /** Session (`user@host`) of the last start. */
  ranBy: string | undefined;
  finished:
    | {
        at: number;
        seq: number;
        status: StepStatus;
        attempts: number;
        durationMs: number;
        exitCode?: number | undefined;
        error?: string | undefined;
        outputTail?: string[] | undefined;
      }
    | undefined;
  skipped: { at: number; seq: number; reason: string } | undefined;
  attemptEvents: number;
  /** Highest attempt number seen in any event. */
  maxAttempt: number;
  attemptErrors: string[];
  /** Delays between a failed attempt and the next one (clipped to the session). */
  retryWaits: Interval[];
  /** Approval waits: requested → decided (to undefined while still open). */
  approvalWaits: { from: number; to: number | undefined }[];
  approvals: ApprovalNote[];
  /** The last decision since the step last started (what `status` shows). */
  lastApproval: ApprovalNote | undefined;
  /** The last approval asked for: who may decide, how many, and who has approved since. */
  approvalAsk:
    | {
        role: string;
        instructions: string;
        approvers: string[];
        members: string[];
        minApprovals: number;
        approvedBy: string[];
      }
    | undefined;
  overrides: OverrideNote[];
  /**
   * Work that committed (or may have) on a remote system in attempts not yet covered by an
   * operator's decision (`step-effect` events since the last override).
   */
  committed: string[];
  /** Time of a mark-done override with no step-finished after it. */
  overrideDoneAt: number | undefined;
  gate: Pick<CheckResult, 'ok' | 'status' | 'summary'> | undefined;
  description: string | undefined;
  drill: boolean;
  dryRun: boolean;
  /** A start that a crash cut short (a run-resumed came before the step finished). */
  interruptedAt: number | undefined;
  /** Filled by the end of the replay. */
  status: TrackStatus;
  /** End: finished, skipped or marked done; undefined while open or never started. */
  end: number | undefined;
  /** End of the step's bar on the timeline (= end, or the crash / open-until for open steps). */
  barEnd: number | undefined;
  /** The intervals when an attempt of the step was running (sessions minus approval and retry waits). */
  work: Interval[];
}

export interface RunReplay {
  started: RunStartedEvent | undefined;
  tracks: Map<string, StepTrack>;
  /** First event. */
  runStart: number;
  /** Last event. */
  lastEvent: number;
  /** Where open intervals end: the last event, or `now` for a live run (see ReplayOptions). */
  openUntil: number;
  /** The run-finished that is the last word (a later resume clears it). */
  finished: { status: RunStatus; durationMs: number; error?: string | undefined; at: number } | undefined;
  /** Intervals when the drctl process was not running (the last event before a resume → the resume). */
  down: Interval[];
  resumes: { at: number; who: Who }[];
  /** The process that last started or resumed the run. */
  who: Who | undefined;
  rollback:
    | {
        at: number;
        reason: string;
        steps: string[];
        finishedAt?: number | undefined;
        status?: string | undefined;
      }
    | undefined;
  events: number;
  warnings: string[];
}

export interface ReplayOptions {
  /**
   * Where intervals still open at the end of the journal end (a running step, an open approval
   * wait). Default: the last event. `drctl status` and `report` pass "now" for a run whose
   * process is alive.
   */
  openUntil?: number | undefined;
}

/** Statuses after which dependants may start. */
export const DONE_STATUSES: ReadonlySet<TrackStatus> = new Set([
  'succeeded',
  'done-by-override',
  'skipped',
  'dry-run',
]);

function whoOf(who: { user: string; host: string } | undefined): string | undefined {
  return who === undefined ? undefined : `${who.user}@${who.host}`;
}

function newTrack(info: JournalStepInfo, order: number): StepTrack {
  return {
    info,
    order,
    starts: [],
    sessions: [],
    lastStartAttempt: 0,
    ranBy: undefined,
    finished: undefined,
    skipped: undefined,
    attemptEvents: 0,
    maxAttempt: 0,
    attemptErrors: [],
    retryWaits: [],
    approvalWaits: [],
    approvals: [],
    lastApproval: undefined,
    approvalAsk: undefined,
    overrides: [],
    committed: [],
    overrideDoneAt: undefined,
    gate: undefined,
    description: undefined,
    drill: false,
    dryRun: false,
    interruptedAt: undefined,
    status: 'not-run',
    end: undefined,
    barEnd: undefined,
    work: [],
  };
}

/** Replays the journal into one track per step. Pure. */
export function replayRun(events: JournalEvent[], options: ReplayOptions = {}): RunReplay {
  const tracks = new Map<string, StepTrack>();
  const warnings: string[] = [];
  const down: Interval[] = [];
  const resumes: RunReplay['resumes'] = [];
  let started: RunStartedEvent | undefined;
  let who: Who | undefined;
  let session: string | undefined;
  let lastTs: number | undefined;
  let finished: RunReplay['finished'];
  let rollback: RunReplay['rollback'];
  const runDryRun = events.some((e) => e.type === 'run-started' && e.dryRun);
  const first = events[0];
  const runStart = first === undefined ? 0 : Date.parse(first.ts);
  const pendingRetry = new Map<string, { from: number; ms: number }>();

  const trackOf = (id: string, type: string): StepTrack => {
    let t = tracks.get(id);
    if (t === undefined) {
      warnings.push(`${type} event for step "${id}", which is not in the run's plan`);
      t = newTrack({ id, title: id, owner: '(unknown)', kind: '(unknown)', needs: [] }, tracks.size);
      tracks.set(id, t);
    }
    return t;
  };
  const closeSession = (t: StepTrack, at: number): void => {
    const s = t.sessions.at(-1);
    if (s !== undefined && s.to === undefined) s.to = at;
    const r = pendingRetry.get(t.info.id);
    if (r !== undefined) {
      t.retryWaits.push({ from: r.from, to: Math.min(r.from + r.ms, at) });
      pendingRetry.delete(t.info.id);
    }
  };

  for (const ev of events) {
    const at = Date.parse(ev.ts);
    switch (ev.type) {
      case 'run-started':
        started ??= ev;
        who = ev.who;
        session = whoOf(ev.who);
        ev.steps.forEach((info, i) => {
          if (!tracks.has(info.id)) tracks.set(info.id, newTrack(info, i));
        });
        break;
      case 'run-resumed': {
        who = ev.who;
        session = whoOf(ev.who);
        finished = undefined;
        resumes.push({ at, who: ev.who });
        const crash = lastTs ?? at;
        if (at > crash) down.push({ from: crash, to: at });
        for (const t of tracks.values()) {
          const open = t.starts.length > 0 && t.finished === undefined && t.skipped === undefined;
          if (open && t.sessions.at(-1)?.to === undefined) {
            t.interruptedAt = crash;
            closeSession(t, crash);
          }
          // An approval still awaited when the process stopped ended with it.
          for (const w of t.approvalWaits) if (w.to === undefined) w.to = crash;
        }
        break;
      }
      case 'step-started': {
        const t = trackOf(ev.step, ev.type);
        closeSession(t, at);
        t.starts.push(at);
        t.sessions.push({ from: at, to: undefined });
        t.lastStartAttempt = ev.attempt;
        t.maxAttempt = Math.max(t.maxAttempt, ev.attempt);
        t.ranBy = session;
        t.finished = undefined;
        t.lastApproval = undefined;
        t.description = ev.description;
        if (ev.drill === true) t.drill = true;
        if (ev.dryRun === true || runDryRun) t.dryRun = true;
        break;
      }
      case 'step-attempt': {
        const t = trackOf(ev.step, ev.type);
        t.attemptEvents += 1;
        t.maxAttempt = Math.max(t.maxAttempt, ev.attempt);
        if (!ev.ok) {
          const retry = ev.retryInMs === undefined ? '' : ` (retry in ${formatDuration(ev.retryInMs)})`;
          const code = ev.exitCode === undefined ? '' : ` exit ${ev.exitCode}`;
          t.attemptErrors.push(`attempt ${ev.attempt} failed${code}: ${ev.error ?? 'no error text'}${retry}`);
        }
        if (ev.retryInMs !== undefined) pendingRetry.set(t.info.id, { from: at, ms: ev.retryInMs });
        break;
      }
      case 'step-finished': {
        const t = trackOf(ev.step, ev.type);
        closeSession(t, at);
        t.finished = {
          at,
          seq: ev.seq,
          status: ev.status,
          attempts: ev.attempts,
          durationMs: ev.durationMs,
          exitCode: ev.exitCode,
          error: ev.error,
          outputTail: ev.outputTail,
        };
        t.overrideDoneAt = undefined;
        break;
      }
      case 'step-skipped':
        trackOf(ev.step, ev.type).skipped = { at, seq: ev.seq, reason: ev.reason };
        break;
      case 'approval-requested': {
        const t = trackOf(ev.step, ev.type);
        t.approvalWaits.push({ from: at, to: undefined });
        t.approvalAsk = {
          role: ev.role,
          instructions: ev.instructions,
          approvers: ev.approvers ?? ev.role.split('|'),
          members: ev.members ?? [],
          minApprovals: ev.minApprovals ?? 1,
          approvedBy: [],
        };
        break;
      }
      case 'approval': {
        const t = trackOf(ev.step, ev.type);
        if (ev.decision === 'approved' && !ev.concurring) t.approvalAsk?.approvedBy.push(ev.by);
        if (ev.concurring || (ev.count !== undefined && ev.needed !== undefined && ev.count < ev.needed)) {
          // A second approver of an already approved step, or one of several that minApprovals
          // asks for before the last: listed, decides nothing.
          t.approvals.push({ at: ev.ts, decision: ev.decision, by: ev.by, via: ev.via, comment: ev.comment });
          break;
        }
        const open = t.approvalWaits.find((w) => w.to === undefined);
        if (open !== undefined) open.to = at;
        const note = { at: ev.ts, decision: ev.decision, by: ev.by, via: ev.via, comment: ev.comment };
        t.approvals.push(note);
        t.lastApproval = note;
        break;
      }
      case 'override': {
        const t = trackOf(ev.step, ev.type);
        t.overrides.push({ at: ev.ts, action: ev.action, by: ev.by, reason: ev.reason });
        if (ev.action === 'mark-done') t.overrideDoneAt = at;
        // The operator decided about this step's earlier work.
        t.committed = [];
        break;
      }
      case 'step-effect': {
        const t = trackOf(ev.step, ev.type);
        if (ev.outcome === 'committed' || ev.outcome === 'unknown')
          t.committed.push(`${ev.target} ${ev.outcome}${ev.detail ? ` (${ev.detail})` : ''}`);
        break;
      }
      case 'notify-delivered':
      case 'notify-gave-up':
        // Deliveries change no step, and those flushed after run-finished must not stretch the
        // run's end (its duration and RTO are what the steps took).
        continue;
      case 'approval-refused':
      case 'step-process':
      case 'lock-acquired':
      case 'lock-lost':
        // A refused submission changes no step; a step's process id matters to resume only; a
        // lost lock stops the run through its run-finished.
        break;
      case 'gate-result': {
        const t = trackOf(ev.step, ev.type);
        t.gate = { ok: ev.result.ok, status: ev.result.status, summary: ev.result.summary };
        break;
      }
      case 'rollback-started':
        rollback = { at, reason: ev.reason, steps: ev.steps };
        break;
      case 'rollback-finished':
        if (rollback !== undefined) {
          rollback.finishedAt = at;
          rollback.status = ev.status;
        }
        break;
      case 'run-finished':
        finished = { status: ev.status, durationMs: ev.durationMs, error: ev.error, at };
        break;
    }
    lastTs = at;
  }
  const lastEvent = lastTs ?? runStart;
  const openUntil = finished === undefined ? Math.max(options.openUntil ?? lastEvent, lastEvent) : lastEvent;
  for (const t of tracks.values()) finishTrack(t, openUntil, finished !== undefined);
  return {
    started,
    tracks,
    runStart,
    lastEvent,
    openUntil,
    finished,
    down,
    resumes,
    who,
    rollback,
    events: events.length,
    warnings,
  };
}

function finishTrack(t: StepTrack, openUntil: number, runFinished: boolean): void {
  const lastStart = t.starts.at(-1);
  for (const w of t.approvalWaits) if (w.to === undefined && runFinished) w.to = t.finished?.at ?? openUntil;
  if (t.overrideDoneAt !== undefined) {
    t.status = 'done-by-override';
    t.end = t.overrideDoneAt;
  } else if (t.finished !== undefined) {
    t.status = t.dryRun && t.finished.status === 'succeeded' ? 'dry-run' : t.finished.status;
    t.end = t.finished.at;
  } else if (t.skipped !== undefined) {
    t.status = 'skipped';
    t.end = t.skipped.at;
  } else if (lastStart !== undefined) {
    const crashed = t.interruptedAt !== undefined && t.interruptedAt >= lastStart;
    if (crashed || runFinished) {
      t.status = 'unknown';
      t.barEnd = crashed ? t.interruptedAt : openUntil;
    } else {
      t.status = t.approvalWaits.some((w) => w.to === undefined) ? 'awaiting-approval' : 'running';
      t.barEnd = openUntil;
    }
  } else {
    t.status =
      t.approvalWaits.some((w) => w.to === undefined) && !runFinished ? 'awaiting-approval' : 'not-run';
  }
  if (t.end !== undefined) t.barEnd = t.end;
  const sessions: Interval[] = t.sessions.map((s) => ({ from: s.from, to: s.to ?? t.barEnd ?? openUntil }));
  const waits: Interval[] = [
    ...t.approvalWaits.map((w) => ({ from: w.from, to: w.to ?? openUntil })),
    ...t.retryWaits,
  ];
  t.work = t.dryRun ? [] : sessions.flatMap((s) => subtract(s, waits));
}

/** `span` minus every interval of `holes`. */
export function subtract(span: Interval, holes: Interval[]): Interval[] {
  const pieces: Interval[] = [];
  let cursor = span.from;
  for (const h of [...holes].sort((a, b) => a.from - b.from)) {
    const a = Math.max(h.from, span.from);
    const b = Math.min(h.to, span.to);
    if (b <= a) continue;
    if (a > cursor) pieces.push({ from: cursor, to: a });
    cursor = Math.max(cursor, b);
  }
  if (span.to > cursor) pieces.push({ from: cursor, to: span.to });
  return pieces;
}

/** Total length of intervals, overlaps counted once. */
export function unionLength(intervals: Interval[]): number {
  const sorted = intervals.filter((i) => i.to > i.from).sort((x, y) => x.from - y.from);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const { from, to } of sorted) {
    if (from > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = from;
      curEnd = to;
    } else if (to > curEnd) {
      curEnd = to;
    }
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/** Time the step's attempts were running: its sessions minus approval and retry waits. */
export function workOf(t: StepTrack): number {
  return t.work.reduce((sum, w) => sum + (w.to - w.from), 0);
}

/** First start → end (or bar end for an open step); undefined for a step that never started. */
export function wallOf(t: StepTrack): number | undefined {
  const s = t.starts[0];
  return s === undefined || t.barEnd === undefined ? undefined : t.barEnd - s;
}

/** First start of a track, or its end for a step that ended without starting (skipped). */
export function startOf(t: StepTrack): number | undefined {
  return t.starts[0] ?? (t.skipped !== undefined ? t.skipped.at : undefined);
}

/** A rollback step that never started while no rollback was planned for it: not part of this run. */
export function isIdleRollbackStep(t: StepTrack, replay: RunReplay): boolean {
  if (t.info.rollbackOf === undefined || t.starts.length > 0) return false;
  return !(replay.rollback?.steps.includes(t.info.id) ?? false);
}

/**
 * Attempts made, across resumes. The executor journals failed attempts only; a step-started
 * carries the number of its first attempt (it continues after a resume) and step-finished the
 * attempts made since that start.
 */
export function countAttempts(t: StepTrack): number {
  if (t.status === 'dry-run') return 0;
  const finished = t.finished;
  const viaFinish =
    finished === undefined || finished.status === 'done-by-override'
      ? 0
      : Math.max(0, t.lastStartAttempt - 1) + finished.attempts;
  const viaAttempts = t.attemptEvents + (t.status === 'succeeded' ? 1 : 0);
  return Math.max(viaFinish, viaAttempts, t.starts.length, t.maxAttempt);
}
