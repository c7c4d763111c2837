import type { CheckContext, Finding } from '../types.js';

/** Keeps the first `max` findings, counts the rest, and streams every one to the context. */
export class FindingLog {
  readonly kept: Finding[] = [];
  omitted = 0;
  differences = 0;
  unverified = 0;

  constructor(
    private readonly max: number,
    private readonly ctx: CheckContext,
  ) {}

  add(f: Finding): void {
    if (f.severity === 'difference') this.differences++;
    if (f.severity === 'unverified') this.unverified++;
    if (this.kept.length < this.max) this.kept.push(f);
    else this.omitted++;
    this.ctx.onFinding?.(f);
  }
}
