import { UsageError } from '../../shared/errors.js';
import type { CheckContext, CheckResult, CheckTarget, Checker, Finding } from '../types.js';
import { buildResult, FindingLog, statusOf } from '../result.js';
import { parseRedisUrl, RedisSide, type RedisEndpoint } from './connection.js';
import { readKeys, SUPPORTED_TYPES, type KeyState } from './digest.js';
import { displayKey } from './key-name.js';
import { redisOptionsSchema, type RedisOptions } from './options.js';
import { nonEmptyDbs, waitForReplicaOffset, type CatchUp } from './replication.js';

export const redisChecker: Checker<RedisOptions> = {
  kind: 'redis',
  optionsSchema: redisOptionsSchema,
  run: runRedisCheck,
};

/** How often a key that keeps changing on the source is re-read before it is called unverified. */
const RECHECK_ROUNDS = 3;

/**
 * Compares every key of Main (source) with DR (target), in every non-empty logical db unless the
 * URLs name one: type, a canonical digest of the value and the expiry, then the keys only DR
 * has. Keys that differ are re-read after the replica caught up with the primary, so writes
 * during the check are not reported as differences. Memory is bounded by the batch size (and
 * the largest value). Read-only: TYPE, PTTL, GET, HGETALL, LRANGE, SMEMBERS, ZRANGE, XINFO,
 * XRANGE, XPENDING, EXISTS, SCAN, SELECT, DBSIZE, INFO, PING.
 */
export async function runRedisCheck(
  target: CheckTarget,
  options: RedisOptions,
  ctx: CheckContext,
): Promise<CheckResult> {
  if (target.kind !== 'redis')
    throw new UsageError(`the redis checker cannot compare a ${target.kind} resource`);
  const started = Date.now();
  const src = parseRedisUrl(target.source, '--source');
  const dst = parseRedisUrl(target.target, '--target');
  if ((src.db === undefined) !== (dst.db === undefined)) {
    const [named, other] = src.db === undefined ? [dst, src] : [src, dst];
    throw new UsageError(`${named.label} names db ${named.db} but ${other.label} names none`, {
      hint: 'name the db on both URLs (redis://host:6379/3) to compare one db, or on neither to compare every db',
    });
  }
  const source = await RedisSide.connect(src, options.timeoutMs, ctx.signal);
  let dr: RedisSide | undefined;
  try {
    dr = await RedisSide.connect(dst, options.timeoutMs, ctx.signal);
    return await new Comparison(source, dr, options, ctx).run(started);
  } finally {
    source.disconnect();
    dr?.disconnect();
  }
}

type Verdict = { kind: 'same' } | { kind: 'missing' | 'extra' | 'different' | 'unverified'; message: string };

/** A key that differed on first read, to be read again. */
interface Suspect {
  db: DbPair;
  key: Buffer;
  first: Verdict;
}

interface DbPair {
  source: number;
  target: number;
}

class Comparison {
  private readonly log: FindingLog;
  private readonly counts = {
    keysSource: 0,
    keysTarget: 0,
    same: 0,
    missing: 0,
    extra: 0,
    different: 0,
    unverified: 0,
    rechecked: 0,
    resolvedOnRecheck: 0,
  };
  private readonly suspects: Suspect[] = [];
  private catchUp: CatchUp = { replica: false, caughtUp: true, waitedMs: 0 };
  private selected: DbPair | undefined;
  private replicaStalled = false;

  constructor(
    private readonly source: RedisSide,
    private readonly target: RedisSide,
    private readonly options: RedisOptions,
    private readonly ctx: CheckContext,
  ) {
    this.log = new FindingLog(options.maxFindings, ctx);
  }

  async run(started: number): Promise<CheckResult> {
    const { source, target, options } = this;
    this.catchUp = await waitForReplicaOffset(source, target, options.waitMs, this.ctx.signal);
    if (this.catchUp.replica && !this.catchUp.caughtUp) {
      const c = this.catchUp;
      this.add({
        kind: 'lag',
        severity: 'difference',
        object: target.endpoint.name,
        message: `replica did not reach the primary's offset ${c.primaryOffset} within ${options.waitMs} ms (at ${c.replicaOffset}, link ${c.linkStatus ?? 'unknown'})`,
      });
    }
    const dbs = await this.dbPairs();
    const dbsize: Record<string, { source: number; target: number }> = {};
    for (const db of dbs) {
      await this.select(db);
      const [s, t] = await Promise.all([source.run((c) => c.dbsize()), target.run((c) => c.dbsize())]);
      dbsize[`db${db.source}`] = { source: s, target: t };
      await this.compareSourceKeys(db, s);
      await this.findExtraKeys(db, t);
    }
    await this.recheck();

    const c = this.counts;
    const lag = this.catchUp.replica && !this.catchUp.caughtUp ? 1 : 0;
    const differences = c.missing + c.extra + c.different + lag;
    const status = statusOf({ differences, unverified: c.unverified });
    const parts = [
      c.missing && `${c.missing} missing`,
      c.extra && `${c.extra} extra`,
      c.different && `${c.different} different`,
      c.unverified && `${c.unverified} unverified`,
    ].filter(Boolean);
    const where = dbs.length > 1 ? ` (dbs ${dbs.map((d) => d.source).join(',')})` : '';
    return buildResult({
      checker: 'redis',
      status,
      summary: `${c.keysSource} source keys vs ${c.keysTarget} target keys${where}: ${status}${parts.length ? ` (${parts.join(', ')})` : ''}`,
      counts: { ...c },
      log: this.log,
      evidence: {
        source: source.endpoint.name,
        target: target.endpoint.name,
        match: options.match,
        dbs: dbs.map((d) => d.source),
        ...(dbs.some((d) => d.source !== d.target) ? { targetDbs: dbs.map((d) => d.target) } : {}),
        dbsize,
        ttl: options.ttl,
        replication: this.catchUp,
      },
      startedAt: started,
    });
  }

  /** The dbs a URL names, or every db that holds keys on either side. */
  private async dbPairs(): Promise<DbPair[]> {
    const s: RedisEndpoint = this.source.endpoint;
    const t: RedisEndpoint = this.target.endpoint;
    if (s.db !== undefined && t.db !== undefined) return [{ source: s.db, target: t.db }];
    const [a, b] = await Promise.all([nonEmptyDbs(this.source), nonEmptyDbs(this.target)]);
    const all = [...new Set([...a, ...b])].sort((x, y) => x - y);
    return (all.length ? all : [0]).map((n) => ({ source: n, target: n }));
  }

  private async select(db: DbPair): Promise<void> {
    if (this.selected?.source === db.source && this.selected.target === db.target) return;
    await Promise.all([
      this.source.run((c) => c.select(db.source)),
      this.target.run((c) => c.select(db.target)),
    ]);
    this.selected = db;
  }

  /** Pass 1: every source key against the target. */
  private async compareSourceKeys(db: DbPair, total: number): Promise<void> {
    let done = 0;
    for await (const keys of this.scan(this.source)) {
      const [a, b] = await Promise.all([readKeys(this.source, keys), readKeys(this.target, keys)]);
      keys.forEach((key, i) => {
        const s = a[i]!;
        if (s.type === 'none' && !s.unstable) return; // deleted between SCAN and TYPE
        this.counts.keysSource++;
        this.consider(db, key, this.judge(s, b[i]!));
      });
      done += keys.length;
      this.ctx.progress({ phase: 'compare', object: `db${db.source}`, done, total });
    }
  }

  /** Pass 2: keys only the target has. */
  private async findExtraKeys(db: DbPair, total: number): Promise<void> {
    let done = 0;
    for await (const keys of this.scan(this.target)) {
      const exists = await this.source.run(async (c) => {
        const p = c.pipeline();
        for (const k of keys) p.exists(k);
        const replies = await p.exec();
        if (!replies) throw new Error('Connection is closed.');
        return replies.map(([err, v]) => {
          if (err) throw err;
          return Number(v);
        });
      });
      this.counts.keysTarget += keys.length;
      keys.forEach((key, i) => {
        if (exists[i] === 0) this.consider(db, key, { kind: 'extra', message: 'only on target' });
      });
      done += keys.length;
      this.ctx.progress({ phase: 'extra', object: `db${db.target}`, done, total });
    }
  }

  /** A first verdict: a match is counted, a difference is kept to be read again. */
  private consider(db: DbPair, key: Buffer, v: Verdict): void {
    if (v.kind === 'same') this.counts.same++;
    else if (v.kind === 'unverified') this.report(db, key, v);
    else if (this.suspects.length < this.options.recheckLimit) this.suspects.push({ db, key, first: v });
    else this.report(db, key, v);
  }

  /**
   * Re-reads the keys that differed: source, then (for a replica) wait until it reached the
   * primary's offset of that moment, then target, then source again. A key the source did not
   * change meanwhile gets its final verdict; one that keeps changing is read again, and after
   * RECHECK_ROUNDS it is unverified (never consistent).
   */
  private async recheck(): Promise<void> {
    // SCAN may return a key twice while the keyspace rehashes: judge it once
    const seen = new Set<string>();
    let pending = this.suspects.splice(0).filter((x) => {
      const id = `${x.db.source}/${x.key.toString('hex')}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    this.counts.rechecked = pending.length;
    for (let round = 1; round <= RECHECK_ROUNDS && pending.length > 0; round++) {
      const moving: Suspect[] = [];
      for (const group of groupByDb(pending)) {
        await this.select(group[0]!.db);
        for (let i = 0; i < group.length; i += this.options.batch) {
          const chunk = group.slice(i, i + this.options.batch);
          const keys = chunk.map((x) => x.key);
          const before = await readKeys(this.source, keys);
          // a replica that did not catch up once (link down, far behind) is not waited for again:
          // its lag is already a finding, and every chunk would wait the whole --wait
          if (this.catchUp.replica && this.catchUp.caughtUp && !this.replicaStalled) {
            const now = await waitForReplicaOffset(
              this.source,
              this.target,
              this.options.waitMs,
              this.ctx.signal,
            );
            if (!now.caughtUp) this.replicaStalled = true;
          }
          const dr = await readKeys(this.target, keys);
          const after = await readKeys(this.source, keys);
          chunk.forEach((x, j) => {
            if (!this.stable(before[j]!, after[j]!)) {
              moving.push(x);
              return;
            }
            const v = this.judge(after[j]!, dr[j]!);
            if (v.kind === 'same') {
              this.counts.same++;
              this.counts.resolvedOnRecheck++;
            } else this.report(x.db, x.key, v);
          });
        }
      }
      pending = moving;
    }
    for (const x of pending) {
      this.report(x.db, x.key, {
        kind: 'unverified',
        message: `changed on the source during each of ${RECHECK_ROUNDS} re-reads (first seen: ${x.first.kind === 'same' ? '' : x.first.message})`,
      });
    }
  }

  /** Whether two reads of the same side saw the same value and expiry. */
  private stable(a: KeyState, b: KeyState): boolean {
    if (a.unstable || b.unstable) return false;
    if (a.type !== b.type || a.digest !== b.digest) return false;
    if ((a.expireAt === -1) !== (b.expireAt === -1)) return false;
    return a.expireAt === -1 || Math.abs(a.expireAt - b.expireAt) <= this.options.ttlToleranceMs;
  }

  private judge(s: KeyState, t: KeyState): Verdict {
    if (s.unstable || t.unstable) return { kind: 'different', message: 'changed while it was read' };
    if (s.type === 'none' && t.type === 'none') return { kind: 'same' };
    if (t.type === 'none') return { kind: 'missing', message: `only on source (${s.what})` };
    if (s.type === 'none') return { kind: 'extra', message: `only on target (${t.what})` };
    if (s.type !== t.type)
      return { kind: 'different', message: `type ${s.type} on source, ${t.type} on target` };
    if (!SUPPORTED_TYPES.has(s.type))
      return { kind: 'unverified', message: `type ${s.type} is not compared` };
    if (s.what !== t.what) return { kind: 'different', message: `${s.what} on source, ${t.what} on target` };
    if (s.digest !== t.digest) return { kind: 'different', message: `${s.what} value differs` };
    const ttl = this.options.ttl;
    if (ttl !== 'ignore' && (s.expireAt === -1) !== (t.expireAt === -1)) {
      const [side, at] = s.expireAt === -1 ? ['target', t.expireAt] : ['source', s.expireAt];
      return {
        kind: 'different',
        message: `expires on ${side} only (in ${Math.max(0, Math.round((at - Date.now()) / 1000))}s), persists on the other`,
      };
    }
    if (ttl === 'exact' && s.expireAt !== -1) {
      const delta = Math.abs(s.expireAt - t.expireAt);
      if (delta > this.options.ttlToleranceMs)
        return { kind: 'different', message: `expiry differs by ${(delta / 1000).toFixed(1)}s` };
    }
    return { kind: 'same' };
  }

  private report(db: DbPair, key: Buffer, v: Exclude<Verdict, { kind: 'same' }>): void {
    this.counts[v.kind]++;
    this.add({
      kind: v.kind,
      severity: v.kind === 'unverified' ? 'unverified' : 'difference',
      object: `${db.source === 0 ? '' : `db${db.source}/`}${displayKey(key)}`,
      message: v.message,
      ...(db.source === 0 ? {} : { details: { db: db.source } }),
    });
  }

  private add(f: Finding): void {
    this.log.add(f);
  }

  /**
   * SCAN in batches of keys as Buffers. SCAN may return a key twice while the keyspace
   * rehashes; that can only repeat a comparison, never hide a key.
   */
  private async *scan(side: RedisSide): AsyncGenerator<Buffer[]> {
    let cursor = '0';
    do {
      const [next, keys] = await side.run((c) =>
        c.scanBuffer(cursor, 'MATCH', this.options.match, 'COUNT', this.options.batch),
      );
      cursor = next.toString();
      if (keys.length) yield keys;
    } while (cursor !== '0');
  }
}

function groupByDb(items: Suspect[]): Suspect[][] {
  const by = new Map<string, Suspect[]>();
  for (const x of items) {
    const k = `${x.db.source}:${x.db.target}`;
    const list = by.get(k);
    if (list) list.push(x);
    else by.set(k, [x]);
  }
  return [...by.values()];
}
