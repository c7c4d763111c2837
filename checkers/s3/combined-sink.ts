import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { UsageError } from '../../shared/errors.js';
import type { Verdict } from './compare.js';

/** Where `--combined` lines go: every compared key as `<symbol> <key>` (rclone check --combined). */
export interface CombinedSink {
  write(verdict: Verdict, name: string): Promise<void> | void;
  close(): Promise<void>;
}

// A key with a line break would split a line; such keys are written JSON-quoted.
function formatName(name: string): string {
  return /[\r\n]/.test(name) ? JSON.stringify(name) : name;
}

function sinkFor(stream: NodeJS.WritableStream, owned: WriteStream | undefined): CombinedSink {
  return {
    write(verdict, name) {
      if (!stream.write(`${verdict} ${formatName(name)}\n`))
        return once(stream, 'drain').then(() => undefined);
    },
    async close() {
      if (owned) {
        owned.end();
        await once(owned, 'close');
      }
    },
  };
}

/** Opens `path` (`-` = stdout) for combined output; a path that cannot be written is a usage error. */
export async function openCombinedSink(path: string): Promise<CombinedSink> {
  if (path === '-') return sinkFor(process.stdout, undefined);
  const stream = createWriteStream(path);
  try {
    await once(stream, 'open');
  } catch (err) {
    throw new UsageError(`cannot write the combined report to ${path}: ${(err as Error).message}`, {
      hint: 'pass a writable file path, or - for stdout',
    });
  }
  return sinkFor(stream, stream);
}
