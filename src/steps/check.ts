import { checkerModule, loadChecker, type CheckTarget } from '../../checkers/index.js';
import { resourceToCheckTarget } from '../runbook/resource-target.js';
import type { Resource } from '../runbook/schema.js';
import { redact, registerSecret } from '../util/redact.js';
import { abortReason } from './run.js';
import type { StepHandler, StepOutcome } from './types.js';

/** The endpoints a checker compares, from a runbook resource of the check's kind. */
export function checkTargetFromResource(
  kind: string,
  name: string,
  r: Resource | undefined,
): CheckTarget | string {
  if (r === undefined) return `resource "${name}" is not declared in the runbook`;
  if (r.kind !== kind)
    return `resource "${name}" is a ${r.kind} resource; a ${kind} check needs a ${kind} resource`;
  return resourceToCheckTarget(name, r);
}

/**
 * A checker from the registry as a gate: the step passes only when the result is ok
 * (`consistent`); the whole result is kept in the journal. A kind with no checker fails.
 */
export const checkHandler: StepHandler<'check'> = {
  describe({ check }) {
    const opts = Object.keys(check.options).length > 0 ? ` ${JSON.stringify(check.options)}` : '';
    return redact(`check ${check.kind} on ${check.resource}${opts}`);
  },
  async execute(action, ctx): Promise<StepOutcome> {
    // drctl switch --unplanned: Main may be gone; the gate judges the replica alone. Loaded only
    // then: it brings the reconciler with mysql2 and ioredis.
    if (ctx.step.unplannedGate)
      return (await import('./unplanned-gate.js')).runUnplannedGate(action, ctx.step.unplannedGate, ctx);
    const { check } = action;
    const checker = await loadChecker(check.kind);
    if (checker === undefined) {
      return {
        ok: false,
        retryable: false,
        error: `no ${check.kind} checker is built into this drctl yet: the gate cannot pass`,
      };
    }
    const target = checkTargetFromResource(check.kind, check.resource, ctx.resources[check.resource]);
    if (typeof target === 'string') return { ok: false, error: target, retryable: false };
    // The resource's credentials were registered by the loader; the environment enters here.
    for (const name of checkerModule(check.kind)?.secretEnv ?? []) registerSecret(process.env[name]);
    const parsed = checker.optionsSchema.safeParse(check.options);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`)
        .join('; ');
      return { ok: false, retryable: false, error: `invalid ${check.kind} check options: ${issues}` };
    }
    try {
      const result = await checker.run(target, parsed.data, {
        signal: ctx.signal,
        progress: (p) =>
          ctx.log(
            `${p.phase}${p.object ? ` ${p.object}` : ''}${p.done !== undefined ? ` ${p.done}/${p.total ?? '?'}` : ''}`,
          ),
      });
      ctx.recordGate(result);
      return result.ok
        ? { ok: true }
        : { ok: false, error: redact(`${check.kind} check ${result.status}: ${result.summary}`) };
    } catch (err) {
      const why = ctx.signal.aborted ? abortReason(ctx.signal) : (err as Error).message;
      return { ok: false, error: redact(`${check.kind} check failed to run: ${why}`) };
    }
  },
};
