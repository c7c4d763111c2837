import { canonicalJson, diffPaths } from './canonical.js';
import type { EsClient } from './client.js';
import { encodeIndex } from './scan.js';

/**
 * Concrete open indices an index pattern resolves to (hidden and closed ones excluded), sorted.
 * Each comma-separated part is resolved on its own: a concrete name that does not exist is simply
 * absent (the index is missing on that side), it does not void the other parts.
 */
export async function resolveIndices(client: EsClient, pattern: string): Promise<string[]> {
  const parts = pattern
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const found = new Set<string>();
  for (const part of parts) {
    const rows = await client.request<{ index?: string }[] | { error?: unknown }>(
      'GET',
      `/_cat/indices/${encodeIndex(part)}?format=json&h=index&expand_wildcards=open`,
      undefined,
      { allow: [404] },
    );
    if (!Array.isArray(rows)) continue;
    for (const r of rows) if (typeof r.index === 'string') found.add(r.index);
  }
  return [...found].sort();
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

export interface IndexMeta {
  mappings: { properties?: Record<string, FieldMapping>; [k: string]: unknown };
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
