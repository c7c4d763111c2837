import { canonicalJson, diffPaths } from './canonical.js';
import type { EsClient } from './client.js';
import { encodeIndex } from './scan.js';

/** One concrete index a pattern matched on one cluster. */
export interface ResolvedIndex {
  name: string;
  closed: boolean;
  hidden: boolean;
  /** Named (directly, or through an alias or data stream) rather than matched by a wildcard. */
  named: boolean;
}

interface ResolveAnswer {
  indices?: { name: string; attributes?: string[] }[];
  aliases?: { name: string; indices?: string[] }[];
  data_streams?: { name: string; backing_indices?: string[] }[];
}

/**
 * Concrete indices an index expression resolves to, closed and hidden ones included and flagged
 * (the caller decides what is compared and warns about the rest), sorted by name. Parts are
 * comma-separated and resolved one by one with `_resolve/index`, so a concrete name that does not
 * exist is simply absent (the index is missing on that side) rather than voiding the others.
 * A part starting with `-` excludes what the parts before it matched (`pp-*,-pp-2`), as the
 * servers' own multi-target syntax does. Aliases and data streams stand for their indices.
 */
export async function resolveIndices(client: EsClient, pattern: string): Promise<ResolvedIndex[]> {
  const parts = pattern
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const found = new Map<string, ResolvedIndex>();
  for (const [i, part] of parts.entries()) {
    if (part.startsWith('-') && i > 0) {
      const re = globToRegExp(part.slice(1));
      for (const name of [...found.keys()]) if (re.test(name)) found.delete(name);
      continue;
    }
    const wildcard = part.includes('*');
    const answer = await resolve(client, part);
    const members = [
      ...(answer.aliases ?? []).flatMap((a) => a.indices ?? []),
      ...(answer.data_streams ?? []).flatMap((d) => d.backing_indices ?? []),
    ];
    const listed = new Set((answer.indices ?? []).map((x) => x.name));
    const extra = members.filter((m) => !listed.has(m));
    const more = extra.length > 0 ? ((await resolve(client, extra.join(','))).indices ?? []) : [];
    for (const x of [...(answer.indices ?? []), ...more]) {
      const attrs = x.attributes ?? [];
      const prev = found.get(x.name);
      found.set(x.name, {
        name: x.name,
        closed: attrs.includes('closed'),
        hidden: attrs.includes('hidden') || (x.name.startsWith('.') && wildcard),
        named: (prev?.named ?? false) || !wildcard || !listed.has(x.name),
      });
    }
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function resolve(client: EsClient, expression: string): Promise<ResolveAnswer> {
  return client.request<ResolveAnswer>(
    'GET',
    `/_resolve/index/${encodeIndex(expression)}?expand_wildcards=all`,
    undefined,
    { allow: [404] },
  );
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/**
 * Writes that search cannot see yet: bytes still in the index writer's buffer, and segments
 * written (e.g. by a realtime GET's internal refresh) but not yet searchable.
 */
export async function pendingWrites(
  client: EsClient,
  index: string,
): Promise<{ bufferBytes: number; unsearchableSegments: number }> {
  const enc = encodeIndex(index);
  const [stats, segments] = await Promise.all([
    client.request<{
      indices?: Record<string, { total?: { segments?: { index_writer_memory_in_bytes?: number } } }>;
    }>('GET', `/${enc}/_stats/segments?filter_path=indices.*.total.segments.index_writer_memory_in_bytes`),
    client.request<{ searchable?: string | boolean }[]>(
      'GET',
      `/_cat/segments/${enc}?format=json&h=searchable`,
    ),
  ]);
  return {
    bufferBytes: stats.indices?.[index]?.total?.segments?.index_writer_memory_in_bytes ?? 0,
    unsearchableSegments: segments.filter((x) => String(x.searchable) === 'false').length,
  };
}

export async function countDocs(
  client: EsClient,
  index: string,
  query: Record<string, unknown>,
): Promise<number> {
  const res = await client.request<{ count: number }>('POST', `/${encodeIndex(index)}/_count`, { query });
  return res.count;
}

export interface FieldMapping {
  type?: string;
  doc_values?: boolean;
  properties?: Record<string, FieldMapping>;
  fields?: Record<string, FieldMapping>;
}

/** `_source` as the mapping configures it. */
export interface SourceConfig {
  enabled?: boolean;
  includes?: string[];
  excludes?: string[];
  mode?: string;
}

export interface IndexMeta {
  mappings: { properties?: Record<string, FieldMapping>; _source?: SourceConfig; [k: string]: unknown };
  settings: Record<string, string>;
}

export async function readIndexMeta(client: EsClient, index: string): Promise<IndexMeta> {
  const enc = encodeIndex(index);
  const [m, s] = await Promise.all([
    client.request<Record<string, { mappings?: IndexMeta['mappings'] }>>('GET', `/${enc}/_mapping`),
    client.request<Record<string, { settings?: Record<string, string> }>>(
      'GET',
      `/${enc}/_settings?flat_settings=true`,
    ),
  ]);
  return { mappings: m[index]?.mappings ?? {}, settings: s[index]?.settings ?? {} };
}

/** A field's mapping by dotted path, through object properties and multi-fields. */
export function lookupField(mappings: IndexMeta['mappings'], path: string): FieldMapping | undefined {
  let props: Record<string, FieldMapping> | undefined = mappings.properties;
  let found: FieldMapping | undefined;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const next: FieldMapping | undefined = props?.[part] ?? found?.fields?.[part];
    if (!next) {
      // Field names may contain dots themselves ("a.b" mapped flat): try the rest as one name.
      const rest = parts.slice(i).join('.');
      return props?.[rest];
    }
    found = next;
    props = next.properties;
  }
  return found;
}

/** Differing mapping paths (empty when equal, key order ignored). */
export function diffMappings(a: IndexMeta['mappings'], b: IndexMeta['mappings']): string[] {
  if (canonicalJson(a) === canonicalJson(b)) return [];
  return diffPaths(a, b, 20);
}

/** Settings that change what is stored or how it is searched: a difference there is a difference. */
const SETTINGS_THAT_MATTER = [
  'index.analysis.',
  'index.sort.',
  'index.mapping.',
  'index.similarity.',
  'index.default_pipeline',
  'index.final_pipeline',
];
/** Settings worth a warning: DR may differ on purpose (shards, codec, result window). */
const SETTINGS_TO_NOTE = [
  'index.number_of_shards',
  'index.codec',
  'index.max_result_window',
  'index.routing_partition_size',
];

export interface SettingDiff {
  key: string;
  source: string | undefined;
  target: string | undefined;
  severity: 'difference' | 'warning';
}

export function diffSettings(a: Record<string, string>, b: Record<string, string>): SettingDiff[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: SettingDiff[] = [];
  for (const key of keys) {
    const matters = SETTINGS_THAT_MATTER.some((p) => key === p || key.startsWith(p));
    const note = SETTINGS_TO_NOTE.includes(key);
    if (!matters && !note) continue;
    if (JSON.stringify(a[key]) === JSON.stringify(b[key])) continue;
    out.push({ key, source: a[key], target: b[key], severity: matters ? 'difference' : 'warning' });
  }
  return out;
}
