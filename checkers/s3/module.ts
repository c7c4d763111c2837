import { z } from 'zod';
import { UsageError } from '../../shared/errors.js';
import { formatDuration } from '../../shared/duration.js';
import { redact } from '../../shared/redact.js';
import type { CheckerModule, FlagValues, PrintContext } from '../module.js';
import type { CheckResult } from '../types.js';
import { CREDENTIAL_ENV, s3EndpointSchema, type S3Endpoint } from './endpoint.js';
import { s3OptionsSchema, type S3CheckOptions } from './options.js';
import { parseS3Url } from './s3-url.js';
import type { BucketTotals } from './summary.js';

const SYMBOL: Record<string, string> = {
  missing: '+',
  extra: '-',
  different: '*',
  unverified: '?',
  error: '!',
};

const str = (flags: FlagValues, key: string): string | undefined => flags[key] as string | undefined;

function integerFlag(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag}: expected a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function endpointFlag(text: string | undefined, flag: string): string | undefined {
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} ${JSON.stringify(redact(text))} is not a URL`, {
      hint: `e.g. ${flag} http://rgw-main:7480`,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${flag} must be an http:// or https:// URL, got ${url.protocol}`, {
      hint: `e.g. ${flag} http://rgw-main:7480 (the bucket goes in --source/--target s3://bucket)`,
    });
  }
  return text;
}

function bucketsFlag(text: string | undefined): S3CheckOptions['buckets'] {
  if (text === undefined) return undefined;
  if (text.trim() === 'all') return 'all';
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError('--buckets: give bucket names separated by commas, or all');
  for (const n of names) parseS3Url(`s3://${n}`, 'buckets');
  return names;
}

/** The fields of a `kind: s3` runbook resource. */
const s3Resource = z.strictObject({ source: s3EndpointSchema, target: s3EndpointSchema });

/** S3 / Ceph RGW: every object of Main's buckets on DR. */
export const s3Module: CheckerModule<'s3', S3Endpoint, S3CheckOptions, typeof s3Resource> = {
  kind: 's3',
  title: 'S3/Ceph RGW buckets on Main vs DR: every key, size and ETag (optionally content and metadata)',
  resource: s3Resource,
  endpoints: (_name, r) => ({ source: r.source, target: r.target }),
  optionsSchema: s3OptionsSchema,
  secretEnv: [
    CREDENTIAL_ENV.source.secret,
    CREDENTIAL_ENV.target.secret,
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ],
  run: async (target, options, ctx) => (await import('./checker.js')).runS3Check(target, options, ctx),
  cli: {
    description:
      'compare S3/Ceph RGW buckets on Main (--source) with DR (--target): every key, size and ETag',
    source: { value: '<url>', description: 'Main: s3://bucket[/prefix] (s3:// alone with --buckets)' },
    target: { value: '<url>', description: 'DR: s3://bucket[/prefix] (s3:// alone with --buckets)' },
    resource: 'take both sides from this runbook resource (with -f)',
    since:
      'compare content only of objects modified after this time on either side (24h ago, or an ISO time); presence of every key is always compared',
    show: 20,
    flags: [
      {
        flags: '--source-endpoint <url>',
        description: 'Main S3 endpoint, e.g. http://rgw-main:7480 (default AWS)',
      },
      { flags: '--target-endpoint <url>', description: 'DR S3 endpoint (default: the source endpoint)' },
      { flags: '--source-region <name>', description: 'default AWS_REGION or us-east-1' },
      { flags: '--target-region <name>', description: 'default: the source region' },
      { flags: '--source-profile <name>', description: 'AWS shared-config profile for Main' },
      {
        flags: '--target-profile <name>',
        description: 'AWS shared-config profile for DR (default: the source profile)',
      },
      {
        flags: '--buckets <names>',
        description: 'compare these buckets (same name on both sides, comma-separated), or `all`',
      },
      {
        flags: '--download',
        description: 'download both copies and compare SHA-256 (ETags, i.e. MD5s, are then not trusted)',
      },
      {
        flags: '--metadata',
        description:
          'also compare Content-Type, Content-Encoding, Cache-Control, …, user metadata (x-amz-meta-*) and tags (2 requests per object per side)',
      },
      {
        flags: '--request-timeout <duration>',
        description: 'deadline of one S3 request, retries included',
        default: '30s',
      },
      {
        flags: '--modtime',
        description: 'also report a different LastModified (replication normally rewrites it)',
      },
      {
        flags: '--concurrency <n>',
        description:
          'key ranges listed at once per bucket (each lists both sides); default: one per two cores against a server on this host, else 8',
      },
      {
        flags: '--combined <file>',
        description: 'write `= key` / `+` / `-` / `*` / `?` / `!` lines for every key (- = stdout)',
      },
    ],
    help: `
Credentials: DRCTL_S3_SOURCE_ACCESS_KEY_ID / DRCTL_S3_SOURCE_SECRET_ACCESS_KEY (and _TARGET_),
else --source-profile / --target-profile, else the AWS SDK's usual chain (AWS_ACCESS_KEY_ID,
AWS_PROFILE, ~/.aws). Path-style addressing (Ceph RGW). Read-only: needs s3:ListBucket, plus
s3:GetObject for --download and s3:ListAllMyBuckets for --buckets all.

Compared: every key (byte order), size and ETag. A single-part ETag is the MD5 of the content:
equal ETags rule out accidental change, not a crafted MD5 collision (nor SSE-C/KMS ETags, which
are not MD5s). A multipart ETag (…-N) only matches the same part layout; otherwise the object is
unverified (? — never counted as a match). --download compares SHA-256 of both copies of every
object instead. Not compared unless --metadata: Content-Type and the other content headers, user
metadata and tags. Never compared: ACLs, object lock, storage class, encryption settings,
noncurrent versions, bucket configuration. The result lists what was not compared as warnings.
LastModified is reported, not compared (unless --modtime). --since still lists every key on both
sides and reports every missing or extra key (a deletion inside the window is never invisible);
it only skips comparing the content of objects modified on neither side since the time. Keys are
listed in parallel key ranges, so --combined lines are in key order within a range, not overall.

Symbols: = same, + only on source (missing on DR), - only on target, * different,
? unverified, ! error. Exit codes: 0 consistent, 1 differences or unverified, 2 could not check,
130 interrupted.

Examples:
  drctl check s3 --source s3://documents --source-endpoint http://rgw-main:7480 \\
                 --target s3://documents --target-endpoint http://rgw-dr:7480
  drctl check s3 --source-endpoint http://rgw-main:7480 --target-endpoint http://rgw-dr:7480 --buckets all --since 24h
  drctl check s3 --resource ceph-docs -f runbooks/id-bank/switchover.yaml --combined - | grep -v '^='`,
    precheck(flags) {
      if (flags['json'] === true && flags['combined'] === '-') {
        throw new UsageError('--json and --combined - both want stdout', {
          hint: 'write the combined lines to a file: --combined s3-check.txt',
        });
      }
      bucketsFlag(str(flags, 'buckets'));
      if (flags['resource'] !== undefined && (flags['sourceEndpoint'] || flags['targetEndpoint']))
        throw new UsageError('give either --source/--target (and endpoints) or --resource/-f, not both');
    },
    endpoints(flags) {
      const buckets = bucketsFlag(str(flags, 'buckets'));
      const source = str(flags, 'source');
      const target = str(flags, 'target');
      if (buckets === undefined && (source === undefined || target === undefined)) {
        throw new UsageError(
          'give --source s3://bucket and --target s3://bucket (or --buckets, or --resource <name> -f <runbook>)',
          {
            hint: 'drctl check s3 --source s3://docs --source-endpoint http://rgw-main:7480 --target s3://docs --target-endpoint http://rgw-dr:7480',
          },
        );
      }
      const src = parseS3Url(source ?? 's3://', 'source');
      const tgt = parseS3Url(target ?? 's3://', 'target');
      if (buckets !== undefined && (src.bucket || tgt.bucket)) {
        throw new UsageError(
          '--buckets compares buckets of the same name on both sides; leave the bucket out of --source/--target',
          { hint: 'drctl check s3 --buckets docs,images --source-endpoint … --target-endpoint …' },
        );
      }
      if (buckets === undefined && (!src.bucket || !tgt.bucket)) {
        throw new UsageError(`--${src.bucket ? 'target' : 'source'} needs a bucket: s3://bucket[/prefix]`);
      }
      const sourceEndpoint = endpointFlag(str(flags, 'sourceEndpoint'), '--source-endpoint');
      const targetEndpoint =
        endpointFlag(str(flags, 'targetEndpoint'), '--target-endpoint') ?? sourceEndpoint;
      const side = (
        loc: { bucket?: string | undefined; prefix: string },
        endpoint: string | undefined,
        region: string | undefined,
        profile: string | undefined,
      ): S3Endpoint => ({
        endpoint,
        region,
        bucket: loc.bucket,
        prefix: loc.prefix,
        profile,
        forcePathStyle: true,
      });
      const region = str(flags, 'sourceRegion');
      const profile = str(flags, 'sourceProfile');
      return {
        source: side(src, sourceEndpoint, region, profile),
        target: side(
          tgt,
          targetEndpoint,
          str(flags, 'targetRegion') ?? region,
          str(flags, 'targetProfile') ?? profile,
        ),
      };
    },
    options(flags, show) {
      const buckets = bucketsFlag(str(flags, 'buckets'));
      const since = str(flags, 'since');
      const combined = str(flags, 'combined');
      return {
        ...(buckets === undefined ? {} : { buckets }),
        ...(since === undefined ? {} : { since }),
        download: flags['download'] === true,
        metadata: flags['metadata'] === true,
        requestTimeout: flags['requestTimeout'],
        compareModTime: flags['modtime'] === true,
        ...(str(flags, 'concurrency') === undefined
          ? {}
          : { concurrency: integerFlag(str(flags, 'concurrency')!, '--concurrency', 1, 64) }),
        ...(combined === undefined ? {} : { combined }),
        maxFindings: Math.max(1000, show),
      };
    },
    optionFlags: { compareModTime: '--modtime', maxFindings: '--show' },
    streams: (flags) => flags['json'] !== true && flags['combined'] !== '-',
    streamFinding: (f) =>
      f.severity === 'warning' ? undefined : `${SYMBOL[f.kind] ?? '!'} ${f.object}  (${f.message})`,
    print: printS3,
  },
};

/** What the printer reads of a bucket pair's evidence (see summary.ts). */
type BucketEvidence = Pick<
  BucketTotals,
  | 'source'
  | 'target'
  | 'sourceObjects'
  | 'targetObjects'
  | 'same'
  | 'missing'
  | 'extra'
  | 'different'
  | 'unverified'
  | 'errors'
  | 'durationMs'
>;

function printS3(result: CheckResult, { printed, flags, out: stdout }: PrintContext): void {
  const toStderr = flags['combined'] === '-';
  const out = (line = '') => (toStderr ? process.stderr.write(redact(line) + '\n') : stdout(line));
  const buckets = (result.evidence as { buckets?: BucketEvidence[] }).buckets ?? [];
  const num = (n: number) => n.toLocaleString('en-US');
  const notShown =
    result.counts.missing! +
    result.counts.extra! +
    result.counts.different! +
    result.counts.unverified! +
    result.counts.errors! -
    printed;
  if (notShown > 0 && !toStderr) out(`… and ${num(notShown)} more (use --combined or --json for all)`);
  if (printed > 0) out();
  const label = (s: BucketEvidence['source']) =>
    `${s.bucket}${s.prefix ? `/${s.prefix}` : ''}${s.exists ? '' : ' (absent)'}`;
  const w = Math.max(6, ...buckets.map((b) => label(b.source).length + label(b.target).length + 4));
  out(
    `${'bucket'.padEnd(w)}  ${'objects src'.padStart(11)}  ${'objects dst'.padStart(11)}  ${'same'.padStart(9)}  ${'+missing'.padStart(8)}  ${'-extra'.padStart(7)}  ${'*diff'.padStart(7)}  ${'?unver'.padStart(7)}  ${'time'.padStart(6)}`,
  );
  for (const b of buckets) {
    const name =
      label(b.source) === label(b.target) ? label(b.source) : `${label(b.source)} -> ${label(b.target)}`;
    out(
      `${name.padEnd(w)}  ${num(b.sourceObjects).padStart(11)}  ${num(b.targetObjects).padStart(11)}  ${num(b.same).padStart(9)}  ${num(b.missing).padStart(8)}  ${num(b.extra).padStart(7)}  ${num(b.different).padStart(7)}  ${num(b.unverified + b.errors).padStart(7)}  ${formatDuration(b.durationMs).padStart(6)}`,
    );
  }
  out();
  for (const f of result.findings) if (f.severity === 'warning') out(`note: ${f.message}`);
  out(`${result.status}: ${result.summary}`);
}
