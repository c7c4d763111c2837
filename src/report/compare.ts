import type { CompareModel, GroupDelta, GroupTotal, ReportModel, StepDelta } from './model.js';

const delta = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : b - a;

function compareGroups(a: GroupTotal[], b: GroupTotal[]): GroupDelta[] {
  const names = [...new Set([...a.map((g) => g.name), ...b.map((g) => g.name)])];
  return names.map((name) => {
    const ga = a.find((g) => g.name === name);
    const gb = b.find((g) => g.name === name);
    const va = ga && ga.startedAt !== undefined ? ga.spanMs : undefined;
    const vb = gb && gb.startedAt !== undefined ? gb.spanMs : undefined;
    return { name, a: va, b: vb, deltaMs: delta(va, vb) };
  });
}

/** B against A (e.g. the real night against the rehearsal): deltas per step, phase, role and RTO clock. */
export function compareReports(a: ReportModel, b: ReportModel): CompareModel {
  const bById = new Map(b.steps.map((s) => [s.id, s]));
  const aIds = new Set(a.steps.map((s) => s.id));
  const steps: StepDelta[] = [];
  for (const sa of a.steps) {
    const sb = bById.get(sa.id);
    steps.push({
      id: sa.id,
      title: sa.title,
      phase: sa.phase,
      a: { status: sa.status, durationMs: sa.durationMs },
      b: sb === undefined ? undefined : { status: sb.status, durationMs: sb.durationMs },
      deltaMs: delta(sa.durationMs, sb?.durationMs),
    });
  }
  for (const sb of b.steps) {
    if (aIds.has(sb.id)) continue;
    steps.push({
      id: sb.id,
      title: sb.title,
      phase: sb.phase,
      a: undefined,
      b: { status: sb.status, durationMs: sb.durationMs },
      deltaMs: undefined,
    });
  }
  const side = (m: ReportModel) => ({
    id: m.run.id,
    runbook: m.run.runbook.name,
    startedAt: m.run.startedAt,
    status: m.run.status,
    verified: m.integrity.verified,
  });
  const clock = (name: 'technical' | 'compliance'): GroupDelta => {
    const va = a.rto[name].elapsedMs;
    const vb = b.rto[name].elapsedMs;
    return { name, a: va, b: vb, deltaMs: delta(va, vb) };
  };
  return {
    schema: 'drctl.compare/v1',
    a: side(a),
    b: side(b),
    total: {
      name: 'run',
      a: a.run.durationMs,
      b: b.run.durationMs,
      deltaMs: b.run.durationMs - a.run.durationMs,
    },
    rto: { technical: clock('technical'), compliance: clock('compliance') },
    phases: compareGroups(a.phases, b.phases),
    roles: compareGroups(a.roles, b.roles),
    steps,
  };
}
