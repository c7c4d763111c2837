import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { runS3Check, type S3CheckOptions } from '../../checkers/s3/index.js';
import type { CheckResult, S3Endpoint } from '../../checkers/types.js';
import type { CephCluster } from '../harness/ceph.js';

/** Shared by the s3 corpus, differential and fault tests: one lab client and object writers. */

/** Part size for multipart uploads in tests: the harness lowers RGW's 5 MiB minimum to this. */
export const PART = 1024;

/** A well-known MD5 collision (128 bytes each, equal MD5, different bytes). */
export const MD5_COLLISION = [
  'd131dd02c5e6eec4693d9a0698aff95c2fcab58712467eab4004583eb8fb7f8955ad340609f4b30283e488832571415a085125e8f7cdc99fd91dbdf280373c5bd8823e3156348f5bae6dacd436c919c6dd53e2b487da03fd02396306d248cda0e99f33420f577ee8ce54b67080a80d1ec69821bcb6a8839396f9652b6ff72a70',
  'd131dd02c5e6eec4693d9a0698aff95c2fcab50712467eab4004583eb8fb7f8955ad340609f4b30283e4888325f1415a085125e8f7cdc99fd91dbd7280373c5bd8823e3156348f5bae6dacd436c919c6dd53e23487da03fd02396306d248cda0e99f33420f577ee8ce54b67080280d1ec69821bcb6a8839396f965ab6ff72a70',
].map((hex) => Buffer.from(hex, 'hex')) as [Buffer, Buffer];

export interface PutOptions {
  contentType?: string;
  contentEncoding?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
  /** Upload in parts of these sizes (the last may be smaller than PART). */
  parts?: number[];
}

export class Lab {
  readonly s3: S3Client;
  constructor(readonly ceph: CephCluster) {
    this.s3 = new S3Client({
      endpoint: ceph.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async buckets(...names: string[]): Promise<void> {
    for (const b of names) await this.s3.send(new CreateBucketCommand({ Bucket: b }));
  }

  async put(bucket: string, key: string, body: Buffer | string, o: PutOptions = {}): Promise<void> {
    const data = Buffer.from(body);
    const common = {
      Bucket: bucket,
      Key: key,
      ContentType: o.contentType,
      ContentEncoding: o.contentEncoding,
      CacheControl: o.cacheControl,
      Metadata: o.metadata,
    };
    if (o.parts) {
      if (o.parts.reduce((a, b) => a + b, 0) !== data.length)
        throw new Error(`parts do not add up for ${key}`);
      const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand(common));
      const done: { ETag: string; PartNumber: number }[] = [];
      let at = 0;
      for (const [i, n] of o.parts.entries()) {
        const r = await this.s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId,
            PartNumber: i + 1,
            Body: data.subarray(at, at + n),
          }),
        );
        at += n;
        done.push({ ETag: r.ETag!, PartNumber: i + 1 });
      }
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: done },
        }),
      );
    } else {
      await this.s3.send(new PutObjectCommand({ ...common, Body: data }));
    }
    if (o.tags) {
      await this.s3.send(
        new PutObjectTaggingCommand({
          Bucket: bucket,
          Key: key,
          Tagging: { TagSet: Object.entries(o.tags).map(([Key, Value]) => ({ Key, Value })) },
        }),
      );
    }
  }

  async tag(bucket: string, key: string, tags: Record<string, string>): Promise<void> {
    await this.s3.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: key,
        Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      }),
    );
  }

  async remove(bucket: string, key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  endpoint(bucket: string, prefix = ''): S3Endpoint {
    return {
      endpoint: this.ceph.endpoint,
      bucket,
      prefix,
      accessKeyId: this.ceph.accessKeyId,
      secretAccessKey: this.ceph.secretAccessKey,
    };
  }

  check(
    source: S3Endpoint,
    target: S3Endpoint,
    options: Partial<S3CheckOptions> = {},
    signal = new AbortController().signal,
  ): Promise<CheckResult> {
    return runS3Check(
      { kind: 's3', source, target },
      {
        download: false,
        metadata: false,
        requestTimeout: '30s',
        compareModTime: false,
        concurrency: 8,
        maxFindings: 100_000,
        ...options,
      },
      { signal, progress: () => undefined },
    );
  }

  destroy(): void {
    this.s3.destroy();
  }
}

/** Runs `tasks` with at most `n` at once. */
export async function inParallel(n: number, tasks: Array<() => Promise<unknown>>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, tasks.length) }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}

/** Every non-`=` key of a result as `symbol key` (relative key; bucket/key with several buckets). */
export function verdictLines(r: CheckResult): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of r.findings) {
    if (f.severity === 'warning') continue;
    const d = f.details as { symbol: string; key: string };
    m.set(d.key, d.symbol);
  }
  return m;
}

/** The `--combined` file as key → symbol (keys with a line break are written JSON-quoted). */
export function readCombined(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const sym = line[0]!;
    let name = line.slice(2);
    if (name.startsWith('"')) {
      try {
        const parsed = JSON.parse(name) as unknown;
        if (typeof parsed === 'string' && /[\r\n]/.test(parsed)) name = parsed;
      } catch {
        /* a key that merely starts with a quote */
      }
    }
    if (m.has(name)) throw new Error(`key reported twice: ${JSON.stringify(name)}`);
    m.set(name, sym);
  }
  return m;
}
