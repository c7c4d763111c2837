import { redact } from '../util/redact.js';
import type { EngineObserver } from './executor.js';
import { formatEventLine } from './format-event.js';

/**
 * The renderer for no TTY (CI, `| tee`, a logged tmux pane): one timestamped line per event,
 * written synchronously so nothing is lost when the process dies.
 */
export function createLineRenderer(
  write: (text: string) => void = (t) => process.stdout.write(t),
  options: { logs?: boolean } = {},
): EngineObserver {
  return {
    onEvent(ev) {
      write(formatEventLine(ev) + '\n');
    },
    onLog(step, line) {
      if (options.logs) write(redact(`${new Date().toISOString()} ${step}: ${line}`) + '\n');
    },
    onNotice(message) {
      write(`${new Date().toISOString()} ${message}\n`);
    },
  };
}
