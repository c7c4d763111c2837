/**
 * Crash failpoints for tests only: DRCTL_FAILPOINT is honoured only when NODE_ENV=test or VITEST
 * is set, so a stray variable can never kill a real switch.
 *   exit-after:<stepId>     SIGKILL right after that step's finished event
 *   crash-after-step:<K>    SIGKILL right after the K-th step finished in this process
 *   crash-after-start:<id>  SIGKILL right after that step's started event (its effect is unknown)
 */
export interface Failpoint {
  afterFinished(stepId: string): void;
  afterStarted(stepId: string): void;
}

const none: Failpoint = { afterFinished: () => undefined, afterStarted: () => undefined };

export function loadFailpoint(env: NodeJS.ProcessEnv = process.env): Failpoint {
  const spec = env.DRCTL_FAILPOINT;
  if (!spec || (env.NODE_ENV !== 'test' && !env.VITEST)) return none;
  const [kind, arg = ''] = spec.split(/:(.*)/s);
  const die = (): never => {
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  };
  let finished = 0;
  return {
    afterFinished(stepId) {
      finished += 1;
      if (kind === 'exit-after' && stepId === arg) die();
      if (kind === 'crash-after-step' && finished === Number(arg)) die();
    },
    afterStarted(stepId) {
      if (kind === 'crash-after-start' && stepId === arg) die();
    },
  };
}
