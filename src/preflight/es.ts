import { EsClient } from '../../checkers/es/client.js';
import type { EsEndpoint } from '../../checkers/es/endpoint.js';
import type { Direction } from '../runbook/schema.js';
import type { ResourceUse } from './scope.js';
import { line, type Probe, type ProbeLine } from './types.js';

/** Doc counts that differ by more than this fraction are a warning, never a proof. */
export const ES_COUNT_RATIO = 0.1;

type Side = 'source' | 'target';

export function esProbes(
  use: ResourceUse,
  r: { source: EsEndpoint; target: EsEndpoint },
  direction: Direction | undefined,
): Probe[] {
  const base = { group: use.name, kind: 'es', direction };
  const indices = [...use.objects].sort();
  return [
    {
      key: `es:${use.name}:${r.source.url}:${r.target.url}:${indices.join(',')}`,
      group: use.name,
      kind: 'es',
      item: 'clusters',
      resource: use.name,
      direction,
      timeoutFix: `check that both clusters of ${use.name} are up and reachable, or raise --timeout`,
      run: async ({ signal, timeoutMs }) => {
        const sides = await Promise.all(
          (['source', 'target'] as const).map((side) =>
            probeCluster(new EsClient(side, r[side], signal, timeoutMs), side, indices, base),
          ),
        );
        const out = sides.flatMap((s) => s.lines);
        for (const index of indices) {
          const [a, b] = [sides[0]!.counts.get(index), sides[1]!.counts.get(index)];
          if (a === undefined || b === undefined) continue;
          const hi = Math.max(a, b);
          const off = hi === 0 ? 0 : Math.abs(a - b) / hi;
          out.push(
            off <= ES_COUNT_RATIO
              ? line(base, `index ${index}`, 'ok', `docs: source ${a}, target ${b}`)
              : line(
                  base,
                  `index ${index}`,
                  'warning',
                  `docs: source ${a}, target ${b} (off by ${Math.round(off * 100)}%: replication behind?)`,
                  'check the index replication (CCR / replication plugin status); the gate compares every document',
                ),
          );
        }
        return out;
      },
    },
  ];
}

async function probeCluster(
  client: EsClient,
  side: Side,
  indices: string[],
  base: { group: string; kind: string; direction: Direction | undefined },
): Promise<{ lines: ProbeLine[]; counts: Map<string, number> }> {
  const counts = new Map<string, number>();
  const lines: ProbeLine[] = [];
  try {
    const root = await client.request<{ version?: { number?: string; distribution?: string } }>('GET', '/');
    const health = await client.request<{ status?: string; number_of_nodes?: number }>(
      'GET',
      '/_cluster/health',
    );
    const version = `${root.version?.distribution ?? 'elasticsearch'} ${root.version?.number ?? '?'}`;
    const status = health.status ?? 'unknown';
    lines.push(
      status === 'red'
        ? line(
            base,
            `${side} cluster`,
            'fail',
            `${client.display}: ${version}, health RED`,
            'find the unassigned primary shards (GET _cluster/allocation/explain) before the night',
          )
        : status === 'yellow'
          ? line(
              base,
              `${side} cluster`,
              'warning',
              `${client.display}: ${version}, health yellow (replica shards unassigned)`,
              'add a node or set the replica count the cluster can hold',
            )
          : line(base, `${side} cluster`, 'ok', `${client.display}: ${version}, health ${status}`),
    );
    const missing: string[] = [];
    for (const index of indices) {
      const res = await client.send('GET', `/${encodeURIComponent(index)}/_count`);
      if (res.status === 404) missing.push(index);
      else if (!res.ok) throw client.httpError('GET', `/${index}/_count`, res.status, res.text);
      else counts.set(index, Number((JSON.parse(res.text) as { count?: number }).count ?? 0));
    }
    if (missing.length > 0)
      lines.push(
        line(
          base,
          `${side} indices`,
          'fail',
          `index${missing.length === 1 ? '' : 'es'} ${missing.join(', ')} missing on the ${side} (${client.display})`,
          `create or restore ${missing.join(', ')} on the ${side} (and its replication), or fix the gate's index:`,
        ),
      );
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    lines.push(
      line(base, `${side} cluster`, 'fail', e.message ?? String(err), e.hint ?? `check the ${side} URL`),
    );
  }
  return { lines, counts };
}
