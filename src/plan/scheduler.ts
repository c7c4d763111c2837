/** What the scheduler needs to know about a step. */
export interface SchedStep {
  id: string;
  needs: string[];
  owner: string;
  resources: string[];
  /** Longest remaining path (ms); the ready step with the highest goes first. */
  priority: number;
}

/** Concurrency limits; undefined means unlimited. */
export interface Limits {
  run?: number | undefined;
  roles: Record<string, number | undefined>;
  resources: Record<string, number | undefined>;
}

/**
 * Everything the scheduler decides from, fixed once by `buildPlan`: the forecast runs it on a
 * virtual clock and the executor runs it on the real one, so the two order steps alike.
 */
export interface Schedule {
  /** In declaration order (the tie-break between equal priorities). */
  steps: SchedStep[];
  limits: Limits;
  /** Steps chosen by --only/--from; the others count as done from the start. undefined: all. */
  selected?: ReadonlySet<string> | undefined;
  /** Steps that take no time and end as they start (skipped in a drill). */
  instant: ReadonlySet<string>;
}

type Phase = 'blocked' | 'ready' | 'running' | 'done' | 'failed';

/**
 * A ready-queue scheduler over the DAG. A step becomes ready when every step it needs is done;
 * `next()` returns the ready step with the longest remaining path that fits the run, role and
 * resource limits. Pure bookkeeping: no clocks, no I/O.
 */
export class Scheduler {
  private readonly phase = new Map<string, Phase>();
  private readonly waitingOn = new Map<string, number>();
  private readonly dependents = new Map<string, string[]>();
  private readonly steps = new Map<string, SchedStep>();
  private readonly order = new Map<string, number>();
  /** Ready steps, best first. */
  private ready: string[] = [];
  /**
   * The same steps by owner, each list best first. A role at its limit rules out all its steps at
   * once: `next()` looks at the head of each role's list instead of walking every ready step
   * (1,300 ready steps of a full role made planning 2,000 steps quadratic; issue 19).
   */
  private readonly readyByOwner = new Map<string, string[]>();
  private runningCount = 0;
  private readonly roleRunning = new Map<string, number>();
  private readonly resourceRunning = new Map<string, number>();

  constructor(
    steps: SchedStep[],
    private readonly limits: Limits,
    /** Steps already done (earlier run or skipped); they satisfy needs. */
    done: ReadonlySet<string> = new Set(),
  ) {
    steps.forEach((s, i) => {
      this.steps.set(s.id, s);
      this.order.set(s.id, i);
      this.dependents.set(s.id, []);
    });
    for (const s of steps) {
      let waiting = 0;
      for (const n of s.needs) {
        if (done.has(n) || !this.steps.has(n)) continue;
        waiting += 1;
        this.dependents.get(n)!.push(s.id);
      }
      this.waitingOn.set(s.id, waiting);
    }
    for (const s of steps) {
      if (done.has(s.id)) this.phase.set(s.id, 'done');
      else if (this.waitingOn.get(s.id) === 0) this.addReady(s.id);
      else this.phase.set(s.id, 'blocked');
    }
    // Needs on a step already done were not counted; needs on done steps inside `steps` release now.
    for (const s of steps) if (done.has(s.id)) this.release(s.id);
  }

  /** The best ready step that fits every limit, or undefined. Does not start it. */
  next(): string | undefined {
    if (this.limits.run !== undefined && this.runningCount >= this.limits.run) return undefined;
    // The first step of the whole ready order that fits is the best of each role's first that fits.
    let best: SchedStep | undefined;
    for (const [owner, ids] of this.readyByOwner) {
      const roleLimit = this.limits.roles[owner];
      if (roleLimit !== undefined && (this.roleRunning.get(owner) ?? 0) >= roleLimit) continue;
      for (const id of ids) {
        const s = this.steps.get(id)!;
        if (best !== undefined && !this.before(s, best)) break;
        if (this.resourcesFit(s)) {
          best = s;
          break;
        }
      }
    }
    return best?.id;
  }

  start(id: string): void {
    const i = this.ready.indexOf(id);
    if (i < 0) throw new Error(`step ${id} is not ready`);
    this.ready.splice(i, 1);
    this.removeFromOwner(id);
    this.phase.set(id, 'running');
    const s = this.steps.get(id)!;
    this.runningCount += 1;
    bump(this.roleRunning, s.owner, 1);
    for (const r of s.resources) bump(this.resourceRunning, r, 1);
  }

  /** A running step ended: on success its dependents may become ready; on failure they stay blocked. */
  finish(id: string, ok: boolean): void {
    if (this.phase.get(id) !== 'running') throw new Error(`step ${id} is not running`);
    const s = this.steps.get(id)!;
    this.runningCount -= 1;
    bump(this.roleRunning, s.owner, -1);
    for (const r of s.resources) bump(this.resourceRunning, r, -1);
    this.phase.set(id, ok ? 'done' : 'failed');
    if (ok) this.release(id);
  }

  /** Marks a ready or blocked step done without running it (skipped by drill or selection). */
  complete(id: string): void {
    const p = this.phase.get(id);
    if (p === 'ready') {
      this.ready.splice(this.ready.indexOf(id), 1);
      this.removeFromOwner(id);
    }
    if (p === 'done') return;
    this.phase.set(id, 'done');
    this.release(id);
  }

  get running(): number {
    return this.runningCount;
  }

  readyIds(): readonly string[] {
    return this.ready;
  }

  phaseOf(id: string): Phase | undefined {
    return this.phase.get(id);
  }

  private release(id: string): void {
    for (const d of this.dependents.get(id) ?? []) {
      const left = this.waitingOn.get(d)! - 1;
      this.waitingOn.set(d, left);
      if (left === 0 && this.phase.get(d) === 'blocked') this.addReady(d);
    }
  }

  private resourcesFit(s: SchedStep): boolean {
    for (const r of s.resources) {
      const limit = this.limits.resources[r];
      if (limit !== undefined && (this.resourceRunning.get(r) ?? 0) >= limit) return false;
    }
    return true;
  }

  /** The ready order: higher priority first, then the order given (plan order). */
  private before(a: SchedStep, b: SchedStep): boolean {
    return (
      a.priority > b.priority || (a.priority === b.priority && this.order.get(a.id)! < this.order.get(b.id)!)
    );
  }

  private addReady(id: string): void {
    this.phase.set(id, 'ready');
    const s = this.steps.get(id)!;
    let own = this.readyByOwner.get(s.owner);
    if (own === undefined) this.readyByOwner.set(s.owner, (own = []));
    this.insertOrdered(this.ready, s);
    this.insertOrdered(own, s);
  }

  /** Binary search for the place of `s` in a list kept in the ready order. */
  private insertOrdered(list: string[], s: SchedStep): void {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.before(this.steps.get(list[mid]!)!, s)) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, s.id);
  }

  private removeFromOwner(id: string): void {
    const own = this.readyByOwner.get(this.steps.get(id)!.owner)!;
    own.splice(own.indexOf(id), 1);
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** A step's place in a forecast: virtual start and end (ms from the run's start). */
export interface ForecastSlot {
  start: number;
  end: number;
}

/**
 * Runs the executor's scheduler on a virtual clock. What it models of the executor: every step
 * that fits starts before the clock moves; an instant step ends as it starts, releasing its
 * dependents in the same pass; the others end one at a time (earliest end first, then the one
 * that started first) and after each end whatever now fits starts. Returns a slot per step run,
 * in start order; steps done beforehand (`done`, or not selected) get none.
 */
export function forecastSchedule(
  schedule: Schedule,
  durationOf: (id: string) => number,
  done: ReadonlySet<string> = new Set(),
): Map<string, ForecastSlot> {
  const skip = new Set(done);
  if (schedule.selected) for (const s of schedule.steps) if (!schedule.selected.has(s.id)) skip.add(s.id);
  const scheduler = new Scheduler(schedule.steps, schedule.limits, skip);
  const out = new Map<string, ForecastSlot>();
  // Running steps, ordered by (end, start sequence): the next to end is at index 0.
  const running: { id: string; end: number; seq: number }[] = [];
  let now = 0;
  let seq = 0;
  for (;;) {
    for (let id = scheduler.next(); id !== undefined; id = scheduler.next()) {
      scheduler.start(id);
      if (schedule.instant.has(id)) {
        out.set(id, { start: now, end: now });
        scheduler.finish(id, true);
        continue;
      }
      const end = now + Math.max(0, durationOf(id));
      out.set(id, { start: now, end });
      insertSorted(running, { id, end, seq: seq++ });
    }
    const first = running.shift();
    if (first === undefined) return out;
    now = first.end;
    scheduler.finish(first.id, true);
  }
}

function insertSorted(
  list: { id: string; end: number; seq: number }[],
  item: { id: string; end: number; seq: number },
): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = list[mid]!;
    if (m.end < item.end || (m.end === item.end && m.seq < item.seq)) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}
