import type { JournalEvent } from '../journal/events.js';
import { forecastSchedule, type Schedule } from '../plan/scheduler.js';
import type { Runbook } from '../runbook/schema.js';
import type { RtoRisk } from './notices.js';

export interface ClockSpec {
  clock: 'technical' | 'compliance';
  from: string;
  to: string;
  objectiveMs: number;
}

/**
 * Watches the two RTO clocks while the run goes: the plan's forecast (the executor's scheduler
 * on a virtual clock, `forecastSchedule`) rerun from now, with what is done left out, a running
 * step's estimate less the time it has run, and the others' estimates. A clock whose forecast
 * (or measured time, once it stopped) exceeds its objective is reported once.
 */
export class RtoWatch {
  private readonly clocks: ClockSpec[];
  private readonly estimate: Map<string, number>;
  private readonly done = new Set<string>();
  /** Wall-clock ms of each step's first start, and of its current attempt's start. */
  private readonly firstStart = new Map<string, number>();
  private readonly running = new Map<string, number>();
  private readonly finishedAt = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(
    runbook: Runbook,
    private readonly schedule: Schedule,
  ) {
    const spec = (clock: 'technical' | 'compliance', objectiveMs: number | undefined): ClockSpec[] => {
      const b = runbook.rto[clock];
      return b === undefined || objectiveMs === undefined ? [] : [{ clock, ...b, objectiveMs }];
    };
    this.clocks = [
      ...spec('technical', runbook.objectives.technicalMs),
      ...spec('compliance', runbook.objectives.complianceMs),
    ];
    this.estimate = new Map(runbook.steps.map((s) => [s.id, s.estimateMs ?? 0]));
  }

  /** Nothing to watch: no clock has both bounds and an objective. */
  get idle(): boolean {
    return this.clocks.length === 0 || this.reported.size === this.clocks.length;
  }

  /** Steps a resumed run already has: completed ones, and when each started. */
  seed(
    steps: { id: string; state: string; startedAt?: string | undefined; finishedAt?: string | undefined }[],
  ): void {
    for (const s of steps) {
      if (s.startedAt !== undefined) this.firstStart.set(s.id, Date.parse(s.startedAt));
      if (s.state === 'succeeded' || s.state === 'skipped' || s.state === 'done-by-override') {
        this.done.add(s.id);
        if (s.finishedAt !== undefined && s.state === 'succeeded')
          this.finishedAt.set(s.id, Date.parse(s.finishedAt));
      }
    }
  }

  observe(ev: JournalEvent): void {
    const at = Date.parse(ev.ts);
    if (ev.type === 'step-started') {
      if (!this.firstStart.has(ev.step)) this.firstStart.set(ev.step, at);
      this.running.set(ev.step, at);
    } else if (ev.type === 'step-finished') {
      this.running.delete(ev.step);
      // A failed step does not run again in this process: the forecast leaves it out too.
      this.done.add(ev.step);
      if (ev.status === 'succeeded') this.finishedAt.set(ev.step, at);
    } else if (ev.type === 'step-skipped') {
      this.done.add(ev.step);
    }
  }

  /**
   * Each clock (of `clocks`, default all) at `now`: reached (its measured time), or its forecast:
   * when it started (or would start) plus the end of its `to` step in the forecast from now.
   * `forecastMs` is undefined when the forecast does not reach `to` (not selected, skipped, failed).
   */
  forecast(now: number, clocks: readonly ClockSpec[] = this.clocks): ClockEstimate[] {
    let slots: ReturnType<typeof forecastSchedule> | undefined;
    const out: ClockEstimate[] = [];
    for (const c of clocks) {
      const started = this.firstStart.get(c.from);
      const ended = this.finishedAt.get(c.to);
      if (started !== undefined && ended !== undefined && ended >= started) {
        out.push({ ...c, reached: true, forecastMs: ended - started, elapsedMs: ended - started });
        continue;
      }
      slots ??= forecastSchedule(
        this.schedule,
        (id) => {
          const since = this.running.get(id);
          const est = this.estimate.get(id) ?? 0;
          return since === undefined ? est : Math.max(0, est - (now - since));
        },
        this.done,
      );
      const elapsed = started === undefined ? {} : { elapsedMs: now - started };
      const to = slots.get(c.to);
      if (to === undefined) {
        out.push({ ...c, reached: false, forecastMs: undefined, remainingMs: undefined, ...elapsed });
        continue;
      }
      const fromStart = started ?? now + (slots.get(c.from)?.start ?? to.end);
      out.push({
        ...c,
        reached: false,
        forecastMs: now + to.end - fromStart,
        remainingMs: to.end,
        ...elapsed,
      });
    }
    return out;
  }

  /** A step running since `sinceMs` (wall clock): a reader of a live journal (the bridge) seeds it. */
  markRunning(step: string, sinceMs: number): void {
    if (!this.firstStart.has(step)) this.firstStart.set(step, sinceMs);
    this.running.set(step, sinceMs);
    this.done.delete(step);
  }

  /** Clocks newly at risk (or missed) at `now` (wall-clock ms); each is returned once. */
  check(now: number): RtoRisk[] {
    const open = this.clocks.filter((c) => !this.reported.has(c.clock));
    if (open.length === 0) return [];
    const out: RtoRisk[] = [];
    for (const e of this.forecast(now, open)) {
      if (e.forecastMs === undefined) continue; // not selected, skipped, or failed: no forecast to make
      if (e.reached && e.forecastMs <= e.objectiveMs) {
        this.reported.add(e.clock); // reached in time: nothing more to say about it
        continue;
      }
      if (e.forecastMs <= e.objectiveMs) continue;
      this.reported.add(e.clock);
      out.push({
        clock: e.clock,
        from: e.from,
        to: e.to,
        forecastMs: Math.round(e.forecastMs),
        objectiveMs: e.objectiveMs,
        ...(e.reached || e.elapsedMs === undefined ? {} : { elapsedMs: Math.round(e.elapsedMs) }),
        missed: e.reached,
      });
    }
    return out;
  }
}

/** One RTO clock at a moment: measured once reached, else forecast (RtoWatch.forecast). */
export interface ClockEstimate extends ClockSpec {
  reached: boolean;
  /** Measured (reached) or forecast duration of the clock, from its start to its end. */
  forecastMs: number | undefined;
  /** Time the clock has run so far (undefined: not started). */
  elapsedMs?: number | undefined;
  /** Forecast time from now until the clock's `to` step ends: the remaining critical path. */
  remainingMs?: number | undefined;
}
