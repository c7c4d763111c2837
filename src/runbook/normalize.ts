import { parseDuration } from '../util/duration.js';
import type { Action, RetryPolicy, StepSpec } from './schema.js';
import { ACTION_KEYS, HttpAction, RedisAction, RunAction, SqlAction } from './schema.js';
import type { z } from 'zod';

export const DEFAULT_RETRY: RetryPolicy = { count: 0, backoffMs: 5_000, factor: 2, maxMs: 300_000 };

type ActionFields = Pick<
  StepSpec,
  'run' | 'shell' | 'cwd' | 'env' | 'sql' | 'redis' | 'http' | 'wait' | 'manual' | 'check'
>;

/** The action keys present on a step or action spec. */
export function actionKeysOf(spec: Record<string, unknown>): string[] {
  return ACTION_KEYS.filter((k) => spec[k] !== undefined);
}

export class ActionError extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[],
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Turns the action fields of a step (exactly one action key) into a tagged Action. */
export function toAction(spec: ActionFields, owner: string): Action {
  const keys = actionKeysOf(spec);
  if (keys.length === 0) {
    throw new ActionError(
      `no action: give exactly one of ${ACTION_KEYS.join(', ')}`,
      [],
      'e.g. run: [./scripts/drain.sh], or manual: "Confirm …"',
    );
  }
  if (keys.length > 1) {
    throw new ActionError(
      `more than one action (${keys.join(', ')}): a step does exactly one thing`,
      [keys[1]!],
      'split it into two steps, the second needing the first',
    );
  }
  if (spec.run !== undefined) return runAction(spec);
  if (spec.sql) return { kind: 'sql', sql: spec.sql };
  if (spec.redis) return { kind: 'redis', redis: spec.redis };
  if (spec.http) return { kind: 'http', http: spec.http };
  if (spec.manual !== undefined) {
    const m = spec.manual;
    return typeof m === 'string'
      ? { kind: 'manual', instructions: m, approvers: [owner] }
      : {
          kind: 'manual',
          instructions: m.instructions,
          approvers: m.approvers ?? [owner],
          ...(m.minApprovals === undefined || m.minApprovals === 1 ? {} : { minApprovals: m.minApprovals }),
        };
  }
  if (spec.check) {
    const { kind, resource, ...options } = spec.check;
    return { kind: 'check', check: { kind, resource, options } };
  }
  const wait = spec.wait!;
  return {
    kind: 'wait',
    until: toWaitCondition(wait.until),
    intervalMs: parseDuration(wait.interval ?? '5s')!,
  };
}

function runAction(spec: ActionFields): Action {
  const shell = spec.shell ?? false;
  const run = spec.run!;
  if (typeof run === 'string' && !shell) {
    throw new ActionError(
      'run is a string but shell is not true',
      ['run'],
      'write run as an argv list [cmd, arg, …], or add shell: true',
    );
  }
  return {
    kind: 'run',
    argv: Array.isArray(run) ? run : undefined,
    command: typeof run === 'string' ? run : undefined,
    shell,
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
    ...(spec.env ? { env: spec.env } : {}),
  };
}

const conditionSchemas: Record<string, z.ZodType> = {
  sql: SqlAction,
  redis: RedisAction,
  http: HttpAction,
  run: RunAction,
};

function toWaitCondition(until: Record<string, unknown>): Extract<Action, { kind: 'wait' }>['until'] {
  const keys = Object.keys(until).filter((k) => k in conditionSchemas);
  if (keys.length !== 1) {
    throw new ActionError('wait.until needs exactly one of sql, redis, http, run', ['wait', 'until']);
  }
  const key = keys[0]!;
  const parsed = conditionSchemas[key]!.safeParse(until);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ActionError(issue.message, [
      'wait',
      'until',
      ...issue.path.filter((p) => typeof p !== 'symbol'),
    ]);
  }
  const action = toAction(parsed.data as ActionFields, '');
  if (action.kind === 'wait' || action.kind === 'manual' || action.kind === 'check') {
    throw new ActionError('wait.until must be sql, redis, http or run', ['wait', 'until']);
  }
  return action;
}

export function toRetryPolicy(retries: StepSpec['retries']): RetryPolicy {
  if (retries === undefined) return DEFAULT_RETRY;
  if (typeof retries === 'number') return { ...DEFAULT_RETRY, count: retries };
  return {
    count: retries.count,
    backoffMs: retries.backoff ? parseDuration(retries.backoff)! : DEFAULT_RETRY.backoffMs,
    factor: retries.factor ?? DEFAULT_RETRY.factor,
    maxMs: retries.max ? parseDuration(retries.max)! : DEFAULT_RETRY.maxMs,
  };
}

/** The resource names an action touches (for concurrency limits and rules). */
export function resourcesOf(action: Action): string[] {
  switch (action.kind) {
    case 'sql':
      return [action.sql.resource];
    case 'redis':
      return [action.redis.resource];
    case 'check':
      return [action.check.resource];
    case 'wait':
      return resourcesOf(action.until);
    case 'http':
      return action.http.resource === undefined ? [] : [action.http.resource];
    case 'run':
    case 'manual':
      return [];
  }
}
