import { GetObjectTaggingCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * What `--metadata` compares per object: the headers a client gets back with the object, the
 * user metadata (x-amz-meta-*) and the tags. Not compared: ACLs, object lock / legal hold,
 * storage class, encryption settings, versions (see docs/checkers/s3.md).
 */
export interface ObjectMetadata {
  headers: Record<string, string>;
  /** x-amz-meta-* without the prefix; names are case-insensitive on the wire, so lowercased. */
  user: Record<string, string>;
  /** Tags by key. */
  tags: Record<string, string>;
}

/** The compared headers, in the order differences are reported. */
export const COMPARED_HEADERS = [
  'content-type',
  'content-encoding',
  'content-disposition',
  'content-language',
  'cache-control',
  'expires',
  'website-redirect-location',
] as const;

// No prototype: a tag or metadata name such as `__proto__` must stay an ordinary entry.
const record = () => Object.create(null) as Record<string, string>;

/** One HEAD and one GetObjectTagging: the metadata of `key` as compared. */
export async function readMetadata(
  client: S3Client,
  bucket: string,
  key: string,
  signal: AbortSignal,
): Promise<ObjectMetadata> {
  const [head, tagging] = await Promise.all([
    client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
    client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
  ]);
  const raw: Record<(typeof COMPARED_HEADERS)[number], string | undefined> = {
    'content-type': head.ContentType,
    'content-encoding': head.ContentEncoding,
    'content-disposition': head.ContentDisposition,
    'content-language': head.ContentLanguage,
    'cache-control': head.CacheControl,
    // The header text as sent, not the SDK's Date (which would drop what it cannot parse).
    expires: head.ExpiresString ?? head.Expires?.toUTCString(),
    'website-redirect-location': head.WebsiteRedirectLocation,
  };
  const headers = record();
  for (const h of COMPARED_HEADERS) if (raw[h] !== undefined) headers[h] = raw[h];
  const user = record();
  for (const [k, v] of Object.entries(head.Metadata ?? {})) user[k.toLowerCase()] = v;
  const tags = record();
  for (const t of tagging.TagSet ?? []) tags[t.Key ?? ''] = t.Value ?? '';
  return { headers, user, tags };
}

const show = (v: string | undefined) => (v === undefined ? '(none)' : JSON.stringify(v));

function diffRecord(what: string, a: Record<string, string>, b: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.filter((n) => a[n] !== b[n]).map((n) => `${what}${n} ${show(a[n])} vs ${show(b[n])}`);
}

/** The differences between two objects' metadata, one phrase each; empty when equal. */
export function diffMetadata(a: ObjectMetadata, b: ObjectMetadata): string[] {
  return [
    ...diffRecord('', a.headers, b.headers),
    ...diffRecord('x-amz-meta-', a.user, b.user),
    ...diffRecord('tag ', a.tags, b.tags),
  ];
}
