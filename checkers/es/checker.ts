import { UsageError } from '../../src/errors.js';
import type { CheckContext, CheckResult, CheckStatus, CheckTarget, Checker } from '../types.js';
import { checkIndex, type Counts, type IndexEvidence, type Side } from './check-index.js';
import { EsClient } from './client.js';
import { detectCluster, type ClusterInfo } from './detect.js';
import { FindingLog } from './findings.js';
import { countDocs, lookupField, readIndexMeta, resolveIndices } from './index-meta.js';
import { esOptionsSchema, type EsOptions } from './options.js';
import { buildQuery, parseSince } from './time-range.js';

/** Compares Elasticsearch/OpenSearch indices between Main (source, the reference) and DR (target). */
export const esChecker: Checker<EsOptions> = {
  kind: 'es',
  optionsSchema: esOptionsSchema,
  run: runEsCheck,
};

const TIME_TYPES = new Set(['date', 'date_nanos', 'long', 'integer', 'unsigned_long']);
const ID_TYPES = new Set(['keyword', 'constant_keyword']);
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
