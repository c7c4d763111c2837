import type { Direction, Step } from '../runbook/schema.js';
import type { Schedule } from './scheduler.js';

/** A step placed in the DAG. */
export interface PlannedStep {
  step: Step;
  /** Wave number: 0 for steps with no needs, else 1 + the highest wave of what it needs. */
  wave: number;
  /** Steps that need this one. */
  dependents: string[];
  /** Longest estimated path from this step's start to the end of the run (ms), itself included. */
  remainingMs: number;
  /**
   * Forecast start/end (ms from run start): the executor's scheduler run on a virtual clock with
   * the estimates (or history). 0 → 0 for a step left out by the selection.
   */
  forecastStartMs: number;
  forecastEndMs: number;
  /** false when --only/--from leave the step out (the run journals it as skipped). */
  selected: boolean;
  onCriticalPath: boolean;
}

export interface ClockForecast {
  from: string;
  to: string;
  forecastMs: number;
  objectiveMs?: number | undefined;
  /** undefined when there is no objective. */
  met?: boolean | undefined;
}

/** The output of buildPlan: pure data, no I/O. */
export interface Plan {
  runbook: string;
  direction: Direction;
  drill: boolean;
  /** Steps in a valid execution order (topological, by wave then by remaining path). */
  steps: PlannedStep[];
  byId: Map<string, PlannedStep>;
  waves: string[][];
  phases: { name: string; steps: string[]; estimateMs: number }[];
  roles: {
    role: string;
    steps: number;
    estimateMs: number;
    maxParallel: number;
    concurrency?: number | undefined;
  }[];
  criticalPath: { steps: string[]; durationMs: number };
  makespanMs: number;
  /** The order in which the forecast starts the steps (the run's order with the same durations). */
  startOrder: string[];
  /** What the executor's scheduler runs from: priorities (remaining path), limits, selection. */
  schedule: Schedule;
  rto: { technical?: ClockForecast | undefined; compliance?: ClockForecast | undefined };
  warnings: string[];
}
