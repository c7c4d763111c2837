import { UsageError } from '../../shared/errors.js';

export interface S3Location {
  bucket?: string | undefined;
  /** Key prefix without a leading slash; '' when none. */
  prefix: string;
}

// S3 bucket names, plus what Ceph RGW accepts with relaxed names (upper case, underscores).
const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

/** Parses `s3://bucket[/prefix]`; `s3://` alone means "no bucket" (for --buckets). */
export function parseS3Url(text: string, label: string): S3Location {
  const hint = `expected s3://bucket or s3://bucket/prefix/, e.g. --${label} s3://documents/2024/`;
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(text.trim());
  if (!m) throw new UsageError(`--${label} ${JSON.stringify(text)} is not an s3:// URL`, { hint });
  const bucket = m[1] ?? '';
  const prefix = m[2] ?? '';
  if (bucket === '') {
    if (prefix !== '')
      throw new UsageError(`--${label} ${JSON.stringify(text)} has a prefix but no bucket`, { hint });
    return { prefix: '' };
  }
  if (!BUCKET_RE.test(bucket)) {
    throw new UsageError(
      `--${label} ${JSON.stringify(text)}: ${JSON.stringify(bucket)} is not a valid bucket name`,
      {
        hint,
      },
    );
  }
  return { bucket, prefix };
}
