import type { EsClient } from './client.js';

export type Distribution = 'elasticsearch' | 'opensearch';

export interface ClusterInfo {
  distribution: Distribution;
  version: string;
  major: number;
  minor: number;
  /** `default`/`oss` on Elasticsearch 7; undefined elsewhere. */
  buildFlavor: string | undefined;
  clusterName: string | undefined;
}

interface RootInfo {
  cluster_name?: string;
  version?: { number?: string; distribution?: string; build_flavor?: string };
}

/**
 * Which server and version from `GET /`. Elasticsearch 8.10+ serves `/` from the rest-root
 * module, which minimal distributions lack: then node info and Elastic's product header decide.
 */
export async function detectCluster(client: EsClient): Promise<ClusterInfo> {
  const res = await client.send('GET', '/');
  const text = res.text;
  if (res.status === 401 || res.status === 403) throw client.httpError('GET', '/', res.status, text);
  if (res.ok) {
    const root = JSON.parse(text) as RootInfo;
    const version = root.version?.number ?? '0.0.0';
    return build(
      root.version?.distribution === 'opensearch' ? 'opensearch' : 'elasticsearch',
      version,
      root.version?.build_flavor,
      root.cluster_name,
    );
  }
  const nodesRes = await client.send(
    'GET',
    '/_nodes/_local?filter_path=cluster_name,nodes.*.version,nodes.*.build_flavor',
  );
  const nodesText = nodesRes.text;
  if (!nodesRes.ok) throw client.httpError('GET', '/_nodes/_local', nodesRes.status, nodesText);
  const nodes = JSON.parse(nodesText) as {
    cluster_name?: string;
    nodes?: Record<string, { version?: string; build_flavor?: string }>;
  };
  const node = Object.values(nodes.nodes ?? {})[0];
  const elastic =
    res.headers.get('x-elastic-product') !== null || nodesRes.headers.get('x-elastic-product') !== null;
  return build(
    elastic || node?.build_flavor !== undefined ? 'elasticsearch' : 'opensearch',
    node?.version ?? '0.0.0',
    node?.build_flavor,
    nodes.cluster_name,
  );
}

function build(
  distribution: Distribution,
  version: string,
  buildFlavor: string | undefined,
  clusterName: string | undefined,
): ClusterInfo {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  return { distribution, version, major, minor, buildFlavor, clusterName };
}

/**
 * Point-in-time search exists from Elasticsearch 7.10 (7.17's OSS build has it too) and
 * OpenSearch 2.4; older servers use a sorted scroll. A refused PIT open also falls back (scan.ts).
 */
export function supportsPit(info: ClusterInfo): boolean {
  if (info.distribution === 'opensearch') return info.major > 2 || (info.major === 2 && info.minor >= 4);
  return info.major > 7 || (info.major === 7 && info.minor >= 10);
}
