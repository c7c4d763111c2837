import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface ContentHash {
  sha256: string;
  bytes: number;
}

/** Streams one object and hashes it (SHA-256); memory stays at one chunk. */
export async function hashObject(
  client: S3Client,
  bucket: string,
  key: string,
  signal: AbortSignal,
): Promise<ContentHash> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  const hash = createHash('sha256');
  let bytes = 0;
  const body = res.Body as AsyncIterable<Uint8Array> | undefined;
  if (body) {
    for await (const chunk of body) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  }
  return { sha256: hash.digest('hex'), bytes };
}
