import { setMaxListeners } from 'node:events';
import { ConnectionError } from '../../shared/errors.js';
import { formatDuration } from '../../shared/duration.js';

/** Who a request talks to, for the message when it does not answer in time. */
export interface RequestScope {
  side: 'source' | 'target';
  endpoint: string;
  /** Deadline of one request, retries and backoff included. */
  timeoutMs: number;
  /** The caller's abort (Ctrl-C, a step timeout): ends the request at once. */
  signal: AbortSignal;
}

/**
 * Runs one S3 request under a deadline that covers every retry: a gateway that accepts the
 * connection but never answers (a frozen process: the kernel still completes the handshake)
 * would otherwise hold the check for the SDK's attempts × socket timeout. The request gets a
 * signal that fires on the caller's abort or at the deadline, whichever comes first; the SDK
 * destroys the socket on abort, so neither waits for the server. `touch` restarts the clock
 * (a long download that keeps receiving bytes is not stuck).
 */
export async function withDeadline<T>(
  scope: RequestScope,
  what: string,
  run: (signal: AbortSignal, touch: () => void) => Promise<T>,
): Promise<T> {
  scope.signal.throwIfAborted();
  const deadline = new AbortController();
  const expire = () => deadline.abort(new Error('deadline'));
  let timer = setTimeout(expire, scope.timeoutMs);
  // A download that keeps receiving bytes is alive: each chunk restarts the clock.
  const touch = () => {
    clearTimeout(timer);
    if (!deadline.signal.aborted) timer = setTimeout(expire, scope.timeoutMs);
  };
  const signal = AbortSignal.any([scope.signal, deadline.signal]);
  setMaxListeners(0, signal);
  try {
    return await run(signal, touch);
  } catch (err) {
    if (deadline.signal.aborted && !scope.signal.aborted) throw deadlineError(scope, what, err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export function deadlineError(scope: RequestScope, what: string, cause?: unknown): ConnectionError {
  return new ConnectionError(
    `${scope.side} S3 endpoint ${scope.endpoint} did not answer within ${formatDuration(scope.timeoutMs)} (${what})`,
    {
      hint: `the ${scope.side} gateway may be frozen or overloaded: check it, or raise --request-timeout (runbook: requestTimeout)`,
      cause,
    },
  );
}
