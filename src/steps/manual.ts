import type { StepHandler } from './types.js';

/**
 * An approval by the step's owner role (or its listed approvers): at the prompt, or from another
 * terminal with `drctl approve` / `drctl reject`. A rejection fails the step and is not retried.
 */
export const manualHandler: StepHandler<'manual'> = {
  describe(action) {
    return `ask ${action.approvers.join(' or ')} to approve: ${action.instructions}`;
  },
  async execute(action, ctx) {
    const role = action.approvers.length > 0 ? action.approvers.join('|') : ctx.step.owner;
    const d = await ctx.requestApproval(action.instructions, role);
    if (d.decision === 'approved') return { ok: true };
    return {
      ok: false,
      retryable: false,
      error: `rejected by ${d.by}${d.comment ? `: ${d.comment}` : ''}`,
    };
  },
};
