import type { CheckContext } from '../types.js';
import { diffPaths } from './canonical.js';
import type { EsClient } from './client.js';
import type { ClusterInfo } from './detect.js';
import type { FindingLog } from './findings.js';
import { countDocs, diffMappings, diffSettings, type IndexMeta } from './index-meta.js';
import { mergeSorted, ScanOrderError, type MergeSink } from './merge.js';
import type { EsOptions } from './options.js';
import { readReplicationStatus, type ReplicationStatus } from './replication.js';
import { scanSorted, type DocEntry, type ScanMethod, type ScanOptions } from './scan.js';

export interface Side {
  client: EsClient;
  info: ClusterInfo;
}

export interface IndexEvidence {
  index: string;
  countSource?: number;
  countTarget?: number;
  scanned?: { source: number; target: number };
  scanMethod?: { source?: ScanMethod; target?: ScanMethod };
  missing?: number;
  extra?: number;
  different?: number;
  unverified?: number;
  replication?: ReplicationStatus;
  note?: string;
}

export type Counts = Record<
  | 'indices'
  | 'indicesMissing'
  | 'indicesExtra'
  | 'countSource'
  | 'countTarget'
  | 'docsSource'
  | 'docsTarget'
  | 'matched'
  | 'missing'
  | 'extra'
  | 'different'
  | 'unverified'
  | 'mappingDiffs'
  | 'settingsDiffs',
  number
>;

/**
 * One index present on both sides: mapping and settings diff, replication checkpoints, counts,
 * then the document-by-document merge-join. Adds to `counts` and `log`; returns the evidence.
 */
export async function checkIndex(
  index: string,
  meta: { source: IndexMeta; target: IndexMeta },
  source: Side,
  dest: Side,
  options: EsOptions,
  query: Record<string, unknown>,
  sortField: string,
  counts: Counts,
  log: FindingLog,
  ctx: CheckContext,
): Promise<IndexEvidence> {
  const ev: IndexEvidence = { index, scanMethod: {} };
  const mappingDiff = diffMappings(meta.source.mappings, meta.target.mappings);
  if (mappingDiff.length > 0) {
    counts.mappingDiffs++;
    log.add({
      kind: 'mapping',
      severity: 'difference',
      object: index,
      message: `mappings differ at ${mappingDiff.slice(0, 5).join(', ')}`,
      details: { index, paths: mappingDiff },
    });
  }
  for (const d of diffSettings(meta.source.settings, meta.target.settings)) {
    counts.settingsDiffs++;
    log.add({
      kind: 'setting',
      severity: d.severity,
      object: `${index}/${d.key}`,
      message: `setting ${d.key}: source ${d.source ?? '(unset)'}, target ${d.target ?? '(unset)'}`,
      details: { index, ...d },
    });
  }
  const replication = await readReplicationStatus(dest.client, dest.info, index);
  if (replication) {
    ev.replication = replication;
    if (replication.lag > 0) {
      log.add({
        kind: 'replication-lag',
        severity: 'warning',
        object: index,
        message: `follower checkpoint ${replication.followerCheckpoint} is ${replication.lag} behind the leader ${replication.leaderCheckpoint}`,
        details: { index, ...replication },
      });
    }
  }

  const [cs, ct] = await Promise.all([
    countDocs(source.client, index, query),
    countDocs(dest.client, index, query),
  ]);
  ev.countSource = cs;
  ev.countTarget = ct;
  counts.countSource += cs;
  counts.countTarget += ct;

  const local = { source: 0, target: 0, missing: 0, extra: 0, different: 0, unverified: 0 };
  const object = (e: DocEntry) => `${index}/${e.id}`;
  const sink: MergeSink = {
    match() {
      counts.matched++;
      local.source++;
      local.target++;
    },
    different(a, b) {
      local.source++;
      local.target++;
      local.different++;
      const fields = options.showFields ? diffPaths(a.source, b.source) : undefined;
      log.add({
        kind: 'different',
        severity: 'difference',
        object: object(a),
        message: fields ? `_source differs in ${fields.join(', ')}` : '_source differs',
        details: {
          index,
          id: a.id,
          ...(a.id === b.id ? {} : { targetId: b.id }),
          ...(fields ? { fields } : {}),
        },
      });
    },
    missing(a) {
      local.source++;
      local.missing++;
      log.add({
        kind: 'missing',
        severity: 'difference',
        object: object(a),
        message: 'on the source, not on the target',
        details: { index, id: a.id, ...(sortField === '_id' ? {} : { key: a.key }) },
      });
    },
    extra(b) {
      local.target++;
      local.extra++;
      log.add({
        kind: 'extra',
        severity: 'difference',
        object: object(b),
        message: 'on the target, not on the source',
        details: { index, id: b.id, ...(sortField === '_id' ? {} : { key: b.key }) },
      });
    },
    unverified(e, side, reason) {
      local[side]++;
      local.unverified++;
      log.add({
        kind: 'unverified',
        severity: 'unverified',
        object: object(e),
        message:
          reason === 'no-id-field'
            ? `has no ${sortField} on the ${side}; cannot be matched`
            : `${sortField} ${e.key ?? ''} occurs more than once on the ${side}; cannot be matched`,
        details: { index, id: e.id, side, reason },
      });
    },
  };

  const scanOpts: ScanOptions = {
    method: options.scan,
    index,
    query,
    sortField,
    batchSize: options.batchSize,
    keepAlive: options.keepAlive,
    keepSource: options.showFields,
  };
  let lastProgress = 0;
  const withProgress = async function* (pages: AsyncIterable<DocEntry[]>) {
    for await (const page of pages) {
      yield page;
      const now = Date.now();
      if (now - lastProgress > 1000) {
        lastProgress = now;
        ctx.progress({ phase: 'scan', object: index, done: local.source, total: cs });
      }
    }
  };
  try {
    await mergeSorted(
      withProgress(scanSorted(source.client, source.info, scanOpts, (m) => (ev.scanMethod!.source = m))),
      scanSorted(dest.client, dest.info, scanOpts, (m) => (ev.scanMethod!.target = m)),
      sink,
    );
  } catch (err) {
    if (!(err instanceof ScanOrderError)) throw err;
    local.unverified++;
    log.add({
      kind: 'scan-order',
      severity: 'unverified',
      object: index,
      message: `index ${index} could not be compared: ${err.message}`,
      details: { index, side: err.side },
    });
  }
  ctx.progress({ phase: 'scan', object: index, done: local.source, total: cs });

  counts.docsSource += local.source;
  counts.docsTarget += local.target;
  counts.missing += local.missing;
  counts.extra += local.extra;
  counts.different += local.different;
  counts.unverified += local.unverified;
  ev.scanned = { source: local.source, target: local.target };
  ev.missing = local.missing;
  ev.extra = local.extra;
  ev.different = local.different;
  ev.unverified = local.unverified;

  if (cs !== local.source || ct !== local.target) {
    // Writes landed between _count and the point in time: the scan is the judgement, the
    // counts are only evidence, but say so rather than hide it.
    log.add({
      kind: 'count-moved',
      severity: 'warning',
      object: index,
      message: `documents changed during the check: _count source ${cs}, target ${ct}; scanned source ${local.source}, target ${local.target}`,
      details: { index, countSource: cs, countTarget: ct, ...ev.scanned },
    });
  } else if (cs !== ct && local.missing + local.extra === 0) {
    log.add({
      kind: 'count',
      severity: 'unverified',
      object: index,
      message: `_count differs (source ${cs}, target ${ct}) but the scan found no missing or extra document`,
      details: { index, countSource: cs, countTarget: ct },
    });
  }
  return ev;
}
