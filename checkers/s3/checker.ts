import { setMaxListeners } from 'node:events';
import { buildResult, FindingLog, statusOf } from '../result.js';
import { ListBucketsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { UsageError } from '../../shared/errors.js';
import { parseDuration } from '../../shared/duration.js';
import type { Checker, CheckContext, CheckResult, CheckTarget, Finding, S3Endpoint } from '../types.js';
import { autoConcurrency } from './auto-concurrency.js';
import { createS3Client, displayEndpoint } from './client.js';
import { openCombinedSink, type CombinedSink } from './combined-sink.js';
import type { Verdict } from './compare.js';
import { withDeadline } from './deadline.js';
import { compareDeep } from './deep-compare.js';
import { describeS3Error } from './errors.js';
import { describeScope } from './scope.js';
import { resolveSince, s3OptionsSchema, type S3CheckOptions } from './options.js';
import type { ListedObject } from './list-xml.js';
import type { ListingSource } from './range-cursor.js';
import { scanBucketPair, type ObjectResult } from './scan.js';
import { formatBytes, summarize, type BucketTotals } from './summary.js';

interface Side {
  side: 'source' | 'target';
  ep: S3Endpoint;
  client: S3Client;
  endpoint: string;
  timeoutMs: number;
}

interface BucketPair {
  source: ListingSource;
  target: ListingSource;
}

const FINDING_KIND: Record<Exclude<Verdict, '='>, { kind: string; severity: Finding['severity'] }> = {
  '+': { kind: 'missing', severity: 'difference' },
  '-': { kind: 'extra', severity: 'difference' },
  '*': { kind: 'different', severity: 'difference' },
  '?': { kind: 'unverified', severity: 'unverified' },
  '!': { kind: 'error', severity: 'unverified' },
};

const scope = (s: Side, signal: AbortSignal) => ({
  side: s.side,
  endpoint: s.endpoint,
  timeoutMs: s.timeoutMs,
  signal,
});

async function listAllBuckets(s: Side, signal: AbortSignal): Promise<Set<string>> {
  try {
    const out = await withDeadline(scope(s, signal), 'listing buckets', (sig) =>
      s.client.send(new ListBucketsCommand({}), { abortSignal: sig }),
    );
    return new Set((out.Buckets ?? []).map((b) => b.Name ?? '').filter((n) => n !== ''));
  } catch (err) {
    throw describeS3Error(err, { side: s.side, endpoint: s.endpoint });
  }
}

async function requireBucket(s: Side, bucket: string, signal: AbortSignal): Promise<void> {
  try {
    // A one-key listing, not HeadBucket: same permission, and its error body names the problem
    // (NoSuchBucket, InvalidAccessKeyId, SignatureDoesNotMatch) where HEAD only has a status.
    await withDeadline(scope(s, signal), `opening bucket ${bucket}`, (sig) =>
      s.client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }), { abortSignal: sig }),
    );
  } catch (err) {
    throw describeS3Error(err, { side: s.side, endpoint: s.endpoint, bucket });
  }
}

function listing(s: Side, bucket: string, exists: boolean): ListingSource {
  return {
    side: s.side,
    client: exists ? s.client : undefined,
    endpoint: s.endpoint,
    bucket,
    prefix: s.ep.prefix ?? '',
    timeoutMs: s.timeoutMs,
  };
}

/** The bucket pairs to compare: the resource's two buckets, a named list, or every bucket. */
async function resolvePairs(
  src: Side,
  tgt: Side,
  options: S3CheckOptions,
  signal: AbortSignal,
): Promise<BucketPair[]> {
  if (options.buckets === 'all') {
    const [a, b] = await Promise.all([listAllBuckets(src, signal), listAllBuckets(tgt, signal)]);
    const names = [...new Set([...a, ...b])].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    if (names.length === 0) {
      throw new UsageError(`no buckets on either side (${src.endpoint}, ${tgt.endpoint})`, {
        hint: 'check the endpoints and that the credentials belong to the account that owns the buckets',
      });
    }
    return names.map((n) => ({ source: listing(src, n, a.has(n)), target: listing(tgt, n, b.has(n)) }));
  }
  let pairs: Array<[string, string]>;
  if (options.buckets) pairs = options.buckets.map((n) => [n, n]);
  else {
    if (!src.ep.bucket || !tgt.ep.bucket) {
      throw new UsageError('no bucket to compare on the ' + (src.ep.bucket ? 'target' : 'source'), {
        hint: 'give --source s3://bucket[/prefix] and --target s3://bucket[/prefix], or --buckets a,b (or all)',
      });
    }
    pairs = [[src.ep.bucket, tgt.ep.bucket]];
  }
  await Promise.all(
    pairs.flatMap(([a, b]) => [requireBucket(src, a, signal), requireBucket(tgt, b, signal)]),
  );
  return pairs.map(([a, b]) => ({ source: listing(src, a, true), target: listing(tgt, b, true) }));
}

/**
 * Compares S3 buckets between Main (source, the reference) and DR (target): a streaming
 * merge-join of both listings by key bytes, size + ETag per object (multipart-aware), counts and
 * bytes per bucket; optionally only recent objects, or content hashes where ETags cannot tell.
 */
export async function runS3Check(
  target: CheckTarget,
  options: S3CheckOptions,
  ctx: CheckContext,
): Promise<CheckResult> {
  if (target.kind !== 's3') throw new UsageError(`the s3 checker cannot check a ${target.kind} resource`);
  const startedAt = new Date();
  let since: Date | undefined;
  if (options.since !== undefined) {
    since = resolveSince(options.since, startedAt);
    if (!since) {
      throw new UsageError(`--since ${JSON.stringify(options.since)} is neither a time nor a duration`, {
        hint: 'use an ISO time such as 2026-05-01T00:00:00Z, or a duration ago such as 90m, 24h, 7d',
      });
    }
  }
  const timeoutMs = parseDuration(options.requestTimeout);
  if (timeoutMs === undefined || timeoutMs <= 0) {
    throw new UsageError(`requestTimeout ${JSON.stringify(options.requestTimeout)} is not a duration`, {
      hint: 'e.g. 30s or 2m',
    });
  }
  // Per side: two listings in flight per key range, plus the download/HEAD pool (1 per range).
  // Too few and requests queue in the agent, where the connect timeout already runs.
  const concurrency =
    options.concurrency ?? autoConcurrency([target.source.endpoint, target.target.endpoint]);
  const sockets = Math.max(16, concurrency * 4 + concurrency * 2);
  const src: Side = {
    side: 'source',
    ep: target.source,
    client: createS3Client(target.source, 'source', sockets, timeoutMs),
    endpoint: displayEndpoint(target.source.endpoint),
    timeoutMs,
  };
  const tgt: Side = {
    side: 'target',
    ep: target.target,
    client: createS3Client(target.target, 'target', sockets, timeoutMs),
    endpoint: displayEndpoint(target.target.endpoint),
    timeoutMs,
  };
  let sink: CombinedSink | undefined;
  try {
    const pairs = await resolvePairs(src, tgt, options, ctx.signal);
    sink = options.combined === undefined ? undefined : await openCombinedSink(options.combined);
    const multi = pairs.length > 1 || options.buckets !== undefined;
    const log = new FindingLog(options.maxFindings, ctx);
    const buckets: BucketTotals[] = [];
    for (const pair of pairs) {
      const t0 = Date.now();
      const tally = { same: 0, missing: 0, extra: 0, different: 0, unverified: 0, errors: 0, downloaded: 0 };
      // Synchronous for the common case; only a download or a full output pipe waits.
      const record = (
        r: ObjectResult,
        verdict: Verdict,
        reason: string | undefined,
      ): Promise<void> | void => {
        if (verdict === '=') tally.same++;
        else if (verdict === '+') tally.missing++;
        else if (verdict === '-') tally.extra++;
        else if (verdict === '*') tally.different++;
        else if (verdict === '?') tally.unverified++;
        else tally.errors++;
        const shown = multi ? `${pair.source.bucket}/${r.name}` : r.name;
        if (verdict !== '=') {
          const { kind, severity } = FINDING_KIND[verdict];
          const finding: Finding = {
            kind,
            severity,
            object:
              verdict === '-'
                ? `${pair.target.bucket}/${pair.target.prefix}${r.name}`
                : `${pair.source.bucket}/${pair.source.prefix}${r.name}`,
            message: reason ?? kind,
            details: {
              symbol: verdict,
              key: shown,
              ...(r.source
                ? {
                    source: { size: r.source.size, etag: r.source.etag, lastModified: r.source.lastModified },
                  }
                : {}),
              ...(r.target
                ? {
                    target: { size: r.target.size, etag: r.target.etag, lastModified: r.target.lastModified },
                  }
                : {}),
            },
          };
          log.add(finding);
        }
        if (sink) return sink.write(verdict, shown);
      };
      // Downloads and HEADs run several at once per bucket (verdicts then arrive out of key
      // order within a range); the listing waits only when the pool is full.
      const deep = options.download || options.metadata;
      const pool = new Set<Promise<void>>();
      const poolSize = concurrency;
      let failure: { err: unknown } | undefined;
      // The first failed download stops the listing and the other downloads: no partial answer.
      const stop = new AbortController();
      const signal = AbortSignal.any([ctx.signal, stop.signal]);
      setMaxListeners(0, signal);
      const start = (r: ObjectResult, src: ListedObject, tgt: ListedObject) => {
        const listed = { verdict: r.verdict, reason: r.reason, sizesDiffer: src.size !== tgt.size };
        const task: Promise<void> = compareDeep(pair, r.name, listed, {
          download: options.download,
          metadata: options.metadata,
          signal,
        })
          .then((c) => {
            if (c.downloaded) tally.downloaded++;
            return record(r, c.verdict, c.reason);
          })
          .catch((err: unknown) => {
            if (!failure) {
              failure = { err };
              stop.abort(err);
            }
          })
          .finally(() => pool.delete(task));
        pool.add(task);
      };
      const onObject = (r: ObjectResult): Promise<void> | void => {
        if (failure) throw failure.err;
        if (!deep || !r.source || !r.target) return record(r, r.verdict, r.reason);
        const [src, tgt] = [r.source, r.target];
        if (pool.size < poolSize) return start(r, src, tgt);
        // Several key ranges wait here at once: each re-checks for room after every wake-up,
        // or the pool (and the requests queued in the HTTP agent) would grow without bound.
        return (async () => {
          while (pool.size >= poolSize) await Promise.race(pool);
          // A task that failed while we waited (TypeScript cannot see the assignment).
          const failed = failure as { err: unknown } | undefined;
          if (failed) throw failed.err;
          start(r, src, tgt);
        })();
      };
      ctx.progress({
        phase: 'compare',
        object: pair.source.bucket,
        message: `listing ${pair.source.bucket} and ${pair.target.bucket}`,
      });
      let counts;
      try {
        counts = await scanBucketPair(pair.source, pair.target, {
          concurrency,
          since,
          compareModTime: options.compareModTime,
          signal,
          onObject,
          // Without downloads, HEADs or --combined, a key listed the same is only counted.
          onSame: deep || sink ? undefined : () => void tally.same++,
        });
      } catch (err) {
        throw ctx.signal.aborted ? err : (failure?.err ?? err);
      } finally {
        await Promise.allSettled(pool);
      }
      if (failure) throw failure.err;
      buckets.push({
        source: {
          endpoint: src.endpoint,
          bucket: pair.source.bucket,
          prefix: pair.source.prefix,
          exists: pair.source.client !== undefined,
        },
        target: {
          endpoint: tgt.endpoint,
          bucket: pair.target.bucket,
          prefix: pair.target.prefix,
          exists: pair.target.client !== undefined,
        },
        ...counts,
        ...tally,
        durationMs: Date.now() - t0,
      });
      ctx.progress({
        phase: 'compare',
        object: pair.source.bucket,
        done: counts.sourceObjects,
        message: `${formatBytes(counts.sourceBytes)} compared`,
      });
    }
    await sink?.close();
    sink = undefined;
    return s3Result(buckets, log, { ...options, concurrency }, since, startedAt);
  } finally {
    await sink?.close();
    src.client.destroy();
    tgt.client.destroy();
  }
}

function s3Result(
  buckets: BucketTotals[],
  log: FindingLog,
  options: S3CheckOptions,
  since: Date | undefined,
  startedAt: Date,
): CheckResult {
  const sum = (k: keyof BucketTotals) => buckets.reduce((n, b) => n + (b[k] as number), 0);
  const counts: Record<string, number> = {
    buckets: buckets.length,
    sourceObjects: sum('sourceObjects'),
    targetObjects: sum('targetObjects'),
    sourceBytes: sum('sourceBytes'),
    targetBytes: sum('targetBytes'),
    same: sum('same'),
    missing: sum('missing'),
    extra: sum('extra'),
    different: sum('different'),
    unverified: sum('unverified'),
    errors: sum('errors'),
    skippedOlder: sum('skippedOlder'),
    downloaded: sum('downloaded'),
    listRequests: sum('listRequests'),
  };
  const status = statusOf({
    errors: counts.errors!,
    differences: counts.missing! + counts.extra! + counts.different!,
    unverified: counts.unverified!,
  });
  const scope = describeScope(options, since, counts.skippedOlder!);
  return buildResult({
    checker: 's3',
    status,
    summary: summarize(counts, status, since, scope.basis),
    counts,
    // Scope warnings first: never crowded out by maxFindings.
    leading: scope.warnings,
    log,
    evidence: {
      buckets,
      since: since?.toISOString(),
      download: options.download,
      metadata: options.metadata,
      compareModTime: options.compareModTime,
      requestTimeout: options.requestTimeout,
      concurrency: options.concurrency,
      compared: scope.compared,
      notCompared: scope.warnings.map((w) => w.message),
    },
    startedAt,
  });
}

export const s3Checker: Checker<S3CheckOptions> = {
  kind: 's3',
  optionsSchema: s3OptionsSchema,
  run: runS3Check,
};
