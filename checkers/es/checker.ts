import { UsageError } from '../../shared/errors.js';
import type { CheckContext, CheckResult, CheckStatus, CheckTarget, Checker } from '../types.js';
import { checkIndex, type Counts, type IndexEvidence, type Side } from './check-index.js';
import { EsClient } from './client.js';
import { detectCluster, type ClusterInfo } from './detect.js';
import { buildResult, FindingLog, statusOf } from '../result.js';
import { parseDuration } from '../../shared/duration.js';
import { countDocs, lookupField, readIndexMeta, resolveIndices, type ResolvedIndex } from './index-meta.js';
import { ES_COMPARED } from './compared.js';
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
  const window =
    since === undefined || options.timeField === undefined
      ? undefined
      : { timeField: options.timeField, since };
  const sortField = options.idField ?? '_id';
  const timeoutMs = parseDuration(options.requestTimeout) ?? 60_000;

  const srcClient = new EsClient('source', target.source, ctx.signal, timeoutMs);
  const dstClient = new EsClient('target', target.target, ctx.signal, timeoutMs);
  const [srcInfo, dstInfo] = await Promise.all([detectCluster(srcClient), detectCluster(dstClient)]);
  const source: Side = { client: srcClient, info: srcInfo };
  const dest: Side = { client: dstClient, info: dstInfo };
  ctx.progress({ phase: 'connect', message: `source ${describe(srcInfo)}, target ${describe(dstInfo)}` });

  const [srcResolved, dstResolved] = await Promise.all([
    resolveIndices(srcClient, options.index),
    resolveIndices(dstClient, options.index),
  ]);
  const log = new FindingLog(options.maxFindings, ctx);
  const scope = decideScope(srcResolved, dstResolved, log);
  if (
    scope.compare.length +
      scope.missing.length +
      scope.closedOnTarget.length +
      scope.closedOnSource.length ===
    0
  ) {
    const skipped = srcResolved
      .filter((r) => r.closed || r.hidden)
      .map((r) => `${r.name} (${r.closed ? 'closed' : 'hidden'})`);
    throw new UsageError(
      `index pattern ${options.index} matches no open index on the source cluster (${srcClient.display})`,
      {
        hint: `${dstResolved.length} on the target; check --index (e.g. payments-* or a,b); ${skipped.length > 0 ? `skipped by the wildcard: ${skipped.slice(0, 5).join(', ')}; name them to include them` : 'a wildcard skips hidden and closed indices; name them to include them'}`,
      },
    );
  }

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
    idsOutsideWindow: 0,
  };
  const perIndex: IndexEvidence[] = [];
  const fullQuery = { match_all: {} };

  // Validate every index before scanning any: bad input must fail fast, not after an hour.
  const metas = new Map<string, Awaited<ReturnType<typeof readBoth>>>();
  for (const index of scope.compare) {
    const m = await readBoth(source, dest, index);
    validateFields(index, m, options);
    metas.set(index, m);
  }
  const windowQuery = (client: EsClient, index: string) =>
    window === undefined
      ? Promise.resolve(fullQuery)
      : readIndexMeta(client, index).then(
          (m) =>
            buildQuery(window.timeField, window.since, lookupField(m.mappings, window.timeField)?.type)
              .inside,
        );

  // Indices the target cannot serve: every source document in them is missing there.
  const unservable = [
    ...scope.missing.map((index) => ({ index, closed: false })),
    ...scope.closedOnTarget.map((index) => ({ index, closed: true })),
  ];
  for (const { index, closed } of unservable) {
    ctx.signal.throwIfAborted();
    counts.indices++;
    srcClient.activity = `index ${index}`;
    const n = await countDocs(srcClient, index, await windowQuery(srcClient, index));
    counts.indicesMissing++;
    counts.countSource += n;
    counts.missing += n;
    log.add(
      closed
        ? {
            kind: 'closed-index',
            severity: 'difference',
            object: index,
            message: `index ${index} (${n} docs on the source) is closed on the target: missing/closed on target, its documents cannot be read there`,
            details: { index, count: n, side: 'target' },
          }
        : {
            kind: 'missing-index',
            severity: 'difference',
            object: index,
            message: `index ${index} (${n} docs) is not on the target`,
            details: { index, count: n },
          },
    );
    perIndex.push({
      index,
      countSource: n,
      missing: n,
      note: closed ? 'closed on the target' : 'not on the target',
    });
  }
  for (const index of scope.closedOnSource) {
    counts.indices++;
    counts.unverified++;
    log.add({
      kind: 'closed-index',
      severity: 'unverified',
      object: index,
      message: `index ${index} is closed on the source: it cannot be read, so it was not compared`,
      details: { index, side: 'source' },
    });
    perIndex.push({ index, note: 'closed on the source' });
  }
  for (const index of scope.extra) {
    ctx.signal.throwIfAborted();
    counts.indices++;
    dstClient.activity = `index ${index}`;
    const closed = dstResolved.find((r) => r.name === index)?.closed === true;
    const n = closed ? 0 : await countDocs(dstClient, index, await windowQuery(dstClient, index));
    counts.indicesExtra++;
    counts.countTarget += n;
    counts.extra += n;
    log.add({
      kind: 'extra-index',
      severity: 'difference',
      object: index,
      message: closed
        ? `index ${index} (closed) is on the target only`
        : `index ${index} (${n} docs) is on the target only`,
      details: { index, count: n, ...(closed ? { closed } : {}) },
    });
    perIndex.push({ index, countTarget: n, extra: n, note: 'on the target only' });
  }
  for (const index of scope.compare) {
    ctx.signal.throwIfAborted();
    counts.indices++;
    perIndex.push(
      await checkIndex(index, metas.get(index)!, source, dest, options, window, sortField, counts, log, ctx),
    );
  }
  perIndex.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));

  const status = statusOf(log);
  return buildResult({
    checker: 'es',
    status,
    summary: summarize(counts, status),
    counts,
    log,
    evidence: {
      source: { url: srcClient.display, ...srcInfo },
      target: { url: dstClient.display, ...dstInfo },
      index: options.index,
      compared: ES_COMPARED,
      ...(scope.skipped.length > 0 ? { skipped: scope.skipped } : {}),
      mode: since === undefined ? 'full' : 'incremental',
      ...(since === undefined ? {} : { since, timeField: options.timeField }),
      sortField,
      indices: perIndex,
    },
    startedAt: started,
  });
}

interface Scope {
  compare: string[];
  missing: string[];
  extra: string[];
  closedOnTarget: string[];
  closedOnSource: string[];
  skipped: { index: string; side: 'source' | 'target'; reason: 'closed' | 'hidden' }[];
}

/**
 * Which indices are compared. An index is in scope when it is open on the source and named
 * (directly, or through an alias or data stream) or matched by a wildcard without being hidden.
 * A wildcard skips closed and hidden indices, with a warning each; a closed DR copy of an
 * index in scope is a difference ("missing/closed on target"), a named index closed on Main is
 * unverified. An index in scope on the target only is extra.
 */
function decideScope(src: ResolvedIndex[], dst: ResolvedIndex[], log: FindingLog): Scope {
  const scope: Scope = {
    compare: [],
    missing: [],
    extra: [],
    closedOnTarget: [],
    closedOnSource: [],
    skipped: [],
  };
  const dstBy = new Map(dst.map((r) => [r.name, r]));
  const srcBy = new Map(src.map((r) => [r.name, r]));
  const skip = (r: ResolvedIndex, side: 'source' | 'target') => {
    const reason = r.closed ? 'closed' : 'hidden';
    scope.skipped.push({ index: r.name, side, reason });
    log.add({
      kind: 'skipped-index',
      severity: 'warning',
      object: r.name,
      message: `index ${r.name} on the ${side} is ${reason} and matched only by a wildcard: not compared (name it in --index to compare it)`,
      details: { index: r.name, side, reason },
    });
  };
  const outOfScope = (r: ResolvedIndex) => !r.named && (r.closed || r.hidden);
  for (const r of src) {
    const t = dstBy.get(r.name);
    if (outOfScope(r)) {
      skip(r, 'source');
      continue;
    }
    if (r.closed) scope.closedOnSource.push(r.name);
    else if (!t) scope.missing.push(r.name);
    else if (t.closed) scope.closedOnTarget.push(r.name);
    else scope.compare.push(r.name);
  }
  for (const t of dst) {
    const s = srcBy.get(t.name);
    if (s && !outOfScope(s)) continue;
    if (outOfScope(t)) skip(t, 'target');
    else if (!s) scope.extra.push(t.name);
  }
  return scope;
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
