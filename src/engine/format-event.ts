import type { JournalEvent } from '../journal/events.js';
import { formatDuration } from '../util/duration.js';
import { redact } from '../util/redact.js';

/** One human line per journal event (no timestamp): the line renderer and `status --follow` use it. */
export function describeEvent(ev: JournalEvent): string {
  switch (ev.type) {
    case 'run-started':
      return `run ${ev.runId} started: ${ev.runbook.name} ${ev.direction}${ev.drill ? ' (drill)' : ''}${ev.unplanned ? ' (unplanned: Main may be gone)' : ''}${ev.dryRun ? ` [dry run${ev.placeholders?.length ? `, placeholders for ${ev.placeholders.join(', ')}` : ''}]` : ''}, ${ev.steps.filter((s) => !s.rollbackOf).length} steps, by ${ev.who.user}@${ev.who.host}${ev.preflight?.skipped ? `; preflight skipped by ${ev.preflight.skipped.by}: ${ev.preflight.skipped.reason}` : ''}`;
    case 'run-resumed':
      return `run resumed by ${ev.who.user}@${ev.who.host} (pid ${ev.who.pid})`;
    case 'step-started':
      if (ev.dryRun) return `[dry run] ${ev.step}: ${ev.description ?? ''}`;
      return `${ev.step} started${ev.attempt > 1 ? ` (attempt ${ev.attempt})` : ''}${ev.drill ? ' [drill]' : ''}: ${ev.description ?? ''}`;
    case 'step-attempt':
      return `${ev.step} attempt ${ev.attempt} failed after ${formatDuration(ev.durationMs)}${ev.exitCode === undefined ? '' : ` (exit ${ev.exitCode})`}: ${ev.error ?? ''}${ev.retryInMs === undefined ? '' : `; retry in ${formatDuration(ev.retryInMs)}`}`;
    case 'step-finished': {
      const head = `${ev.step} ${ev.status} in ${formatDuration(ev.durationMs)}${ev.attempts > 1 ? ` after ${ev.attempts} attempts` : ''}`;
      return ev.error ? `${head}: ${ev.error}` : head;
    }
    case 'step-skipped':
      return `${ev.step} skipped: ${ev.reason}`;
    case 'approval-requested':
      return `${ev.step} waiting for approval by ${ev.role}: ${ev.instructions} (drctl approve <run> ${ev.step} --as <name>)`;
    case 'approval':
      return `${ev.step} ${ev.decision} by ${ev.by} via ${ev.via}${ev.concurring ? ' (concurring: the step was already approved)' : ''}${ev.comment ? `: ${ev.comment}` : ''}`;
    case 'approval-refused':
      return `${ev.step} ${ev.decision === 'approved' ? 'approval' : 'rejection'} by ${ev.by} refused: ${ev.reason}`;
    case 'step-process':
      return `${ev.step} process ${ev.pid} (group ${ev.pgid}) on ${ev.host}`;
    case 'gate-result':
      return `${ev.step} gate ${ev.result.checker}: ${ev.result.status}: ${ev.result.summary}`;
    case 'override':
      return `${ev.step} override ${ev.action} by ${ev.by}: ${ev.reason}`;
    case 'rollback-started':
      return `rollback started (${ev.reason}): ${ev.steps.join(', ') || 'nothing to undo'}`;
    case 'step-effect':
      return `${ev.step} ${ev.target}: ${ev.outcome}${ev.detail ? ` (${ev.detail})` : ''}`;
    case 'rollback-finished': {
      if (ev.status === 'succeeded' || ev.undone === undefined) return `rollback ${ev.status}`;
      const not = [
        ...(ev.failed ?? []).map((id) => `${id} (rollback failed)`),
        ...(ev.notRun ?? []).map((id) => `${id} (rollback not run)`),
      ];
      return `rollback incomplete: NOT undone ${not.join(', ')}; undone ${ev.undone.join(', ') || 'nothing'}`;
    }
    case 'lock-acquired':
      return `${ev.scope} lock taken: ${ev.where}${ev.key ? ` key ${ev.key}` : ''}${ev.token === undefined ? '' : `, fencing token ${ev.token}`}${ev.tookOver ? ` (took over from ${ev.tookOver})` : ''}`;
    case 'lock-lost':
      return `switch lock lost: ${ev.reason}; no new step starts`;
    case 'run-finished':
      return `run ${ev.status} in ${formatDuration(ev.durationMs)}${ev.error ? `: ${ev.error}` : ''}`;
    case 'notify-delivered':
      return `notified ${ev.channel}: ${ev.notice}${ev.about ? ` ${ev.about}` : ''} (HTTP ${ev.httpStatus}${ev.attempts > 1 ? `, attempt ${ev.attempts}` : ''})`;
    case 'notify-gave-up':
      return `could not notify ${ev.channel}: ${ev.notice}${ev.about ? ` ${ev.about}` : ''} given up after ${ev.attempts} attempt${ev.attempts === 1 ? '' : 's'}: ${ev.reason}`;
  }
}

/** `2026-11-22T02:31:05.123Z <line>`, redacted, and the failed step's output tail indented. */
export function formatEventLine(ev: JournalEvent): string {
  let text = `${ev.ts} ${describeEvent(ev)}`;
  if (ev.type === 'step-finished' && ev.outputTail && ev.outputTail.length > 0 && ev.status !== 'succeeded') {
    text += '\n' + ev.outputTail.map((l) => `    | ${l}`).join('\n');
  }
  return redact(text);
}
