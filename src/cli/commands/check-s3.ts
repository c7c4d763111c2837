import type { Command } from 'commander';
import type { CheckResult, CheckTarget, Finding, S3Endpoint } from '../../../checkers/types.js';
import { s3OptionsSchema, type S3CheckOptions } from '../../../checkers/s3/options.js';
import { parseS3Url } from '../../../checkers/s3/s3-url.js';
import { DrctlError, ExitCode, UsageError } from '../../errors.js';
import { checkTargetFromRunbook } from '../../runbook/check-target.js';
import { formatDuration } from '../../util/duration.js';
import { redact, registerSecret } from '../../util/redact.js';
import { abortOnSigint, exitCodeForCheck, printCheckJson } from '../check-common.js';
import { printLine } from '../output.js';

interface CheckS3Flags {
  source?: string;
  target?: string;
  sourceEndpoint?: string;
  targetEndpoint?: string;
  sourceRegion?: string;
  targetRegion?: string;
  sourceProfile?: string;
  targetProfile?: string;
  resource?: string;
  file?: string;
  buckets?: string;
  since?: string;
  download?: boolean;
  metadata?: boolean;
  requestTimeout: string;
  modtime?: boolean;
  concurrency: string;
  json?: boolean;
  combined?: string;
  show: string;
}

const SYMBOL: Record<string, string> = {
  missing: '+',
  extra: '-',
  different: '*',
  unverified: '?',
  error: '!',
};

/** `drctl check s3`: prove every object of Main's buckets is on DR (size + ETag, optional content). */
export function registerCheckS3(check: Command): void {
  check
    .command('s3')
    .description(
      'compare S3/Ceph RGW buckets on Main (--source) with DR (--target): every key, size and ETag',
    )
    .option('--source <url>', 'Main: s3://bucket[/prefix] (s3:// alone with --buckets)')
    .option('--target <url>', 'DR: s3://bucket[/prefix] (s3:// alone with --buckets)')
    .option('--source-endpoint <url>', 'Main S3 endpoint, e.g. http://rgw-main:7480 (default AWS)')
    .option('--target-endpoint <url>', 'DR S3 endpoint (default: the source endpoint)')
    .option('--source-region <name>', 'default AWS_REGION or us-east-1')
    .option('--target-region <name>', 'default: the source region')
    .option('--source-profile <name>', 'AWS shared-config profile for Main')
    .option('--target-profile <name>', 'AWS shared-config profile for DR (default: the source profile)')
    .option('--resource <name>', 'take both sides from this runbook resource (with -f)')
    .option('-f, --file <runbook>', 'runbook file for --resource')
    .option('--buckets <names>', 'compare these buckets (same name on both sides, comma-separated), or `all`')
    .option(
      '--since <time>',
      'compare content only of objects modified after this time on either side (24h ago, or an ISO time); presence of every key is always compared',
    )
    .option('--download', 'download both copies and compare SHA-256 (ETags, i.e. MD5s, are then not trusted)')
    .option(
      '--metadata',
      'also compare Content-Type, Content-Encoding, Cache-Control, …, user metadata (x-amz-meta-*) and tags (2 requests per object per side)',
    )
    .option('--request-timeout <duration>', 'deadline of one S3 request, retries included', '30s')
    .option('--modtime', 'also report a different LastModified (replication normally rewrites it)')
    .option('--concurrency <n>', 'key ranges listed at once per bucket (each lists both sides)', '8')
    .option('--json', 'print one JSON document with everything')
    .option(
      '--combined <file>',
      'write `= key` / `+` / `-` / `*` / `?` / `!` lines for every key (- = stdout)',
    )
    .option('--show <n>', 'differences to print', '20')
    .addHelpText(
      'after',
      `
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
? unverified, ! error. Exit codes: 0 consistent, 1 differences or unverified, 2 could not check.

Examples:
  drctl check s3 --source s3://documents --source-endpoint http://rgw-main:7480 \\
                 --target s3://documents --target-endpoint http://rgw-dr:7480
  drctl check s3 --source-endpoint http://rgw-main:7480 --target-endpoint http://rgw-dr:7480 --buckets all --since 24h
  drctl check s3 --resource ceph-docs -f runbooks/id-bank/switchover.yaml --combined - | grep -v '^='`,
    )
    .action(async (flags: CheckS3Flags) => {
      await runCheckS3(flags);
    });
}

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
  if (url.password) registerSecret(decodeURIComponent(url.password));
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

async function resolveTarget(flags: CheckS3Flags, buckets: S3CheckOptions['buckets']): Promise<CheckTarget> {
  if (flags.resource !== undefined || flags.file !== undefined) {
    if (flags.resource === undefined || flags.file === undefined) {
      throw new UsageError('--resource and -f <runbook> go together', {
        hint: 'drctl check s3 --resource ceph-docs -f runbook.yaml',
      });
    }
    if (
      flags.source !== undefined ||
      flags.target !== undefined ||
      flags.sourceEndpoint ||
      flags.targetEndpoint
    ) {
      throw new UsageError('give either --source/--target (and endpoints) or --resource/-f, not both');
    }
    const t = await Promise.resolve(checkTargetFromRunbook(flags.file, flags.resource));
    if (t.kind !== 's3') throw new UsageError(`resource ${flags.resource} is a ${t.kind} resource, not s3`);
    return t;
  }
  if (buckets === undefined && (flags.source === undefined || flags.target === undefined)) {
    throw new UsageError(
      'give --source s3://bucket and --target s3://bucket (or --buckets, or --resource <name> -f <runbook>)',
      {
        hint: 'drctl check s3 --source s3://docs --source-endpoint http://rgw-main:7480 --target s3://docs --target-endpoint http://rgw-dr:7480',
      },
    );
  }
  const src = parseS3Url(flags.source ?? 's3://', 'source');
  const tgt = parseS3Url(flags.target ?? 's3://', 'target');
  if (buckets !== undefined && (src.bucket || tgt.bucket)) {
    throw new UsageError(
      '--buckets compares buckets of the same name on both sides; leave the bucket out of --source/--target',
      {
        hint: 'drctl check s3 --buckets docs,images --source-endpoint … --target-endpoint …',
      },
    );
  }
  if (buckets === undefined && (!src.bucket || !tgt.bucket)) {
    throw new UsageError(`--${src.bucket ? 'target' : 'source'} needs a bucket: s3://bucket[/prefix]`);
  }
  const sourceEndpoint = endpointFlag(flags.sourceEndpoint, '--source-endpoint');
  const targetEndpoint = endpointFlag(flags.targetEndpoint, '--target-endpoint') ?? sourceEndpoint;
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
  for (const name of ['SOURCE', 'TARGET']) registerSecret(process.env[`DRCTL_S3_${name}_SECRET_ACCESS_KEY`]);
  registerSecret(process.env.AWS_SECRET_ACCESS_KEY);
  return {
    kind: 's3',
    source: side(src, sourceEndpoint, flags.sourceRegion, flags.sourceProfile),
    target: side(
      tgt,
      targetEndpoint,
      flags.targetRegion ?? flags.sourceRegion,
      flags.targetProfile ?? flags.sourceProfile,
    ),
  };
}

export async function runCheckS3(flags: CheckS3Flags): Promise<void> {
  if (flags.json && flags.combined === '-') {
    throw new UsageError('--json and --combined - both want stdout', {
      hint: 'write the combined lines to a file: --combined s3-check.txt',
    });
  }
  const buckets = bucketsFlag(flags.buckets);
  const target = await resolveTarget(flags, buckets);
  const show = integerFlag(flags.show, '--show', 0, 1_000_000);
  const parsed = s3OptionsSchema.safeParse({
    ...(buckets === undefined ? {} : { buckets }),
    ...(flags.since === undefined ? {} : { since: flags.since }),
    download: flags.download === true,
    metadata: flags.metadata === true,
    requestTimeout: flags.requestTimeout,
    compareModTime: flags.modtime === true,
    concurrency: integerFlag(flags.concurrency, '--concurrency', 1, 64),
    ...(flags.combined === undefined ? {} : { combined: flags.combined }),
    maxFindings: Math.max(1000, show),
  });
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UsageError(`${first?.path.join('.') ?? 'options'}: ${first?.message ?? 'invalid'}`);
  }
  const { s3Checker } = await import('../../../checkers/s3/index.js');
  const sig = abortOnSigint();
  // Differences stream to stdout as found, unless stdout carries JSON or the combined lines.
  const streamFindings = !flags.json && flags.combined !== '-';
  let printed = 0;
  const onFinding = (f: Finding) => {
    if (!streamFindings || printed >= show || f.severity === 'warning') return;
    printed++;
    printLine(redact(`${SYMBOL[f.kind] ?? '!'} ${f.object}  (${f.message})`));
  };
  let result: CheckResult;
  try {
    result = await s3Checker.run(target, parsed.data, {
      signal: sig.signal,
      progress: () => undefined,
      onFinding,
    });
  } catch (err) {
    if (sig.signal.aborted)
      throw new DrctlError('interrupted', { exitCode: ExitCode.interrupted, cause: err });
    throw err;
  } finally {
    sig.dispose();
  }
  if (flags.json) printCheckJson(result);
  else printSummary(result, printed, flags.combined === '-');
  process.exitCode = exitCodeForCheck(result);
}

interface BucketEvidence {
  source: { endpoint: string; bucket: string; prefix: string; exists: boolean };
  target: { endpoint: string; bucket: string; prefix: string; exists: boolean };
  sourceObjects: number;
  targetObjects: number;
  sourceBytes: number;
  targetBytes: number;
  same: number;
  missing: number;
  extra: number;
  different: number;
  unverified: number;
  errors: number;
  durationMs: number;
}

function printSummary(result: CheckResult, printed: number, toStderr: boolean): void {
  const out = (line = '') => (toStderr ? process.stderr.write(line + '\n') : printLine(line));
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
  for (const f of result.findings) if (f.severity === 'warning') out(redact(`note: ${f.message}`));
  out(redact(`${result.status}: ${result.summary}`));
}
