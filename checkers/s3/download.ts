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
  touch: () => void = () => undefined,
): Promise<ContentHash> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  const hash = createHash('sha256');
  let bytes = 0;
  const body = res.Body as (AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void }) | undefined;
  if (body) {
    // An abort after the headers arrived must also end the body stream, not wait on it.
    const stop = () => body.destroy?.(new Error('aborted'));
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const chunk of body) {
        signal.throwIfAborted();
        touch();
        hash.update(chunk);
        bytes += chunk.length;
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
    signal.throwIfAborted();
  }
  return { sha256: hash.digest('hex'), bytes };
}
