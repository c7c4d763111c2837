import { UsageError } from '../../src/errors.js';
import type { CheckContext, CheckResult, CheckStatus, CheckTarget, Checker } from '../types.js';
import { diffPaths } from './canonical.js';
import { EsClient } from './client.js';
import { detectCluster, type ClusterInfo } from './detect.js';
import { FindingLog } from './findings.js';
import {
  countDocs,
  diffMappings,
  diffSettings,
  lookupField,
  readIndexMeta,
  resolveIndices,
} from './index-meta.js';
import { mergeSorted, ScanOrderError, type MergeSink } from './merge.js';
import { esOptionsSchema, type EsOptions } from './options.js';
import { readReplicationStatus, type ReplicationStatus } from './replication.js';
import { scanSorted, type DocEntry, type ScanMethod, type ScanOptions } from './scan.js';
import { buildQuery, parseSince } from './time-range.js';

/** Compares Elasticsearch/OpenSearch indices between Main (source, the reference) and DR (target). */
export const esChecker: Checker<EsOptions> = {
  kind: 'es',
  optionsSchema: esOptionsSchema,
  run: runEsCheck,
};

const TIME_TYPES = new Set(['date', 'date_nanos', 'long', 'integer', 'unsigned_long']);
const ID_TYPES = new Set(['keyword', 'constant_keyword']);

interface Side {
  client: EsClient;
  info: ClusterInfo;
}

interface IndexEvidence {
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

type Counts = Record<
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

export async function runEsCheck(
  target: CheckTarget,
  options: EsOptions,
  ctx: CheckContext,
): Promise<CheckResult> {
  if (target.kind !== 'es') throw new UsageError(`the es checker cannot compare a ${target.kind} resource`);
  const started = Date.now();
  if (options.since !== undefined && options.timeField === undefined) {
    throw new UsageError('--since needs --time-field', {
      hint: 'name the date field to range on, e.g. --time-field updated_at',
    });
  }
  const since = options.since === undefined ? undefined : parseSince(options.since);
  const query = buildQuery(options.timeField, since);
  const sortField = options.idField ?? '_id';

  const srcClient = new EsClient('source', target.source, ctx.signal);
  const dstClient = new EsClient('target', target.target, ctx.signal);
  const [srcInfo, dstInfo] = await Promise.all([detectCluster(srcClient), detectCluster(dstClient)]);
  const source: Side = { client: srcClient, info: srcInfo };
  const dest: Side = { client: dstClient, info: dstInfo };
  ctx.progress({ phase: 'connect', message: `source ${describe(srcInfo)}, target ${describe(dstInfo)}` });

  const [srcIndices, dstIndices] = await Promise.all([
    resolveIndices(srcClient, options.index),
    resolveIndices(dstClient, options.index),
  ]);
  if (srcIndices.length === 0) {
    throw new UsageError(
      `index pattern ${options.index} matches no open index on the source cluster (${srcClient.display})`,
      {
        hint: `${dstIndices.length} on the target; check --index (e.g. payments-* or a,b); hidden and closed indices are not matched`,
      },
    );
  }

  const log = new FindingLog(options.maxFindings, ctx);
  const counts: Counts = {
    indices: 0,
    indicesMissing: 0,
    indicesExtra: 0,
    countSource: 0,
    countTarget: 0,
    docsSource: 0,
    docsTarget: 0,
    matched: 0,
    missing: 0,
    extra: 0,
    different: 0,
    unverified: 0,
    mappingDiffs: 0,
    settingsDiffs: 0,
  };
  const perIndex: IndexEvidence[] = [];
  const dstSet = new Set(dstIndices);
  const srcSet = new Set(srcIndices);
  const all = [...new Set([...srcIndices, ...dstIndices])].sort();

  // Validate every index before scanning any: bad input must fail fast, not after an hour.
  const metas = new Map<string, Awaited<ReturnType<typeof readBoth>>>();
  for (const index of all) {
    if (!srcSet.has(index) || !dstSet.has(index)) continue;
    const m = await readBoth(source, dest, index);
    validateFields(index, m, options);
    metas.set(index, m);
  }

  for (const index of all) {
    ctx.signal.throwIfAborted();
    counts.indices++;
    if (!dstSet.has(index)) {
      const n = await countDocs(srcClient, index, query);
      counts.indicesMissing++;
      counts.countSource += n;
      counts.missing += n;
      log.add({
        kind: 'missing-index',
        severity: 'difference',
        object: index,
        message: `index ${index} (${n} docs) is not on the target`,
        details: { index, count: n },
      });
      perIndex.push({ index, countSource: n, missing: n, note: 'not on the target' });
      continue;
    }
    if (!srcSet.has(index)) {
      const n = await countDocs(dstClient, index, query);
      counts.indicesExtra++;
      counts.countTarget += n;
      counts.extra += n;
      log.add({
        kind: 'extra-index',
        severity: 'difference',
        object: index,
        message: `index ${index} (${n} docs) is on the target only`,
        details: { index, count: n },
      });
      perIndex.push({ index, countTarget: n, extra: n, note: 'on the target only' });
      continue;
    }
    perIndex.push(
      await checkIndex(index, metas.get(index)!, source, dest, options, query, sortField, counts, log, ctx),
    );
  }

  const status: CheckStatus =
    log.differences > 0 ? 'different' : log.unverified > 0 ? 'unverified' : 'consistent';
  const finished = Date.now();
  return {
    checker: 'es',
    ok: status === 'consistent',
    status,
    summary: summarize(counts, status),
    counts,
    findings: log.kept,
    findingsOmitted: log.omitted,
    evidence: {
      source: { url: srcClient.display, ...srcInfo },
      target: { url: dstClient.display, ...dstInfo },
      index: options.index,
      mode: since === undefined ? 'full' : 'incremental',
      ...(since === undefined ? {} : { since, timeField: options.timeField }),
      sortField,
      indices: perIndex,
    },
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
  };
}

async function readBoth(source: Side, dest: Side, index: string) {
  const [s, t] = await Promise.all([readIndexMeta(source.client, index), readIndexMeta(dest.client, index)]);
  return { source: s, target: t };
}

function validateFields(index: string, m: Awaited<ReturnType<typeof readBoth>>, options: EsOptions): void {
  for (const side of ['source', 'target'] as const) {
    if (options.timeField !== undefined) {
      const f = lookupField(m[side].mappings, options.timeField);
      if (!f) {
        throw new UsageError(
          `time field ${options.timeField} does not exist in index ${index} on the ${side} cluster`,
          {
            hint: 'name a date field mapped in every matched index (GET <index>/_mapping shows them)',
          },
        );
      }
      if (!TIME_TYPES.has(f.type ?? 'object')) {
        throw new UsageError(
          `time field ${options.timeField} in index ${index} is a ${f.type ?? 'object'}, not a date`,
          {
            hint: 'use a field mapped as date, date_nanos or epoch-millis long',
          },
        );
      }
    }
    if (options.idField !== undefined) {
      const f = lookupField(m[side].mappings, options.idField);
      if (!f || !ID_TYPES.has(f.type ?? 'object') || f.doc_values === false) {
        throw new UsageError(
          `id field ${options.idField} in index ${index} on the ${side} cluster is ${f ? `a ${f.type ?? 'object'}${f.doc_values === false ? ' without doc values' : ''}` : 'not mapped'}`,
          {
            hint: '--id-field must name a keyword field with doc values holding a unique id (or omit it to sort on _id)',
          },
        );
      }
    }
  }
}

async function checkIndex(
  index: string,
  meta: Awaited<ReturnType<typeof readBoth>>,
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

function describe(info: ClusterInfo): string {
  return `${info.distribution} ${info.version}`;
}

function summarize(c: Counts, status: CheckStatus): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const head = `${n(c.indices)} ${c.indices === 1 ? 'index' : 'indices'}, ${n(c.docsSource)} source docs`;
  if (status === 'consistent') return `${head}: consistent`;
  const parts = [
    c.indicesMissing && `${n(c.indicesMissing)} missing indices`,
    c.indicesExtra && `${n(c.indicesExtra)} extra indices`,
    c.missing && `${n(c.missing)} missing`,
    c.extra && `${n(c.extra)} extra`,
    c.different && `${n(c.different)} different`,
    c.mappingDiffs && `${n(c.mappingDiffs)} mapping differences`,
    c.unverified && `${n(c.unverified)} unverified`,
  ].filter(Boolean);
  return `${head}: ${parts.length > 0 ? parts.join(', ') : status}`;
}
