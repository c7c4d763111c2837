import { formatDuration } from '../util/duration.js';
import { describeError, type Probe, type ProbeLine } from './types.js';

export interface RunProbesOptions {
  /** Probes at once in total (default 16). */
  concurrency: number;
  /** Per resource: probes of it at once (its `concurrency:`); absent: no limit of its own. */
  resourceLimits: Record<string, number | undefined>;
  timeoutMs: number;
  /** Ctrl-C: probes still running end at once. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs every probe, at most `concurrency` at once and at most a resource's own limit on that
 * resource, each under its deadline. A probe that does not answer in time is one `fail` line
 * naming it, and its signal is aborted so its sockets close: an unreachable host never hangs
 * the preflight. A probe that throws is a `fail` line with the error's message and hint.
 * Lines come back in probe order, whatever order they finished in.
 */
export async function runProbes(probes: Probe[], opts: RunProbesOptions): Promise<ProbeLine[]> {
  const results: ProbeLine[][] = probes.map(() => []);
  const active = new Map<string, number>();
  const waiting = probes.map((_, i) => i);
  let running = 0;
  let wake: (() => void) | undefined;

  const limitOf = (p: Probe): number =>
    p.resource ? (opts.resourceLimits[p.resource] ?? Infinity) : Infinity;
  const nextRunnable = (): number | undefined => {
    const at = waiting.findIndex((i) => {
      const p = probes[i]!;
      return !p.resource || (active.get(p.resource) ?? 0) < limitOf(p);
    });
    return at < 0 ? undefined : waiting.splice(at, 1)[0];
  };

  const runOne = async (i: number): Promise<void> => {
    const p = probes[i]!;
    const started = performance.now();
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      // ref'd on purpose: the deadline keeps node alive until it has been said
      timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
    });
    const base = { group: p.group, kind: p.kind, ...(p.direction ? { direction: p.direction } : {}) };
    try {
      const outcome = await Promise.race([
        p.run({ signal: controller.signal, timeoutMs: opts.timeoutMs }).then(
          (lines) => ({ lines }),
          (err: unknown) => ({ err }),
        ),
        deadline,
      ]);
      const ms = Math.round(performance.now() - started);
      if (outcome === 'timeout') {
        controller.abort(new Error(`no answer within ${formatDuration(opts.timeoutMs)}`));
        results[i] = [
          {
            ...base,
            item: p.item,
            status: 'fail',
            message: `no answer within ${formatDuration(opts.timeoutMs)} (host down, unreachable or firewalled?)`,
            fix: p.timeoutFix,
            durationMs: ms,
          },
        ];
      } else if ('err' in outcome) {
        const { message, hint } = describeError(outcome.err);
        results[i] = [
          {
            ...base,
            item: p.item,
            status: 'fail',
            message: opts.signal?.aborted ? `interrupted: ${message}` : message,
            fix: hint ?? p.timeoutFix,
            durationMs: ms,
          },
        ];
      } else {
        results[i] = outcome.lines.map((l) => ({ ...l, durationMs: l.durationMs ?? ms }));
      }
    } finally {
      clearTimeout(timer);
      controller.abort(new Error('probe finished'));
      opts.signal?.removeEventListener('abort', onOuterAbort);
    }
  };

  await new Promise<void>((resolveAll) => {
    const pump = (): void => {
      if (waiting.length === 0 && running === 0) return resolveAll();
      while (running < opts.concurrency) {
        const i = nextRunnable();
        if (i === undefined) break;
        const p = probes[i]!;
        running++;
        if (p.resource) active.set(p.resource, (active.get(p.resource) ?? 0) + 1);
        void runOne(i).finally(() => {
          running--;
          if (p.resource) active.set(p.resource, (active.get(p.resource) ?? 1) - 1);
          pump();
        });
      }
    };
    wake = pump;
    wake();
  });
  return results.flat();
}
