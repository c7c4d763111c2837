import { ConnectionError } from '../../shared/errors.js';
import type { EsClient } from './client.js';
import type { ClusterInfo } from './detect.js';
import { encodeIndex } from './scan.js';

/** Leader/follower checkpoints of a self-replicating cluster, when there is one. */
export interface ReplicationStatus {
  mechanism: 'ccr' | 'opensearch-replication';
  status?: string;
  leaderCheckpoint: number;
  followerCheckpoint: number;
  lag: number;
}

/**
 * Best effort: Elasticsearch CCR (`<index>/_ccr/stats`) or the OpenSearch replication plugin
 * (`_plugins/_replication/<index>/_status`), asked on the DR (follower) side. Absent plugins,
 * missing licences and non-follower indices all mean "no status", never an error.
 */
export async function readReplicationStatus(
  follower: EsClient,
  info: ClusterInfo,
  index: string,
): Promise<ReplicationStatus | undefined> {
  try {
    return info.distribution === 'opensearch'
      ? await readOpenSearch(follower, index)
      : await readCcr(follower, index);
  } catch (err) {
    // A frozen or lost node is not "no replication": let it end the check.
    if (err instanceof ConnectionError || follower.aborted) throw err;
    return undefined;
  }
}

async function readOpenSearch(client: EsClient, index: string): Promise<ReplicationStatus | undefined> {
  const res = await client.send('GET', `/_plugins/_replication/${encodeIndex(index)}/_status`);
  if (!res.ok) return undefined;
  const body = JSON.parse(res.text) as {
    status?: string;
    syncing_details?: { leader_checkpoint?: number; follower_checkpoint?: number };
  };
  const d = body.syncing_details;
  if (d?.leader_checkpoint === undefined || d.follower_checkpoint === undefined) return undefined;
  return {
    mechanism: 'opensearch-replication',
    ...(body.status ? { status: body.status } : {}),
    leaderCheckpoint: d.leader_checkpoint,
    followerCheckpoint: d.follower_checkpoint,
    lag: d.leader_checkpoint - d.follower_checkpoint,
  };
}

async function readCcr(client: EsClient, index: string): Promise<ReplicationStatus | undefined> {
  const res = await client.send('GET', `/${encodeIndex(index)}/_ccr/stats`);
  if (!res.ok) return undefined;
  const body = JSON.parse(res.text) as {
    indices?: { shards?: { leader_global_checkpoint?: number; follower_global_checkpoint?: number }[] }[];
  };
  const shards = body.indices?.[0]?.shards ?? [];
  if (shards.length === 0) return undefined;
  const leader = shards.reduce((s, x) => s + (x.leader_global_checkpoint ?? 0), 0);
  const follower = shards.reduce((s, x) => s + (x.follower_global_checkpoint ?? 0), 0);
  return { mechanism: 'ccr', leaderCheckpoint: leader, followerCheckpoint: follower, lag: leader - follower };
}
