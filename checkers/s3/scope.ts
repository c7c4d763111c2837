import type { Finding } from '../types.js';
import type { S3CheckOptions } from './options.js';

/** What a run compared and what it did not: kept in the evidence, warned about in the findings. */
export interface CheckScope {
  /** One phrase for the summary: how `same` was established. */
  basis: string;
  compared: string[];
  /** One warning per thing a reader might assume was compared but was not. */
  warnings: Finding[];
}

const ETAG_PROOF =
  'equal single-part ETags are equal MD5s of the content: they rule out accidental change, not a ' +
  'crafted MD5 collision, and SSE-C/SSE-KMS ETags are not MD5s at all; a multipart ETag (…-N) is ' +
  "the MD5 of the parts' MD5s and only matches the same part layout (otherwise unverified)";

const NEVER =
  'ACLs, object lock / legal hold, storage class, encryption settings, noncurrent versions and ' +
  'bucket configuration (policy, lifecycle, versioning, replication) are never compared';

function warning(kind: string, message: string): Finding {
  return { kind, severity: 'warning', object: '(scope)', message };
}

export function describeScope(
  options: Pick<S3CheckOptions, 'download' | 'metadata' | 'compareModTime'>,
  since: Date | undefined,
  skippedOlder: number,
): CheckScope {
  const compared = ['presence of every key (on both sides, whatever --since)', 'size'];
  const warnings: Finding[] = [];
  if (options.download) {
    compared.push('content: SHA-256 of both copies (ETags not trusted)');
  } else {
    compared.push(`ETag: ${ETAG_PROOF}`);
    warnings.push(
      warning(
        'content-not-downloaded',
        `content compared by ETag, not downloaded: ${ETAG_PROOF}; --download compares SHA-256 of both copies`,
      ),
    );
  }
  if (options.metadata) {
    compared.push(
      'Content-Type, Content-Encoding, Content-Disposition, Content-Language, Cache-Control, Expires, ' +
        'x-amz-website-redirect-location, user metadata (x-amz-meta-*), tags',
    );
  } else {
    warnings.push(
      warning(
        'metadata-not-compared',
        'metadata not compared: Content-Type, Content-Encoding, Cache-Control, user metadata (x-amz-meta-*) ' +
          'and tags may differ; --metadata compares them (one HEAD + one tagging request per object per side)',
      ),
    );
  }
  if (options.compareModTime) compared.push('LastModified');
  if (since) {
    warnings.push(
      warning(
        'window',
        `--since ${since.toISOString()}: ${skippedOlder.toLocaleString('en-US')} object(s) present on both ` +
          'sides and modified on neither since then: their content was not compared (presence was, for every key)' +
          (options.metadata
            ? '; a tag-only change does not update LastModified, so it is not seen inside a window'
            : ''),
      ),
    );
  }
  warnings.push(warning('not-compared', NEVER));
  const basis = options.download ? 'by SHA-256' : 'by size + ETag';
  return { basis: options.metadata ? `${basis} + metadata` : basis, compared, warnings };
}
