import { setTimeout as sleep } from 'node:timers/promises';
import {
  formatGtidSet,
  lastByDomain,
  parseMariaGtidList,
  parseMysqlGtidSet,
  subtractGtidSets,
} from '../../checkers/mysql/gtid.js';
import { openSession, type Session } from '../../checkers/mysql/session.js';

/**
 * The replica-only gate of an unplanned switch: Main may be gone, so the DR replica is judged on
 * its own. It may be promoted once it has applied everything it received (executed GTIDs ⊇
 * retrieved GTIDs) and its SQL thread is idle. While the SQL thread runs behind, the gate waits;
 * when it is stopped with relay log left, the gate fails naming the GTIDs not applied.
 */
export interface ReplicaGateResult {
  ok: boolean;
  /** One line: why it passed or failed. */
  summary: string;
  retrieved: string;
  executed: string;
  /** GTIDs received but not applied (empty when ok). */
  notApplied: string[];
  sqlRunning: string;
  sqlState: string;
  waitedMs: number;
}

interface Status {
  retrieved: string;
  executed: string;
  notApplied: string[];
  sqlRunning: string;
  sqlState: string;
  lastSqlError: string;
}

const NAMES_SHOWN = 20;

export async function waitForReplicaApplied(
  replicaDsn: string,
  opts: { signal: AbortSignal; pollMs?: number; log?: (line: string) => void },
): Promise<ReplicaGateResult> {
  const started = Date.now();
  const s = await openSession(replicaDsn, 'target', { label: 'DR replica', signal: opts.signal });
  try {
    const [v] = await s.query<{ v: string }>('SELECT VERSION() AS v');
    const mariadb = /mariadb/i.test(v?.v ?? '');
    for (;;) {
      const st = await readStatus(s, mariadb);
      const idle =
        st.sqlRunning !== 'Yes' || /read all relay log|waiting for more updates/i.test(st.sqlState);
      const base = {
        retrieved: st.retrieved,
        executed: st.executed,
        notApplied: st.notApplied,
        sqlRunning: st.sqlRunning,
        sqlState: st.sqlState,
        waitedMs: Date.now() - started,
      };
      if (st.notApplied.length === 0 && idle) {
        return {
          ...base,
          ok: true,
          summary: `DR replica ${s.display} applied everything it received (${st.executed || 'no GTIDs'}); SQL thread ${st.sqlRunning === 'Yes' ? 'idle' : 'stopped'}`,
        };
      }
      if (st.sqlRunning !== 'Yes') {
        const shown = st.notApplied.slice(0, NAMES_SHOWN).join(', ');
        const more = st.notApplied.length > NAMES_SHOWN ? ` +${st.notApplied.length - NAMES_SHOWN} more` : '';
        return {
          ...base,
          ok: false,
          summary:
            `DR replica ${s.display}: the SQL thread is stopped with relay log left; GTIDs received but not applied: ${shown}${more}` +
            (st.lastSqlError ? ` (last SQL error: ${st.lastSqlError})` : ''),
        };
      }
      opts.log?.(`replica applying relay log: ${st.notApplied.length || 'some'} GTIDs left (${st.sqlState})`);
      await sleep(opts.pollMs ?? 250, undefined, { signal: opts.signal });
    }
  } finally {
    await s.close();
  }
}

async function readStatus(s: Session, mariadb: boolean): Promise<Status> {
  const [row] = await s.query(mariadb ? 'SHOW SLAVE STATUS' : 'SHOW REPLICA STATUS');
  if (!row) throw new Error(`${s.display} is not a replica (its replication status is empty)`);
  const pick = (...names: string[]) => {
    for (const n of names)
      if (typeof row[n] === 'string' || typeof row[n] === 'number') return String(row[n]);
    return '';
  };
  const sqlRunning = pick('Slave_SQL_Running', 'Replica_SQL_Running');
  const sqlState = pick('Slave_SQL_Running_State', 'Replica_SQL_Running_State');
  const lastSqlError = pick('Last_SQL_Error');
  if (!mariadb) {
    const retrieved = pick('Retrieved_Gtid_Set');
    const executed = pick('Executed_Gtid_Set');
    const left = subtractGtidSets(parseMysqlGtidSet(retrieved), parseMysqlGtidSet(executed));
    const text = formatGtidSet(left);
    return {
      retrieved,
      executed,
      notApplied: text ? text.split(',') : [],
      sqlRunning,
      sqlState,
      lastSqlError,
    };
  }
  // MariaDB: Gtid_IO_Pos is the last GTID received per domain; gtid_slave_pos what was applied.
  const retrieved = pick('Gtid_IO_Pos');
  const [pos] = await s.query<{ p: string }>('SELECT @@GLOBAL.gtid_slave_pos AS p');
  const executed = pos?.p ?? '';
  const applied = lastByDomain(parseMariaGtidList(executed));
  const notApplied: string[] = [];
  for (const g of lastByDomain(parseMariaGtidList(retrieved)).values()) {
    const done = applied.get(g.domain)?.seq ?? 0n;
    for (let seq = done + 1n; seq <= g.seq && notApplied.length <= 1000; seq++)
      notApplied.push(`${g.domain}-${g.server}-${seq}`);
  }
  return { retrieved, executed, notApplied, sqlRunning, sqlState, lastSqlError };
}
