import type {
  RtoClockStatus,
  CompareModel,
  CompareSide,
  ModeStepDelta,
  StepReport,
  GroupDelta,
  GroupTotal,
  ReportModel,
  StepDelta,
} from './model.js';

/** Clock statuses with a measured end (a rolled-back clock was measured, then undone). */
const REACHED: ReadonlySet<RtoClockStatus> = new Set(['met', 'missed', 'no-objective', 'rolled-back']);

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
  const side = (m: ReportModel): CompareSide => ({
    id: m.run.id,
    runbook: m.run.runbook.name,
    startedAt: m.run.startedAt,
    status: m.run.status,
    verified: m.integrity.verified,
    mode: modeOf(m),
    rpo: { status: m.rpo.status, line: m.rpo.line },
  });
  // Only a reached clock is a measurement; an open one is "at least", never compared as a number.
  const clock = (name: 'technical' | 'compliance'): GroupDelta => {
    const ca = a.rto[name];
    const cb = b.rto[name];
    const va = REACHED.has(ca.status) ? ca.elapsedMs : undefined;
    const vb = REACHED.has(cb.status) ? cb.elapsedMs : undefined;
    return { name, a: va, b: vb, deltaMs: delta(va, vb), aStatus: ca.status, bStatus: cb.status };
  };
  const warnings: string[] = [];
  if (a.run.runbook.sha256 !== b.run.runbook.sha256 || a.run.runbook.name !== b.run.runbook.name) {
    warnings.push(
      `the two runs come from different runbooks: A ${a.run.runbook.name} (${a.run.runbook.file}, sha256 ${a.run.runbook.sha256.slice(0, 12)}) and B ${b.run.runbook.name} (${b.run.runbook.file}, sha256 ${b.run.runbook.sha256.slice(0, 12)}); steps, phases and clocks may not measure the same thing`,
    );
  }
  if (a.run.unplanned !== b.run.unplanned) {
    const [p, u] = a.run.unplanned ? (['B', 'A'] as const) : (['A', 'B'] as const);
    const [mp, mu] = a.run.unplanned ? [b, a] : [a, b];
    warnings.push(
      `run ${p} was planned and run ${u} unplanned (Main may be gone): steps were skipped or replaced and the gates differ; ${p}: ${mp.rpo.line}; ${u}: ${mu.rpo.line}`,
    );
  }
  if (a.run.direction !== b.run.direction) {
    warnings.push(`the runs go in different directions: A ${a.run.direction}, B ${b.run.direction}`);
  }
  for (const [side, m] of [
    ['A', a],
    ['B', b],
  ] as const) {
    if (m.run.dryRun)
      warnings.push(`run ${side} (${m.run.id}) was a dry run: nothing ran, its durations are not real`);
  }
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
    modeSteps: compareModes(a, b),
    warnings,
  };
}

function modeOf(m: ReportModel): string {
  const mode = m.run.unplanned ? 'unplanned' : m.run.drill ? 'drill' : 'planned';
  return m.run.dryRun ? `${mode}, dry run` : mode;
}

const VARIANT: Record<NonNullable<StepReport['unplanned']>, string> = {
  skipped: 'skipped (unplanned)',
  replaced: 'replaced (unplanned)',
  'replica-only-gate': 'replica-only gate + reconcile (unplanned)',
};

/** The steps one run ran as written and the other skipped, replaced, or did not have. */
function compareModes(a: ReportModel, b: ReportModel): ModeStepDelta[] {
  const describe = (s: StepReport | undefined) =>
    s === undefined ? 'absent' : s.unplanned ? VARIANT[s.unplanned] : 'as written';
  const ids = [
    ...new Set([...a.steps, ...b.steps].filter((s) => s.rollbackOf === undefined).map((s) => s.id)),
  ];
  return ids.flatMap((id) => {
    const sa = a.steps.find((s) => s.id === id);
    const sb = b.steps.find((s) => s.id === id);
    const da = describe(sa);
    const db = describe(sb);
    return da === db ? [] : [{ id, title: (sb ?? sa)!.title, a: da, b: db }];
  });
}
