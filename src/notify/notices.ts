import type { JournalEvent } from '../journal/events.js';
import type { NotifyEventKind, Runbook } from '../runbook/schema.js';
import { formatDuration } from '../util/duration.js';
import { redact } from '../util/redact.js';

/**
 * What a channel is told, independent of its format: one line (`title`), a few sentences
 * (`text`), labelled facts, and a link to the bridge when `notify.bridgeUrl` is set. The
 * formats (payloads.ts) only lay this out.
 */
export interface Notice {
  kind: NotifyEventKind;
  /** The journal event it reports (its seq), for the delivery's journal line. */
  cause: number;
  /** When that happened (ISO). */
  at: string;
  /** The step it is about, if any. */
  about?: string | undefined;
  severity: 'info' | 'success' | 'warning' | 'error';
  title: string;
  text: string;
  facts: [label: string, value: string][];
  link?: string | undefined;
  /** The event's own fields, for the generic JSON format. */
  data: Record<string, unknown>;
}

export interface NoticeContext {
  runbook: Runbook;
  runId: string;
  bridgeUrl?: string | undefined;
}

/** Lines of a failed step's output that a message carries, and their longest length. */
const TAIL_LINES = 10;
const LINE_MAX = 300;

/** The notice a journal event calls for, if any (run-aborted and rto-at-risk come from elsewhere). */
export function noticeOf(ev: JournalEvent, ctx: NoticeContext): Notice | undefined {
  const rb = ctx.runbook;
  const what = `${rb.name} ${rb.direction}${rb.drill ? ' drill' : ''}`;
  const base = { cause: ev.seq, at: ev.ts };
  const step = (id: string) => rb.steps.find((s) => s.id === id);
  switch (ev.type) {
    case 'run-started':
    case 'run-resumed': {
      const resumed = ev.type === 'run-resumed';
      const objectives = [
        rb.objectives.technicalMs === undefined
          ? ''
          : `technical ${formatDuration(rb.objectives.technicalMs)}`,
        rb.objectives.complianceMs === undefined
          ? ''
          : `compliance ${formatDuration(rb.objectives.complianceMs)}`,
      ].filter(Boolean);
      return {
        ...base,
        kind: 'run-started',
        severity: 'info',
        title: `${what} ${resumed ? 'resumed' : 'started'} (run ${ctx.runId})`,
        text: `${ev.who.user}@${ev.who.host} ${resumed ? 'resumed' : 'started'} ${rb.name} on ${rb.environment}: ${rb.steps.length} steps.`,
        facts: [
          ['Run', ctx.runId],
          ['Environment', rb.environment],
          ['Direction', `${rb.direction}${rb.drill ? ' (drill)' : ''}`],
          ['By', `${ev.who.user}@${ev.who.host}`],
          ...(objectives.length > 0 ? [['RTO objectives', objectives.join(', ')] as [string, string]] : []),
        ],
        link: runLink(ctx),
        data: { resumed, by: `${ev.who.user}@${ev.who.host}`, steps: rb.steps.length },
      };
    }
    case 'run-finished': {
      const ok = ev.status === 'succeeded';
      return {
        ...base,
        kind: 'run-finished',
        severity: ok ? 'success' : 'error',
        title: `${what} ${ev.status} in ${formatDuration(ev.durationMs)} (run ${ctx.runId})`,
        text: ev.error ? `${ev.status}: ${ev.error}` : `Every step completed.`,
        facts: [
          ['Run', ctx.runId],
          ['Status', ev.status],
          ['Duration', formatDuration(ev.durationMs)],
          ...(ev.error ? [['Why', clip(ev.error)] as [string, string]] : []),
        ],
        link: runLink(ctx),
        data: { status: ev.status, durationMs: ev.durationMs, ...(ev.error ? { error: ev.error } : {}) },
      };
    }
    case 'step-finished': {
      if (ev.status !== 'failed') return undefined;
      const s = step(ev.step);
      const tail = (ev.outputTail ?? []).slice(-TAIL_LINES).map((l) => clip(l, LINE_MAX));
      return {
        ...base,
        kind: 'step-failed',
        about: ev.step,
        severity: 'error',
        title: `Step ${ev.step} failed: ${s?.title ?? ev.step}`,
        text: [ev.error ?? 'failed', ...(tail.length > 0 ? ['', ...tail] : [])].join('\n'),
        facts: [
          ['Step', ev.step],
          ...(s ? [['Owner', s.owner] as [string, string]] : []),
          ['Attempts', String(ev.attempts)],
          ...(ev.exitCode === undefined ? [] : [['Exit code', String(ev.exitCode)] as [string, string]]),
          ['After', formatDuration(ev.durationMs)],
        ],
        link: stepLink(ctx, ev.step),
        data: {
          step: ev.step,
          owner: s?.owner,
          attempts: ev.attempts,
          durationMs: ev.durationMs,
          ...(ev.exitCode === undefined ? {} : { exitCode: ev.exitCode }),
          ...(ev.error === undefined ? {} : { error: ev.error }),
          ...(tail.length > 0 ? { outputTail: tail } : {}),
        },
      };
    }
    case 'approval-requested': {
      const s = step(ev.step);
      return {
        ...base,
        kind: 'approval-needed',
        about: ev.step,
        severity: 'warning',
        title: `Approval needed from ${ev.role}: ${s?.title ?? ev.step}`,
        text: `${clip(ev.instructions)}\n\nApprove on the bridge${ctx.bridgeUrl ? '' : ' (no bridgeUrl set)'}, or: drctl approve ${ctx.runId} ${ev.step} --as <name>`,
        facts: [
          ['Step', ev.step],
          ['Approver role', ev.role],
          ['Run', ctx.runId],
        ],
        link: stepLink(ctx, ev.step),
        data: { step: ev.step, role: ev.role, instructions: ev.instructions },
      };
    }
    case 'gate-result': {
      if (ev.result.ok) return undefined;
      const r = ev.result;
      const counts = Object.entries(r.counts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      return {
        ...base,
        kind: 'gate-failed',
        about: ev.step,
        severity: 'error',
        title: `Gate ${ev.step} (${r.checker}): ${r.status}`,
        text: `${clip(r.summary)}${r.interrupted ? ' (interrupted: a partial result)' : ''}`,
        facts: [
          ['Step', ev.step],
          ['Checker', r.checker],
          ['Verdict', r.status],
          ...(counts ? [['Counts', counts] as [string, string]] : []),
        ],
        link: stepLink(ctx, ev.step),
        data: { step: ev.step, checker: r.checker, status: r.status, summary: r.summary, counts: r.counts },
      };
    }
    // Nothing to tell a channel; a new event type must be placed here or above.
    case 'step-started':
    case 'step-attempt':
    case 'step-effect':
    case 'step-skipped':
    case 'step-process':
    case 'approval':
    case 'approval-refused':
    case 'override':
    case 'rollback-started':
    case 'rollback-finished':
    case 'lock-acquired':
    case 'lock-lost':
    case 'notify-delivered':
    case 'notify-gave-up':
      return undefined;
  }
}

/** The executor stopped starting steps (a failure with onFailure abort/rollback, a timeout, Ctrl-C…). */
export function abortNotice(reason: string, cause: number, ctx: NoticeContext): Notice {
  const rb = ctx.runbook;
  return {
    kind: 'run-aborted',
    cause,
    at: new Date().toISOString(),
    severity: 'error',
    title: `${rb.name} ${rb.direction}${rb.drill ? ' drill' : ''} stopping: ${clip(reason, 200)} (run ${ctx.runId})`,
    text: `No new step starts; running steps finish. Reason: ${reason}`,
    facts: [
      ['Run', ctx.runId],
      ['Reason', clip(reason)],
    ],
    link: runLink(ctx),
    data: { reason },
  };
}

export interface RtoRisk {
  clock: 'technical' | 'compliance';
  from: string;
  to: string;
  forecastMs: number;
  objectiveMs: number;
  /** Measured so far, when the clock runs. */
  elapsedMs?: number | undefined;
  /** The clock stopped already, over its objective. */
  missed: boolean;
}

export function rtoNotice(risk: RtoRisk, cause: number, ctx: NoticeContext): Notice {
  const f = formatDuration(risk.forecastMs);
  const o = formatDuration(risk.objectiveMs);
  return {
    kind: 'rto-at-risk',
    cause,
    at: new Date().toISOString(),
    severity: 'warning',
    title: risk.missed
      ? `${risk.clock} RTO missed: ${f} against ${o} (run ${ctx.runId})`
      : `${risk.clock} RTO forecast ${f} exceeds the objective ${o} (run ${ctx.runId})`,
    text: risk.missed
      ? `The ${risk.clock} clock (${risk.from} → ${risk.to}) stopped at ${f}, over the ${o} objective by ${formatDuration(risk.forecastMs - risk.objectiveMs)}.`
      : `At the current pace the ${risk.clock} clock (${risk.from} → ${risk.to}) reaches ${f}, ${formatDuration(risk.forecastMs - risk.objectiveMs)} over the ${o} objective${risk.elapsedMs === undefined ? '' : `; ${formatDuration(risk.elapsedMs)} elapsed`}.`,
    facts: [
      ['Clock', `${risk.clock} (${risk.from} → ${risk.to})`],
      [risk.missed ? 'Measured' : 'Forecast', f],
      ['Objective', o],
      ...(risk.elapsedMs === undefined || risk.missed
        ? []
        : [['Elapsed', formatDuration(risk.elapsedMs)] as [string, string]]),
    ],
    link: runLink(ctx),
    data: { ...risk },
  };
}

function runLink(ctx: NoticeContext): string | undefined {
  return ctx.bridgeUrl === undefined ? undefined : `${ctx.bridgeUrl}/runs/${encodeURIComponent(ctx.runId)}`;
}

function stepLink(ctx: NoticeContext, step: string): string | undefined {
  const run = runLink(ctx);
  return run === undefined ? undefined : `${run}/steps/${encodeURIComponent(step)}`;
}

/** Masked before it is cut, so that a secret cut in two is not left half visible. */
function clip(text: string, max = 1000): string {
  const masked = redact(text);
  return masked.length <= max ? masked : `${masked.slice(0, max - 1)}…`;
}
