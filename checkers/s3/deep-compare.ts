import type { S3Client } from '@aws-sdk/client-s3';
import { DrctlError } from '../../shared/errors.js';
import type { Verdict } from './compare.js';
import { withDeadline } from './deadline.js';
import { hashObject } from './download.js';
import { describeS3Error } from './errors.js';
import { diffMetadata, readMetadata } from './metadata.js';
import type { ListingSource as ScanSide } from './range-cursor.js';

export interface DeepOptions {
  /** Hash both copies (SHA-256) instead of trusting the ETags. */
  download: boolean;
  /** Compare headers, user metadata and tags (HEAD + GetObjectTagging per side). */
  metadata: boolean;
  signal: AbortSignal;
}

export interface DeepResult {
  verdict: Verdict;
  reason: string | undefined;
  downloaded: boolean;
}

interface Sides {
  source: ScanSide;
  target: ScanSide;
}

function isGone(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/** One request per side, each under the side's deadline, with errors that name the side. */
async function onBothSides<T>(
  sides: Sides,
  key: string,
  what: string,
  signal: AbortSignal,
  read: (client: S3Client, bucket: string, key: string, signal: AbortSignal, touch: () => void) => Promise<T>,
): Promise<[T, T]> {
  const one = async (s: ScanSide) => {
    try {
      return await withDeadline(
        { side: s.side, endpoint: s.endpoint, timeoutMs: s.timeoutMs, signal },
        `${what} ${s.bucket}/${s.prefix}${key}`,
        (sig, touch) => read(s.client!, s.bucket, s.prefix + key, sig, touch),
      );
    } catch (err) {
      if (err instanceof DrctlError || signal.aborted || isGone(err)) throw err;
      throw describeS3Error(err, {
        side: s.side,
        endpoint: s.endpoint,
        bucket: s.bucket,
        during: `while ${what} ${s.bucket}/${s.prefix}${key}`,
      });
    }
  };
  return Promise.all([one(sides.source), one(sides.target)]);
}

/**
 * The verdict for a key present on both sides beyond what the listing shows: with `download`
 * the content's SHA-256 decides (ETags are not trusted: MD5 collisions are cheap to make), with
 * `metadata` the headers, user metadata and tags must match too. A proven difference wins over
 * an unverified content. An object deleted since it was listed is unverified (a live bucket);
 * a side that cannot be reached ends the check (exit 2), it is not a per-object verdict.
 */
export async function compareDeep(
  sides: Sides,
  key: string,
  listed: { verdict: Verdict; reason: string | undefined; sizesDiffer: boolean },
  opts: DeepOptions,
): Promise<DeepResult> {
  let verdict = listed.verdict;
  let reason = listed.reason;
  let downloaded = false;
  try {
    if (opts.download && !listed.sizesDiffer) {
      downloaded = true;
      const [a, b] = await onBothSides(sides, key, 'downloading', opts.signal, hashObject);
      if (a.sha256 === b.sha256 && a.bytes === b.bytes) {
        verdict = '=';
        reason = undefined;
      } else {
        verdict = '*';
        reason =
          a.bytes === b.bytes
            ? `content differs (sha256 ${a.sha256.slice(0, 12)}… vs ${b.sha256.slice(0, 12)}…)`
            : `size ${a.bytes} vs ${b.bytes} (downloaded)`;
      }
    }
    if (opts.metadata) {
      const [a, b] = await onBothSides(sides, key, 'reading metadata of', opts.signal, readMetadata);
      const diffs = diffMetadata(a, b);
      if (diffs.length > 0) {
        const what = `metadata differs: ${diffs.join('; ')}`;
        reason = verdict === '*' ? `${reason ?? 'different'}; ${what}` : what;
        verdict = '*';
      }
    }
  } catch (err) {
    if (err instanceof DrctlError || opts.signal.aborted) throw err;
    if (isGone(err)) return { verdict: '?', reason: 'deleted on one side since it was listed', downloaded };
    return { verdict: '!', reason: `could not read: ${(err as Error).message}`, downloaded };
  }
  return { verdict, reason, downloaded };
}
