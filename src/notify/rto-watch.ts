import type { JournalEvent } from '../journal/events.js';
import { forecastSchedule, type Schedule } from '../plan/scheduler.js';
import type { Runbook } from '../runbook/schema.js';
import type { RtoRisk } from './notices.js';

interface ClockSpec {
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

  /** Clocks newly at risk (or missed) at `now` (wall-clock ms); each is returned once. */
  check(now: number): RtoRisk[] {
    const open = this.clocks.filter((c) => !this.reported.has(c.clock));
    if (open.length === 0) return [];
    let slots: ReturnType<typeof forecastSchedule> | undefined;
    const out: RtoRisk[] = [];
    for (const c of open) {
      const started = this.firstStart.get(c.from);
      const ended = this.finishedAt.get(c.to);
      let risk: RtoRisk | undefined;
      if (started !== undefined && ended !== undefined && ended >= started) {
        const measured = ended - started;
        if (measured > c.objectiveMs) risk = { ...c, forecastMs: measured, missed: true };
        else this.reported.add(c.clock); // reached in time: nothing more to say about it
      } else {
        slots ??= forecastSchedule(
          this.schedule,
          (id) => {
            const since = this.running.get(id);
            const est = this.estimate.get(id) ?? 0;
            return since === undefined ? est : Math.max(0, est - (now - since));
          },
          this.done,
        );
        const to = slots.get(c.to);
        if (to === undefined) continue; // not selected, skipped, or failed: no forecast to make
        const fromStart = started ?? now + (slots.get(c.from)?.start ?? to.end);
        const forecastMs = now + to.end - fromStart;
        if (forecastMs > c.objectiveMs) {
          risk = {
            ...c,
            forecastMs,
            missed: false,
            ...(started === undefined ? {} : { elapsedMs: now - started }),
          };
        }
      }
      if (risk !== undefined) {
        this.reported.add(c.clock);
        out.push({
          clock: risk.clock,
          from: risk.from,
          to: risk.to,
          forecastMs: Math.round(risk.forecastMs),
          objectiveMs: risk.objectiveMs,
          ...(risk.elapsedMs === undefined ? {} : { elapsedMs: Math.round(risk.elapsedMs) }),
          missed: risk.missed,
        });
      }
    }
    return out;
  }
}
