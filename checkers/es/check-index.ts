import type { CheckContext } from '../types.js';
import type { EsClient } from './client.js';
import type { ClusterInfo } from './detect.js';
import type { FindingLog } from '../result.js';
import {
  countDocs,
  diffMappings,
  diffSettings,
  lookupField,
  pendingWrites,
  type IndexMeta,
} from './index-meta.js';
import { mergeSorted, ScanOrderError, type MergeSink } from './merge.js';
import type { EsOptions } from './options.js';
import { readReplicationStatus, type ReplicationStatus } from './replication.js';
import {
  KeyGroupTooLargeError,
  scanSorted,
  type DocEntry,
  type ScanMethod,
  type ScanOptions,
} from './scan.js';
import { joinStreams } from './hash-join.js';
import { indexOrderMethod, scanIndexOrder, type IndexOrderOptions } from './scan-index-order.js';
import { diffSourcePaths, FieldKinds } from './source-digest.js';
import { buildQuery } from './time-range.js';

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
  /** `hash`: both sides in index order, joined by `_id` and routing; `merge`: both sorted on the id field. */
  join?: 'hash' | 'merge';
  missing?: number;
  extra?: number;
  different?: number;
  unverified?: number;
  /** Incremental mode: ids compared outside the --since window (content not compared there). */
  outsideWindow?: { source: number; target: number };
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
  | 'settingsDiffs'
  | 'idsOutsideWindow',
  number
>;

/** The --since window as the checker was asked for it (undefined: full comparison). */
export interface Window {
  timeField: string;
  since: string | number;
}

/**
 * One index present on both sides: mapping and settings diff, replication checkpoints, what
 * could make the scan blind (no `_source`, excluded fields, refresh disabled or writes not yet
 * refreshed), counts, then the document-by-document merge-join. In incremental mode the
 * documents inside the window are compared in full and the ids outside it are compared too, so a
 * deletion or a stray document outside the window is never invisible. Adds to `counts` and
 * `log`; returns the evidence.
 */
export async function checkIndex(
  index: string,
  meta: { source: IndexMeta; target: IndexMeta },
  source: Side,
  dest: Side,
  options: EsOptions,
  window: Window | undefined,
  sortField: string,
  counts: Counts,
  log: FindingLog,
  ctx: CheckContext,
): Promise<IndexEvidence> {
  const ev: IndexEvidence = { index, scanMethod: {} };
  source.client.activity = `index ${index}`;
  dest.client.activity = `index ${index}`;
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

  const queryFor = (side: 'source' | 'target') =>
    buildQuery(
      window?.timeField,
      window?.since,
      window ? lookupField(meta[side].mappings, window.timeField)?.type : undefined,
    );
  const q = { source: queryFor('source'), target: queryFor('target') };
  const [cs, ct] = await Promise.all([
    countDocs(source.client, index, q.source.inside),
    countDocs(dest.client, index, q.target.inside),
  ]);
  ev.countSource = cs;
  ev.countTarget = ct;
  counts.countSource += cs;
  counts.countTarget += ct;

  // After the _count: a search wakes search-idle shards and waits for their refresh, so what is
  // still in the writer buffer now is what the scan cannot see.
  await reportBlindSpots(index, meta, source, dest, log);
  const withSource = sourceReadable(meta);
  const kinds = new FieldKinds(meta.source.mappings, meta.target.mappings);

  const local = { source: 0, target: 0, missing: 0, extra: 0, different: 0, unverified: 0 };
  let contentUnverified = 0;
  const object = (e: DocEntry) => `${index}/${e.id}`;
  const idOf = (e: DocEntry) => ({ id: e.id, ...(e.routing === undefined ? {} : { routing: e.routing }) });
  const sinkFor = (outside: boolean): MergeSink => ({
    match() {
      local.source++;
      local.target++;
      if (!withSource && !outside) {
        contentUnverified++;
        local.unverified++;
      } else if (!outside) counts.matched++;
    },
    different(a, b) {
      local.source++;
      local.target++;
      local.different++;
      const fields = options.showFields && !outside ? diffSourcePaths(a.source, b.source, kinds) : undefined;
      const routing = a.routing !== b.routing;
      log.add({
        kind: 'different',
        severity: 'difference',
        object: object(a),
        message: routing
          ? `routing differs (source ${a.routing ?? '(none)'}, target ${b.routing ?? '(none)'})`
          : fields
            ? `_source differs in ${fields.join(', ')}`
            : '_source differs',
        details: {
          index,
          ...idOf(a),
          ...(a.id === b.id ? {} : { targetId: b.id }),
          ...(routing ? { targetRouting: b.routing ?? null } : {}),
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
        message: outside
          ? 'on the source, not on the target (outside the --since window)'
          : 'on the source, not on the target',
        details: {
          index,
          ...idOf(a),
          ...(sortField === '_id' ? {} : { key: a.key }),
          ...(outside ? { outsideWindow: true } : {}),
        },
      });
    },
    extra(b) {
      local.target++;
      local.extra++;
      log.add({
        kind: 'extra',
        severity: 'difference',
        object: object(b),
        message: outside
          ? 'on the target, not on the source (outside the --since window)'
          : 'on the target, not on the source',
        details: {
          index,
          ...idOf(b),
          ...(sortField === '_id' ? {} : { key: b.key }),
          ...(outside ? { outsideWindow: true } : {}),
        },
      });
    },
    unverified(e, side) {
      local[side]++;
      local.unverified++;
      log.add({
        kind: 'unverified',
        severity: 'unverified',
        object: object(e),
        message: `has no ${sortField} on the ${side}; cannot be matched`,
        details: { index, id: e.id, side, reason: 'no-id-field' },
      });
    },
  });

  let lastProgress = 0;
  const withProgress = async function* <T>(pages: AsyncIterable<T[]>) {
    for await (const page of pages) {
      yield page;
      const now = Date.now();
      if (now - lastProgress > 1000) {
        lastProgress = now;
        ctx.progress({ phase: 'scan', object: index, done: local.source, total: cs });
      }
    }
  };
  const pass = async (outside: boolean): Promise<boolean> => {
    const scanOpts = (side: 'source' | 'target'): ScanOptions => ({
      method: options.scan,
      index,
      query: outside ? q[side].outside! : q[side].inside,
      sortField,
      batchSize: options.batchSize,
      keepAlive: options.keepAlive,
      keepSource: options.showFields && !outside,
      withSource: withSource && !outside,
      kinds,
    });
    const methods = {
      source: indexOrderMethod(source.info, options.scan),
      target: indexOrderMethod(dest.info, options.scan),
    };
    try {
      if (sortField === '_id' && methods.source && methods.target) {
        // Matching on _id needs no order: scan both sides in index order (no sort, and
        // Elasticsearch 8 refuses to sort on _id) and join by identity.
        const rawOpts = (side: 'source' | 'target'): IndexOrderOptions => ({
          method: options.scan,
          index,
          query: outside ? q[side].outside! : q[side].inside,
          batchSize: options.batchSize,
          keepAlive: options.keepAlive,
          withSource: withSource && !outside,
        });
        ev.join = 'hash';
        ev.scanMethod = { source: methods.source, target: methods.target };
        await joinStreams(
          withProgress(scanIndexOrder(source.client, source.info, rawOpts('source'), methods.source)),
          scanIndexOrder(dest.client, dest.info, rawOpts('target'), methods.target),
          sinkFor(outside),
          { kinds, keepSource: options.showFields && !outside, expected: cs + ct },
        );
        return true;
      }
      ev.join = 'merge';
      await mergeSorted(
        withProgress(
          scanSorted(source.client, source.info, scanOpts('source'), (m) => (ev.scanMethod!.source = m)),
        ),
        scanSorted(dest.client, dest.info, scanOpts('target'), (m) => (ev.scanMethod!.target = m)),
        sinkFor(outside),
      );
      return true;
    } catch (err) {
      if (!(err instanceof ScanOrderError) && !(err instanceof KeyGroupTooLargeError)) throw err;
      local.unverified++;
      log.add({
        kind: err instanceof ScanOrderError ? 'scan-order' : 'key-group',
        severity: 'unverified',
        object: index,
        message: `index ${index} could not be compared: ${err.message}`,
        details: { index, side: err.side },
      });
      return false;
    }
  };
  const complete = await pass(false);
  const inside = { source: local.source, target: local.target };
  if (window && complete) {
    await pass(true);
    ev.outsideWindow = { source: local.source - inside.source, target: local.target - inside.target };
    counts.idsOutsideWindow += Math.max(ev.outsideWindow.source, ev.outsideWindow.target);
  }
  ctx.progress({ phase: 'scan', object: index, done: local.source, total: cs });

  if (contentUnverified > 0) {
    log.add({
      kind: 'source-disabled',
      severity: 'unverified',
      object: index,
      message: `${contentUnverified} documents of ${index} matched by id only: _source is disabled on the ${sourceDisabledSides(meta)}, so their contents were not compared`,
      details: { index, documents: contentUnverified },
    });
  }

  counts.docsSource += inside.source;
  counts.docsTarget += inside.target;
  counts.missing += local.missing;
  counts.extra += local.extra;
  counts.different += local.different;
  counts.unverified += local.unverified;
  ev.scanned = inside;
  ev.missing = local.missing;
  ev.extra = local.extra;
  ev.different = local.different;
  ev.unverified = local.unverified;

  if (complete && (cs !== inside.source || ct !== inside.target)) {
    // _count and the scan saw different document sets: writes during the check, or documents
    // the scan did not reach. Either way what was not scanned was not judged.
    log.add({
      kind: 'count-moved',
      severity: 'unverified',
      object: index,
      message: `_count and the scan disagree: _count source ${cs}, target ${ct}; scanned source ${inside.source}, target ${inside.target} (writes during the check?)`,
      details: { index, countSource: cs, countTarget: ct, ...inside },
    });
  }
  if (cs !== ct && local.missing + local.extra === 0) {
    log.add({
      kind: 'count',
      severity: 'difference',
      object: index,
      message: `_count differs (source ${cs}, target ${ct}) though the scan found no missing or extra document`,
      details: { index, countSource: cs, countTarget: ct },
    });
  }
  return ev;
}

function sourceReadable(meta: { source: IndexMeta; target: IndexMeta }): boolean {
  return meta.source.mappings._source?.enabled !== false && meta.target.mappings._source?.enabled !== false;
}

function sourceDisabledSides(meta: { source: IndexMeta; target: IndexMeta }): string {
  const sides = (['source', 'target'] as const).filter((s) => meta[s].mappings._source?.enabled === false);
  return sides.join(' and ');
}

/**
 * What the scan cannot see, reported as unverified (the checker never refreshes or changes a
 * setting): fields left out of `_source` (includes/excludes), `refresh_interval: -1`, and writes
 * still in the index writer's buffer (not yet refreshed, so invisible to _count and search).
 */
async function reportBlindSpots(
  index: string,
  meta: { source: IndexMeta; target: IndexMeta },
  source: Side,
  dest: Side,
  log: FindingLog,
): Promise<void> {
  for (const side of ['source', 'target'] as const) {
    const sc = meta[side].mappings._source;
    const filtered = [...(sc?.excludes ?? []), ...(sc?.includes ?? []).map((f) => `only ${f}`)];
    if (sc?.enabled !== false && filtered.length > 0) {
      log.add({
        kind: 'source-filtered',
        severity: 'unverified',
        object: index,
        message: `_source on the ${side} leaves out fields (${sc?.excludes?.length ? `excludes ${sc.excludes.join(', ')}` : ''}${sc?.includes?.length ? `${sc.excludes?.length ? '; ' : ''}includes only ${sc.includes.join(', ')}` : ''}): their indexed values are not compared`,
        details: { index, side, excludes: sc?.excludes ?? [], includes: sc?.includes ?? [] },
      });
    }
    if (meta[side].settings['index.refresh_interval'] === '-1') {
      log.add({
        kind: 'refresh-disabled',
        severity: 'unverified',
        object: index,
        message: `refresh is disabled on the ${side} (index.refresh_interval: -1): documents written since the last refresh are invisible to the check`,
        details: { index, side },
      });
    }
  }
  const [ps, pt] = await Promise.all([
    pendingWrites(source.client, index),
    pendingWrites(dest.client, index),
  ]);
  for (const [side, p] of [
    ['source', ps],
    ['target', pt],
  ] as const) {
    if (p.bufferBytes > 0 || p.unsearchableSegments > 0) {
      log.add({
        kind: 'unrefreshed',
        severity: 'unverified',
        object: index,
        message: `the ${side} holds writes not yet refreshed (${p.bufferBytes} bytes in the index writer buffer, ${p.unsearchableSegments} segments not yet searchable): they are invisible to the check; run it again after the next refresh`,
        details: {
          index,
          side,
          indexWriterBytes: p.bufferBytes,
          unsearchableSegments: p.unsearchableSegments,
        },
      });
    }
  }
}
