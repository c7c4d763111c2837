import { Redis } from 'ioredis';
import { openSession } from '../../checkers/mysql/session.js';
import { connectionOptions, parseMysqlDsn } from '../util/dsn.js';
import { ConnectionError } from '../errors.js';
import type { BlacklistTarget } from './spec.js';

/**
 * The blacklist: accounts that may not move money until their funds in transit are settled.
 *
 * Redis: the set `<key>` (SISMEMBER is what an application asks) and the hash `<key>:reason`,
 * account → JSON reason `{"by":"drctl reconcile","amount":…,"transactions":n,"ids":[…],"at":…}`.
 * MySQL: a table `(account PK, amount, transactions, transaction_ids, reason, added_by, updated_at)`.
 *
 * drctl owns only what it added (a reason entry / `added_by = 'drctl reconcile'`): a re-run
 * removes its own accounts whose entries are now reconciled, adds new ones, updates changed
 * reasons, and never removes an account someone else blacklisted.
 */
export const ADDED_BY = 'drctl reconcile';

export interface BlacklistReason {
  /** `EUR 100.00, USD 5.00`, or `100.00` without a currency column. */
  amount: string;
  transactions: number;
  /** The first transaction ids (ENTRIES_PER_ACCOUNT at most); `transactions` is the count. */
  ids: string[];
}

export interface BlacklistChange {
  op: 'add' | 'remove' | 'update';
  account: string;
  reason?: BlacklistReason;
}

export interface BlacklistPlan {
  target: string;
  changes: BlacklistChange[];
  /** Accounts in transit already blacklisted by someone else: left as they are. */
  foreign: string[];
  /** Accounts blacklisted after the change (drctl's and others'). */
  size: number;
}

interface Store {
  /** drctl's accounts and their reasons; all members. */
  read(): Promise<{ owned: Map<string, string>; members: Set<string> }>;
  apply(changes: BlacklistChange[], at: string): Promise<void>;
  close(): Promise<void>;
}

const reasonText = (r: BlacklistReason) => JSON.stringify({ by: ADDED_BY, ...r });
const sameReason = (stored: string, r: BlacklistReason) => {
  try {
    const s = JSON.parse(stored) as Record<string, unknown>;
    delete s['at'];
    return JSON.stringify(s) === reasonText(r);
  } catch {
    return false;
  }
};

/** The change that makes the blacklist match `inTransit` (reads only). */
export async function planBlacklist(
  target: BlacklistTarget,
  inTransit: Map<string, BlacklistReason>,
): Promise<BlacklistPlan> {
  const store = await openStore(target);
  try {
    const { owned, members } = await store.read();
    return diffBlacklist(target.display, owned, members, inTransit);
  } finally {
    await store.close();
  }
}

export function diffBlacklist(
  display: string,
  owned: Map<string, string>,
  members: Set<string>,
  inTransit: Map<string, BlacklistReason>,
): BlacklistPlan {
  const changes: BlacklistChange[] = [];
  const foreign: string[] = [];
  for (const [account, reason] of inTransit) {
    const stored = owned.get(account);
    if (stored !== undefined) {
      if (!sameReason(stored, reason) || !members.has(account))
        changes.push({ op: 'update', account, reason });
    } else if (members.has(account)) foreign.push(account);
    else changes.push({ op: 'add', account, reason });
  }
  for (const account of owned.keys()) if (!inTransit.has(account)) changes.push({ op: 'remove', account });
  const order = { remove: 0, add: 1, update: 2 };
  changes.sort(
    (a, b) => order[a.op] - order[b.op] || (a.account < b.account ? -1 : a.account > b.account ? 1 : 0),
  );
  const added = changes.filter((c) => c.op === 'add').length;
  const removed = changes.filter((c) => c.op === 'remove' && members.has(c.account)).length;
  return { target: display, changes, foreign: foreign.sort(), size: members.size + added - removed };
}

export async function applyBlacklist(target: BlacklistTarget, changes: BlacklistChange[]): Promise<void> {
  if (changes.length === 0) return;
  const store = await openStore(target);
  try {
    await store.apply(changes, new Date().toISOString());
  } finally {
    await store.close();
  }
}

async function openStore(target: BlacklistTarget): Promise<Store> {
  return target.kind === 'redis' ? openRedis(target) : openMysql(target);
}

async function openRedis(target: Extract<BlacklistTarget, { kind: 'redis' }>): Promise<Store> {
  const client = new Redis(target.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 10_000,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new ConnectionError(`blacklist ${target.display}: cannot connect (${(err as Error).message})`, {
      hint: 'check the host, port and password of --blacklist',
    });
  }
  const reasons = `${target.key}:reason`;
  return {
    async read() {
      const members = new Set<string>();
      let cursor = '0';
      do {
        const [next, batch] = await client.sscan(target.key, cursor, 'COUNT', 1000);
        for (const m of batch) members.add(m);
        cursor = next;
      } while (cursor !== '0');
      const owned = new Map<string, string>();
      cursor = '0';
      do {
        const [next, batch] = await client.hscan(reasons, cursor, 'COUNT', 1000);
        for (let i = 0; i + 1 < batch.length; i += 2) owned.set(batch[i]!, batch[i + 1]!);
        cursor = next;
      } while (cursor !== '0');
      return { owned, members };
    },
    async apply(changes, at) {
      // One MULTI per 1000 changes: an application never sees an account in the set without
      // its reason, nor a reason left behind by a removal.
      for (let i = 0; i < changes.length; i += 1000) {
        const tx = client.multi();
        for (const c of changes.slice(i, i + 1000)) {
          if (c.op === 'remove') tx.srem(target.key, c.account).hdel(reasons, c.account);
          else
            tx.sadd(target.key, c.account).hset(
              reasons,
              c.account,
              JSON.stringify({ ...JSON.parse(reasonText(c.reason!)), at }),
            );
        }
        const res = await tx.exec();
        const failed = res?.find(([err]) => err);
        if (!res || failed)
          throw new ConnectionError(
            `blacklist ${target.display}: MULTI failed: ${String(failed?.[0] ?? 'aborted')}`,
          );
      }
    },
    async close() {
      client.disconnect();
      await Promise.resolve();
    },
  };
}

function openMysql(target: Extract<BlacklistTarget, { kind: 'mysql' }>): Store {
  // Reads through the read-only session; writes through a connection of their own, in one
  // transaction. The DSN is parsed (and so checked) before anything connects.
  connectionOptions(parseMysqlDsn(target.dsn, '--blacklist'));
  const t = `\`${target.table.db}\`.\`${target.table.table}\``;
  return {
    async read() {
      const s = await openSession(target.dsn, 'target', { label: `blacklist ${target.display}` });
      try {
        const exists = await s.query(
          'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
          [target.table.db, target.table.table],
        );
        if (exists.length === 0) return { owned: new Map(), members: new Set() };
        const rows = await s.query<{ account: string; reason: string | null; added_by: string | null }>(
          `SELECT account, reason, added_by FROM ${t}`,
        );
        const owned = new Map<string, string>();
        for (const r of rows) if (r.added_by === ADDED_BY) owned.set(String(r.account), r.reason ?? '');
        return { owned, members: new Set(rows.map((r) => String(r.account))) };
      } finally {
        await s.close();
      }
    },
    async apply(changes, at) {
      const mysql = await import('mysql2/promise');
      let conn;
      try {
        conn = await mysql.createConnection({
          ...connectionOptions(parseMysqlDsn(target.dsn, '--blacklist')),
          charset: 'utf8mb4_general_ci',
        });
      } catch (err) {
        throw new ConnectionError(`blacklist ${target.display}: cannot connect (${(err as Error).message})`);
      }
      try {
        await conn.query(
          `CREATE TABLE IF NOT EXISTS ${t} (account VARCHAR(191) NOT NULL PRIMARY KEY, amount VARCHAR(1024) NOT NULL, ` +
            `transactions INT NOT NULL, transaction_ids TEXT NOT NULL, reason TEXT NOT NULL, ` +
            `added_by VARCHAR(64) NOT NULL, updated_at DATETIME(3) NOT NULL) DEFAULT CHARSET=utf8mb4`,
        );
        await conn.beginTransaction();
        const when = at.replace('T', ' ').replace('Z', '');
        for (const c of changes) {
          if (c.op === 'remove') {
            await conn.query(`DELETE FROM ${t} WHERE account = ? AND added_by = ?`, [c.account, ADDED_BY]);
            continue;
          }
          const r = c.reason!;
          await conn.query(
            `INSERT INTO ${t} (account, amount, transactions, transaction_ids, reason, added_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ` +
              `ON DUPLICATE KEY UPDATE amount = VALUES(amount), transactions = VALUES(transactions), transaction_ids = VALUES(transaction_ids), reason = VALUES(reason), updated_at = VALUES(updated_at)`,
            [c.account, r.amount, r.transactions, r.ids.join(','), reasonText(r), ADDED_BY, when],
          );
        }
        await conn.commit();
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw new ConnectionError(`blacklist ${target.display}: ${(err as Error).message}`, {
          hint: `the blacklist user needs SELECT, INSERT, UPDATE, DELETE (and CREATE the first time) on ${target.table.display}`,
        });
      } finally {
        await conn.end().catch(() => undefined);
      }
    },
    async close() {
      await Promise.resolve();
    },
  };
}
