import type { Action } from '../runbook/schema.js';
import { checkHandler } from './check.js';
import { httpHandler } from './http.js';
import { manualHandler } from './manual.js';
import { redisHandler } from './redis.js';
import { runHandler } from './run.js';
import { sqlHandler } from './sql.js';
import type { StepContext, StepHandler, StepHandlers, StepOutcome } from './types.js';
import { waitHandler } from './wait.js';

/** One handler per step kind; adding a kind to Action without a handler does not compile. */
export const stepHandlers: StepHandlers = {
  run: runHandler,
  sql: sqlHandler,
  redis: redisHandler,
  http: httpHandler,
  wait: waitHandler,
  manual: manualHandler,
  check: checkHandler,
};

function handlerFor<K extends Action['kind']>(kind: K): StepHandler<K> {
  return stepHandlers[kind];
}

export function describeAction(action: Action): string {
  return handlerFor(action.kind).describe(action);
}

export function executeAction(action: Action, ctx: StepContext): Promise<StepOutcome> {
  return handlerFor(action.kind).execute(action, ctx);
}
