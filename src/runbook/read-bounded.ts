import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Largest runbook or module file read (a full bank's runbook is ~1 MB). */
export const MAX_RUNBOOK_FILE_BYTES = 8 * 1024 * 1024;

/** Largest file read by `${file:…}` (a secret, a certificate, a small YAML/JSON document). */
export const MAX_INTERPOLATED_FILE_BYTES = 1024 * 1024;

/** Why a file was not read: what to show the user. */
export class BoundedReadError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * Reads a regular file of at most `maxBytes` as UTF-8. Refuses devices (/dev/zero would grow
 * without end), FIFOs (would block forever: opened non-blocking, then refused), directories,
 * files over the cap and text that is not UTF-8, each with a message that says so.
 */
export function readBoundedText(path: string, maxBytes: number): string {
  // O_NONBLOCK: opening a FIFO with no writer must not hang; regular files ignore the flag.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory()
        ? 'a directory'
        : st.isFIFO()
          ? 'a FIFO (named pipe)'
          : st.isCharacterDevice() || st.isBlockDevice()
            ? 'a device'
            : st.isSocket()
              ? 'a socket'
              : 'not a regular file';
      throw new BoundedReadError(`is ${kind}, not a regular file`, 'only regular files can be read');
    }
    if (st.size > maxBytes) {
      throw new BoundedReadError(
        `is ${formatBytes(st.size)}, over the limit of ${formatBytes(maxBytes)}`,
        'split it up; this limit keeps drctl from exhausting memory on a wrong path',
      );
    }
    // Read at most one byte more than the cap, so a file growing while read is caught too.
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size, 0) + 1));
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) {
        if (n > maxBytes) {
          throw new BoundedReadError(`grew past the limit of ${formatBytes(maxBytes)} while being read`);
        }
        break;
      }
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n)).replace(/^\uFEFF/, '');
    } catch {
      throw new BoundedReadError('is not UTF-8 text', 'save the file as UTF-8');
    }
  } finally {
    closeSync(fd);
  }
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
