import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { createS3Client, displayEndpoint, listPage } from '../../checkers/s3/client.js';
import { describeS3Error } from '../../checkers/s3/errors.js';
import type { S3Endpoint } from '../../checkers/s3/endpoint.js';
import type { Direction } from '../runbook/schema.js';
import type { ResourceUse } from './scope.js';
import { line, type Probe, type ProbeLine } from './types.js';

/** Keys counted per side (pages of 1,000): enough to tell "same order" without a full listing. */
export const S3_COUNT_CAP = 10_000;
/** Counts that differ by more than this fraction are a warning (replication behind?), never a proof. */
export const S3_COUNT_RATIO = 0.1;

type Side = 'source' | 'target';

interface SideResult {
  side: Side;
  lines: ProbeLine[];
  count?: number | undefined;
  capped?: boolean;
}

export function s3Probes(
  use: ResourceUse,
  r: { source: S3Endpoint; target: S3Endpoint },
  direction: Direction | undefined,
): Probe[] {
  const base = { group: use.name, kind: 's3', direction };
  const where = (ep: S3Endpoint) => `${displayEndpoint(ep.endpoint)}${ep.bucket ? `/${ep.bucket}` : ''}`;
  return [
    {
      key: `s3:${use.name}:${JSON.stringify(r)}`,
      group: use.name,
      kind: 's3',
      item: `${where(r.source)} vs ${where(r.target)}`,
      resource: use.name,
      direction,
      timeoutFix: `check that both S3 endpoints of ${use.name} are up and reachable, or raise --timeout`,
      run: async ({ signal, timeoutMs }) => {
        const sides = await Promise.all(
          (['source', 'target'] as const).map((side) => probeSide(side, r[side], base, signal, timeoutMs)),
        );
        const out = sides.flatMap((s) => s.lines);
        const [a, b] = sides as [SideResult, SideResult];
        if (a.count !== undefined && b.count !== undefined) {
          const fmt = (s: SideResult) => `${s.count}${s.capped ? '+' : ''}`;
          const hi = Math.max(a.count, b.count);
          const off = hi === 0 ? 0 : Math.abs(a.count - b.count) / hi;
          out.push(
            (a.capped && b.capped) || off <= S3_COUNT_RATIO
              ? line(
                  base,
                  'object counts',
                  'ok',
                  `source ${fmt(a)}, target ${fmt(b)} objects (same order; the gate compares every key)`,
                )
              : line(
                  base,
                  'object counts',
                  'warning',
                  `source ${fmt(a)}, target ${fmt(b)} objects: off by ${Math.round(off * 100)}% (replication behind or a wrong bucket?)`,
                  'check the bucket replication (radosgw-admin sync status) before the night; the gate will name every missing key',
                ),
          );
        }
        return out;
      },
    },
  ];
}

async function probeSide(
  side: Side,
  ep: S3Endpoint,
  base: { group: string; kind: string; direction: Direction | undefined },
  signal: AbortSignal,
  timeoutMs: number,
): Promise<SideResult> {
  const client = createS3Client(ep, side, 4, timeoutMs);
  try {
    if (!ep.bucket) {
      const res = await client.send(new ListBucketsCommand({}), { abortSignal: signal });
      return {
        side,
        lines: [
          line(base, `${side} buckets`, 'ok', `credentials work; ${res.Buckets?.length ?? 0} buckets listed`),
        ],
      };
    }
    let count = 0;
    let after: string | undefined;
    for (;;) {
      const page = await listPage(client, ep.bucket, ep.prefix ?? '', after, signal);
      count += page.objects.length;
      if (!page.isTruncated || page.objects.length === 0 || count >= S3_COUNT_CAP) {
        const capped = page.isTruncated && count >= S3_COUNT_CAP;
        return {
          side,
          count,
          capped,
          lines: [
            line(
              base,
              `${side} bucket ${ep.bucket}`,
              'ok',
              `credentials work, bucket listable: ${count}${capped ? '+' : ''} objects`,
            ),
          ],
        };
      }
      after = page.objects[page.objects.length - 1]!.name;
    }
  } catch (err) {
    if (signal.aborted) throw err;
    const e = describeS3Error(err, { side, endpoint: displayEndpoint(ep.endpoint), bucket: ep.bucket });
    const missing = /NoSuchBucket|does not exist|404/.test(
      `${(err as { name?: string }).name ?? ''} ${e.message}`,
    );
    return {
      side,
      lines: [
        line(
          base,
          `${side} bucket ${ep.bucket ?? ''}`.trim(),
          'fail',
          missing
            ? `bucket ${ep.bucket} does not exist on the ${side} (${displayEndpoint(ep.endpoint)})`
            : e.message,
          missing
            ? `create the bucket (and its replication) on the ${side}, or fix resources.${base.group}.${side}.bucket`
            : (e.hint ?? 'check the endpoint and credentials'),
        ),
      ],
    };
  } finally {
    client.destroy();
  }
}
