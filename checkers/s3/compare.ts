import type { ListedObject } from './list-xml.js';

/** rclone check --combined symbols: = same, + only source, - only target, * different, ? unverified, ! error. */
export type Verdict = '=' | '+' | '-' | '*' | '?' | '!';

export interface Comparison {
  verdict: Verdict;
  /** Why, for anything but `=`: `size 10 vs 12`, `etag …`, `multipart etag not comparable`. */
  reason?: string;
  /** The ETags cannot be compared; --download can settle it by hashing both copies. */
  needsContent?: boolean;
}

const MULTIPART_RE = /-(\d+)$/;
const SAME: Comparison = { verdict: '=' };

export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}

/** Number of parts of a multipart ETag (`…-N`), or undefined for a plain MD5 ETag. */
export function multipartParts(etag: string): number | undefined {
  const m = MULTIPART_RE.exec(normalizeEtag(etag));
  return m ? Number(m[1]) : undefined;
}

/**
 * Compares one key present on both sides by size and ETag. A plain ETag is the MD5 of the
 * content; a multipart ETag (`…-N`) is the MD5 of the parts' MD5s, so it is only comparable with
 * another multipart ETag of the same part layout. We only see the part count, so differing
 * multipart ETags stay unverified (the part sizes may differ), as does multipart vs single part.
 */
export function compareObjects(src: ListedObject, tgt: ListedObject, compareModTime = false): Comparison {
  // The common case, without any parsing: same size, same plain (non-multipart) ETag.
  if (
    !compareModTime &&
    src.size === tgt.size &&
    src.etag === tgt.etag &&
    src.etag.length > 2 &&
    !src.etag.includes('-')
  ) {
    return SAME;
  }
  if (src.size !== tgt.size) return { verdict: '*', reason: `size ${src.size} vs ${tgt.size}` };
  const a = normalizeEtag(src.etag);
  const b = normalizeEtag(tgt.etag);
  const pa = multipartParts(a);
  const pb = multipartParts(b);
  if (compareModTime && Date.parse(src.lastModified) !== Date.parse(tgt.lastModified)) {
    return { verdict: '*', reason: `last modified ${src.lastModified} vs ${tgt.lastModified}` };
  }
  if (a === '' || b === '') return { verdict: '?', reason: 'no ETag listed', needsContent: true };
  if (pa === undefined && pb === undefined) {
    return a === b ? { verdict: '=' } : { verdict: '*', reason: `etag ${a} vs ${b}` };
  }
  if (a === b) return { verdict: '=' };
  if (pa !== undefined && pb !== undefined && pa === pb) {
    return {
      verdict: '?',
      reason: `multipart etags differ (${pa} parts each; part sizes may differ)`,
      needsContent: true,
    };
  }
  const layout = (p: number | undefined) => (p === undefined ? 'single part' : `${p} parts`);
  return {
    verdict: '?',
    reason: `etags not comparable (${layout(pa)} vs ${layout(pb)})`,
    needsContent: true,
  };
}
