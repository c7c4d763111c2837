import { z } from 'zod';

/** One side of an s3 resource (runbook) and what the checker connects to: one declaration. */
export const s3EndpointSchema = z.strictObject({
  /** e.g. http://127.0.0.1:7480; undefined means AWS default resolution. */
  endpoint: z.string().optional(),
  region: z.string().optional(),
  bucket: z.string().optional(),
  prefix: z.string().optional(),
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
  profile: z.string().optional(),
  /** Path-style addressing (Ceph RGW); default true. */
  forcePathStyle: z.boolean().optional(),
});

export type S3Endpoint = z.infer<typeof s3EndpointSchema>;

/** The environment variables a side's static credentials come from (read by the client). */
export const CREDENTIAL_ENV = {
  source: { id: 'DRCTL_S3_SOURCE_ACCESS_KEY_ID', secret: 'DRCTL_S3_SOURCE_SECRET_ACCESS_KEY' },
  target: { id: 'DRCTL_S3_TARGET_ACCESS_KEY_ID', secret: 'DRCTL_S3_TARGET_SECRET_ACCESS_KEY' },
} as const;
