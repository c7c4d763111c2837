import { formatDuration } from '../util/duration.js';
import { showDuration } from './format-values.js';
import { escapeHtml } from './html-escape.js';
import type { ReportModel } from './model.js';

/** Colour-blind-friendly palette (Okabe-Ito plus extras), one colour per role. */
const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#8C6D31',
  '#6A3D9A',
  '#999933',
  '#44AA99',
  '#882255',
  '#117733',
];

/** Role → colour, in order of first appearance. */
export function assignRoleColours(m: ReportModel): Map<string, string> {
  const colours = new Map<string, string>();
  for (const r of m.roles) colours.set(r.name, PALETTE[colours.size % PALETTE.length]!);
  return colours;
}

const TICK_STEPS = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400].map(
  (s) => s * 1000,
);

function pickTick(totalMs: number): number {
  return TICK_STEPS.find((t) => totalMs / t <= 12) ?? TICK_STEPS.at(-1)!;
}

function labelOffset(ms: number): string {
  if (ms === 0) return '0';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `+${h}h${String(m).padStart(2, '0')}`;
  if (m > 0) return `+${m}m${sec ? String(sec).padStart(2, '0') + 's' : ''}`;
  return `+${sec}s`;
}

const WIDTH = 1100;

/** Keeps a label centred on its line unless that would cut it at the chart's edge. */
function anchorFor(px: number): 'start' | 'middle' | 'end' {
  if (px > WIDTH - 90) return 'end';
  if (px < LABEL_W + 90) return 'start';
  return 'middle';
}
const LABEL_W = 230;
/** An objective line up to this multiple of the run's end widens the axis; beyond it, a marker. */
const OBJECTIVE_REACH = 1.25;
const RIGHT_PAD = 20;
const TOP = 34;

/**
 * The Gantt timeline: one row per step, bars coloured by role, the critical path outlined, idle
 * gaps shaded, RTO objectives as vertical lines. Plain SVG, no script, no external resources.
 */
export function renderGanttSvg(m: ReportModel, colours: Map<string, string>): string {
  const rowH = m.steps.length <= 80 ? 22 : m.steps.length <= 400 ? 16 : 12;
  const barH = Math.round(rowH * 0.64);
  const chartW = WIDTH - LABEL_W - RIGHT_PAD;
  const lines = [m.rto.technical, m.rto.compliance].flatMap((c) =>
    c.startOffsetMs !== undefined && c.objectiveMs !== undefined
      ? [{ clock: c, at: c.startOffsetMs + c.objectiveMs }]
      : [],
  );
  const barEnds = m.steps.map((s) => s.endOffsetMs ?? 0);
  // Scaled to the run: an objective far beyond the run's end (a 1.8 s demo against a 10-minute
  // objective) would shrink every bar to a sliver, so it is drawn only when it lies close to the
  // run's end (within a quarter more), else marked at the right edge with its distance.
  const runEnd = Math.max(1, m.run.durationMs, ...barEnds);
  const reach = runEnd * OBJECTIVE_REACH;
  const inside = lines.filter((l) => l.at <= reach);
  const beyond = lines.filter((l) => l.at > reach);
  const total = Math.max(runEnd, ...inside.map((l) => l.at * 1.02));
  const x = (ms: number): number => LABEL_W + (ms / total) * chartW;
  const bottom = TOP + m.steps.length * rowH;
  const height = bottom + 36;
  const runStart = Date.parse(m.run.startedAt);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="gantt" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="Timeline of ${m.steps.length} steps">`,
  );
  // Zebra rows first so everything else draws on top.
  for (let i = 1; i < m.steps.length; i += 2) {
    out.push(`<rect class="zebra" x="0" y="${TOP + i * rowH}" width="${WIDTH}" height="${rowH}"/>`);
  }
  for (const g of m.idleGaps) {
    const w = Math.max(1, x(g.startOffsetMs + g.durationMs) - x(g.startOffsetMs));
    out.push(
      `<rect class="idle idle-${g.kind}" x="${x(g.startOffsetMs).toFixed(1)}" y="${TOP}" width="${w.toFixed(1)}" height="${m.steps.length * rowH}"><title>${escapeHtml(`idle ${showDuration(g.durationMs)}: ${g.reason}`)}</title></rect>`,
    );
  }
  const tick = pickTick(total);
  for (let t = 0; t <= total; t += tick) {
    const tx = x(t).toFixed(1);
    out.push(`<line class="tick" x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${bottom + 4}"/>`);
    const clock = new Date(runStart + t).toISOString().slice(11, tick < 60_000 ? 19 : 16);
    out.push(`<text class="tick-label" x="${tx}" y="${bottom + 14}" text-anchor="middle">${clock}</text>`);
    out.push(
      `<text class="tick-label" x="${tx}" y="${TOP - 10}" text-anchor="middle">${labelOffset(t)}</text>`,
    );
  }
  m.steps.forEach((s, i) => {
    const y = TOP + i * rowH;
    const label = s.id.length > 34 ? `${s.id.slice(0, 33)}…` : s.id;
    const cls = s.startOffsetMs === undefined ? 'label not-started' : s.critical ? 'label critical' : 'label';
    out.push(
      `<text class="${cls}" x="${LABEL_W - 6}" y="${y + rowH / 2 + 4}" text-anchor="end">${escapeHtml(label)}</text>`,
    );
    if (s.startOffsetMs === undefined || s.endOffsetMs === undefined) return;
    const bx = x(s.startOffsetMs);
    const bw = Math.max(1.5, x(s.endOffsetMs) - bx);
    const classes = ['bar', `status-${s.status}`, s.critical ? 'critical' : ''].filter(Boolean).join(' ');
    const tip = `${s.id} — ${s.title}\n${s.owner} · ${s.status} · ${showDuration(s.durationMs)}${s.estimateMs !== undefined ? ` (estimate ${formatDuration(s.estimateMs)})` : ''}${s.notes.length ? `\n${s.notes.join('\n')}` : ''}`;
    out.push(
      `<rect class="${classes}" data-step="${escapeHtml(s.id)}" x="${bx.toFixed(1)}" y="${(y + (rowH - barH) / 2).toFixed(1)}" width="${bw.toFixed(1)}" height="${barH}" fill="${colours.get(s.owner) ?? '#777'}"><title>${escapeHtml(tip)}</title></rect>`,
    );
  });
  m.steps.forEach((s, i) => {
    // Say what went wrong next to the bar: colour alone does not print in black and white.
    if (
      s.endOffsetMs === undefined ||
      !['failed', 'unknown', 'cancelled', 'running', 'awaiting-approval', 'done-by-override'].includes(
        s.status,
      )
    )
      return;
    const y = TOP + i * rowH + rowH / 2 + 4;
    out.push(
      `<text class="bar-note status-${s.status}" x="${(x(s.endOffsetMs) + 4).toFixed(1)}" y="${y}">${escapeHtml(s.status)}</text>`,
    );
  });
  beyond.forEach(({ clock, at }, i) => {
    const ex = (WIDTH - 2).toFixed(1);
    const y = clock.name === 'technical' ? 10 : height - 4;
    const text = `${clock.name} RTO ${showDuration(clock.objectiveMs)} →  at ${labelOffset(at)}, beyond this axis`;
    out.push(
      `<text class="objective-label objective-beyond objective-${clock.name}" x="${ex}" y="${y + i * 0}" text-anchor="end"><title>${escapeHtml(`${clock.name} RTO objective ${showDuration(clock.objectiveMs)} from ${clock.fromStep ?? ''}: its line is ${showDuration(at - runEnd)} after the run's end, off the right edge`)}</title>${escapeHtml(text)}</text>`,
    );
  });
  for (const { clock, at } of inside) {
    const lx = x(at).toFixed(1);
    out.push(
      `<line class="objective objective-${clock.name}" x1="${lx}" y1="${TOP - 4}" x2="${lx}" y2="${clock.name === 'technical' ? bottom : bottom + 20}"><title>${escapeHtml(`${clock.name} RTO objective ${showDuration(clock.objectiveMs)} from ${clock.fromStep ?? ''}`)}</title></line>`,
    );
    out.push(
      `<text class="objective-label objective-${clock.name}" x="${lx}" y="${clock.name === 'technical' ? 10 : height - 4}" text-anchor="${anchorFor(x(at))}">${escapeHtml(`${clock.name} RTO ${showDuration(clock.objectiveMs)}`)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
