import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../util/duration.js';
import { httpHandler } from './http.js';
import { redisHandler } from './redis.js';
import { abortReason, runHandler } from './run.js';
import { sqlHandler } from './sql.js';
import type { StepContext, StepHandler, StepOutcome } from './types.js';

type Condition = Parameters<StepHandler<'wait'>['execute']>[0]['until'];

/** A wait step with no timeout of its own gives up after this long. */
export const DEFAULT_WAIT_TIMEOUT_MS = 30 * 60_000;

function probe(cond: Condition, parent: StepContext): Promise<StepOutcome> {
  // Polls are not journaled one by one (a wait may poll thousands of times).
  const ctx: StepContext = { ...parent, recordEffect: () => undefined };
  switch (cond.kind) {
    case 'run':
      return runHandler.execute(cond, ctx);
    case 'sql':
      return sqlHandler.execute(cond, ctx);
    case 'redis':
      return redisHandler.execute(cond, ctx);
    case 'http':
      return httpHandler.execute(cond, ctx);
  }
}

function describeCondition(cond: Condition): string {
  switch (cond.kind) {
    case 'run':
      return runHandler.describe(cond);
    case 'sql':
      return sqlHandler.describe(cond);
    case 'redis':
      return redisHandler.describe(cond);
    case 'http':
      return httpHandler.describe(cond);
  }
}

/** Polls a sql/redis/http/run condition until it holds, the step times out, or the run stops. */
export const waitHandler: StepHandler<'wait'> = {
  describe(action) {
    return `wait until ${describeCondition(action.until)}, every ${formatDuration(action.intervalMs)}`;
  },
  async execute(action, ctx): Promise<StepOutcome> {
    const t0 = Date.now();
    let polls = 0;
    // The last poll that completed: a poll cut short by the timeout says nothing about the condition.
    let previous: StepOutcome | undefined;
    for (;;) {
      polls += 1;
      const last = await probe(action.until, ctx);
      if (ctx.signal.aborted) {
        const shown = previous ?? last;
        return {
          ok: false,
          error: `${abortReason(ctx.signal)} after ${polls} polls; last: ${shown.error ?? 'ok'}`,
          outputTail: shown.outputTail,
        };
      }
      previous = last;
      if (last.ok) {
        ctx.log(`condition held after ${polls} polls (${formatDuration(Date.now() - t0)})`);
        return { ok: true };
      }
      ctx.log(`poll ${polls}: ${last.error ?? 'not yet'}`);
      try {
        await sleep(action.intervalMs, undefined, { signal: ctx.signal });
      } catch {
        return {
          ok: false,
          error: `${abortReason(ctx.signal)} after ${polls} polls; last: ${last.error ?? 'not yet'}`,
          outputTail: last.outputTail,
        };
      }
    }
  },
};
