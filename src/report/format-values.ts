import { formatDuration } from '../util/duration.js';
import type { GroupTotal, IntegrityReport, RtoClock, StepReport } from './model.js';

/** A duration for people, or an em dash when unknown. */
export function showDuration(ms: number | undefined): string {
  return ms === undefined ? '—' : formatDuration(ms);
}

/** A signed delta: `+4m00s`, `-12.0s`, `±0ms`. */
export function showDelta(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms === 0) return '±0ms';
  return ms > 0 ? `+${formatDuration(ms)}` : formatDuration(ms);
}

/** `2026-11-22 02:15:39Z` (UTC, seconds) or an em dash. */
export function showTime(isoText: string | undefined): string {
  if (isoText === undefined) return '—';
  return `${isoText.slice(0, 10)} ${isoText.slice(11, 19)}Z`;
}

/** `02:15:39` for tables where the date is in the header. */
export function showClock(isoText: string | undefined): string {
  return isoText === undefined ? '—' : isoText.slice(11, 19);
}

export function describeIntegrity(i: IntegrityReport): string {
  if (i.verified) {
    return `hash chain verified (${i.events} events${i.tornTail ? '; last line torn by a crash, ignored' : ''})`;
  }
  const b = i.breakAt;
  return b === undefined
    ? 'NOT VERIFIED'
    : `NOT VERIFIED: hash chain breaks at ${b.seq >= 0 ? `event ${b.seq}, ` : ''}line ${b.line}: ${b.reason}`;
}

export function rtoLabel(clock: RtoClock): string {
  switch (clock.status) {
    case 'met':
      return 'MET';
    case 'missed':
      return 'MISSED';
    case 'not-reached':
      return 'NOT REACHED';
    case 'not-started':
      return 'NOT STARTED';
    case 'rolled-back':
      return 'ROLLED BACK';
    case 'dry-run':
      return 'DRY RUN';
    case 'no-objective':
      return 'MEASURED';
    case 'not-defined':
      return 'NOT DEFINED';
  }
}

export function describeBounds(clock: RtoClock): string {
  return clock.fromStep === undefined ? '' : `${clock.fromStep} start → ${clock.toStep ?? '?'} end`;
}

/** Compact key=value text of a gate's evidence, nested values as JSON, bounded. */
export function showEvidence(evidence: Record<string, unknown>, max = 600): string {
  const text = Object.entries(evidence)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('; ');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function showCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${k}=${v.toLocaleString('en-US')}`)
    .join(', ');
}

/** The cells of a per-phase or per-role totals row, shared by the console and markdown tables. */
export function groupCells(g: GroupTotal): string[] {
  return [
    g.name,
    String(g.steps),
    String(g.failed),
    String(g.notRun),
    showClock(g.startedAt),
    showClock(g.endedAt),
    showDuration(g.spanMs),
    showDuration(g.activeMs),
    showDuration(g.sumMs),
    showDuration(g.estimateMs),
  ];
}

/** The status as shown in step tables: a succeeded step whose gate did not pass says so. */
export function shownStepStatus(s: Pick<StepReport, 'status' | 'gateNotPassed'>): string {
  return s.gateNotPassed ? `${s.status}, gate ${s.gateNotPassed.status.toUpperCase()}` : s.status;
}
