/**
 * GTID parsing and arithmetic, pure. Two flavors:
 * - MySQL GTID sets: `uuid:1-5:7-9,uuid2:3`, with MySQL 8.4 tags `uuid:1-5:tag:1-3` (intervals after
 *   a tag belong to `uuid:tag`). A set is kept as sorted, merged, inclusive intervals per source.
 * - MariaDB GTID positions: `domain-server-seq` lists (gtid_binlog_pos, gtid_slave_pos,
 *   gtid_current_pos, gtid_binlog_state).
 */

/**
 * Inclusive interval of transaction numbers. BigInt: MySQL GNOs go up to 2^63-1 and MariaDB
 * sequence numbers up to 2^64-1, beyond a double's exact integers (2^53).
 */
export type Interval = readonly [start: bigint, end: bigint];

/** Source (`uuid` or `uuid:tag`, lower-case) → sorted, disjoint, non-adjacent intervals. */
export type GtidSet = ReadonlyMap<string, readonly Interval[]>;

export class GtidParseError extends Error {}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const TAG_RE = /^[a-z_][a-z0-9_]{0,31}$/i;
const NUM_RE = /^\d+$/;

const GNO_MAX = (1n << 63n) - 1n;
const SEQ_MAX = (1n << 64n) - 1n;

function parseNumber(text: string, whole: string): bigint {
  if (!NUM_RE.test(text)) throw new GtidParseError(`bad transaction number "${text}" in GTID set "${whole}"`);
  const n = BigInt(text);
  if (n < 1n || n > GNO_MAX)
    throw new GtidParseError(`transaction number ${text} out of range in "${whole}"`);
  return n;
}

/** A count for people and JSON: exact below 2^53, and never 0 for a non-empty difference. */
function toCount(n: bigint): number {
  return Number(n);
}

/** Parses a MySQL gtid_executed style set. Empty text is the empty set. */
export function parseMysqlGtidSet(text: string): GtidSet {
  const raw = new Map<string, Interval[]>();
  const cleaned = text.replace(/\s+/g, '');
  if (cleaned === '') return new Map();
  for (const part of cleaned.split(',')) {
    if (part === '') continue;
    const fields = part.split(':');
    const uuid = fields[0]!;
    if (!UUID_RE.test(uuid)) throw new GtidParseError(`bad server uuid "${uuid}" in GTID set "${text}"`);
    const base = normalizeUuid(uuid);
    let source = base;
    let sawInterval = false;
    for (const field of fields.slice(1)) {
      if (TAG_RE.test(field)) {
        source = `${base}:${field.toLowerCase()}`;
        sawInterval = false;
        continue;
      }
      const [a, b, extra] = field.split('-');
      if (extra !== undefined || a === undefined)
        throw new GtidParseError(`bad interval "${field}" in GTID set "${text}"`);
      const start = parseNumber(a, text);
      const end = b === undefined ? start : parseNumber(b, text);
      if (end < start) throw new GtidParseError(`interval ${field} ends before it starts in "${text}"`);
      const list = raw.get(source) ?? [];
      list.push([start, end]);
      raw.set(source, list);
      sawInterval = true;
    }
    if (!sawInterval && fields.length > 1 && source !== base)
      throw new GtidParseError(`tag without intervals in GTID set "${text}"`);
    if (fields.length === 1) throw new GtidParseError(`server uuid ${uuid} without intervals in "${text}"`);
  }
  return normalizeSet(raw);
}

function normalizeUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Sorts and merges overlapping or adjacent intervals. */
export function normalizeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1n) last[1] = last[1] > e ? last[1] : e;
    else out.push([s, e]);
  }
  return out;
}

function normalizeSet(raw: ReadonlyMap<string, readonly Interval[]>): GtidSet {
  const out = new Map<string, Interval[]>();
  for (const key of [...raw.keys()].sort()) {
    const merged = normalizeIntervals(raw.get(key)!);
    if (merged.length > 0) out.set(key, merged);
  }
  return out;
}

/** Formats a set the way MySQL prints it (tags grouped under their uuid). */
export function formatGtidSet(set: GtidSet): string {
  const byUuid = new Map<string, string[]>();
  for (const [source, intervals] of set) {
    const [uuid, tag] = source.split(':') as [string, string | undefined];
    const text = intervals.map(([s, e]) => (s === e ? `${s}` : `${s}-${e}`)).join(':');
    const parts = byUuid.get(uuid) ?? [];
    parts.push(tag ? `${tag}:${text}` : text);
    byUuid.set(uuid, parts);
  }
  return [...byUuid].map(([uuid, parts]) => `${uuid}:${parts.join(':')}`).join(',');
}

/**
 * Transactions in `a` that are not in `b`. Both interval lists are sorted and disjoint, so one
 * merge-like pass does it: linear in the number of intervals.
 */
export function subtractGtidSets(a: GtidSet, b: GtidSet): GtidSet {
  const out = new Map<string, Interval[]>();
  for (const [source, intervals] of a) {
    const remove = b.get(source) ?? [];
    const kept: Interval[] = [];
    let j = 0;
    for (const [s0, e] of intervals) {
      let s = s0;
      // Removals entirely before this interval can be dropped for good (later ones start later).
      while (j < remove.length && remove[j]![1] < s) j++;
      let k = j;
      while (k < remove.length && remove[k]![0] <= e) {
        const [rs, re] = remove[k]!;
        if (rs > s) kept.push([s, rs - 1n]);
        if (re + 1n > s) s = re + 1n;
        if (s > e) break;
        k++;
      }
      if (s <= e) kept.push([s, e]);
    }
    if (kept.length > 0) out.set(source, kept);
  }
  return out;
}

export function unionGtidSets(a: GtidSet, b: GtidSet): GtidSet {
  const raw = new Map<string, Interval[]>();
  for (const set of [a, b]) for (const [k, v] of set) raw.set(k, [...(raw.get(k) ?? []), ...v]);
  return normalizeSet(raw);
}

export function isGtidSubset(a: GtidSet, b: GtidSet): boolean {
  return subtractGtidSets(a, b).size === 0;
}

/** Number of transactions per source. */
export function countGtidsBySource(set: GtidSet): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [source, intervals] of set)
    out[source] = toCount(intervals.reduce((n, [s, e]) => n + (e - s + 1n), 0n));
  return out;
}

export function countGtids(set: GtidSet): number {
  return Object.values(countGtidsBySource(set)).reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------- MariaDB

export interface MariaGtid {
  domain: number;
  server: number;
  /** Up to 2^64-1: BigInt, never rounded. */
  seq: bigint;
}

/** Parses `0-1-100,1-2-7`. Empty text is an empty list. */
export function parseMariaGtidList(text: string): MariaGtid[] {
  const cleaned = text.replace(/\s+/g, '');
  if (cleaned === '') return [];
  return cleaned.split(',').map((part) => {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (!m) throw new GtidParseError(`bad MariaDB GTID "${part}" in "${text}" (expected domain-server-seq)`);
    const seq = BigInt(m[3]!);
    if (seq > SEQ_MAX) throw new GtidParseError(`sequence number out of range in MariaDB GTID "${part}"`);
    return { domain: Number(m[1]), server: Number(m[2]), seq };
  });
}

export function formatMariaGtid(g: MariaGtid): string {
  return `${g.domain}-${g.server}-${g.seq}`;
}

/** The last GTID per domain of a position list (the highest seq wins if a domain repeats). */
export function lastByDomain(list: readonly MariaGtid[]): Map<number, MariaGtid> {
  const out = new Map<number, MariaGtid>();
  for (const g of list) {
    const cur = out.get(g.domain);
    if (!cur || g.seq > cur.seq) out.set(g.domain, g);
  }
  return out;
}

export interface MariaDomainGap {
  domain: number;
  primary: string | undefined;
  replica: string | undefined;
  /** Transactions the replica has not applied yet (seq numbers are per domain, gap-free in strict mode). */
  missing: number;
}

/**
 * Per domain: how many transactions of the primary's position the replica lacks.
 * @param primaryPos the primary's gtid_binlog_pos
 * @param replicaPos the replica's gtid_slave_pos (what replication applied)
 */
export function compareMariaPositions(
  primaryPos: readonly MariaGtid[],
  replicaPos: readonly MariaGtid[],
): MariaDomainGap[] {
  const p = lastByDomain(primaryPos);
  const r = lastByDomain(replicaPos);
  const domains = [...new Set([...p.keys(), ...r.keys()])].sort((a, b) => a - b);
  return domains.map((domain) => {
    const pg = p.get(domain);
    const rg = r.get(domain);
    return {
      domain,
      primary: pg && formatMariaGtid(pg),
      replica: rg && formatMariaGtid(rg),
      missing: toCount(gap(pg?.seq ?? 0n, rg?.seq ?? 0n)),
    };
  });
}

/**
 * Errant transactions: entries of the replica's gtid_binlog_state (last seq per domain and
 * server) that the primary's binlog state does not contain.
 */
export function findMariaErrant(
  primaryState: readonly MariaGtid[],
  replicaState: readonly MariaGtid[],
): MariaGtid[] {
  const key = (g: MariaGtid) => `${g.domain}-${g.server}`;
  const p = new Map<string, bigint>();
  for (const g of primaryState) {
    const cur = p.get(key(g)) ?? 0n;
    p.set(key(g), g.seq > cur ? g.seq : cur);
  }
  return replicaState.filter((g) => g.seq > (p.get(key(g)) ?? 0n));
}

function gap(primary: bigint, replica: bigint): bigint {
  return primary > replica ? primary - replica : 0n;
}
