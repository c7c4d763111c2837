import { UsageError } from '../../shared/errors.js';
import {
  compareMariaPositions,
  countGtidsBySource,
  findMariaErrant,
  formatGtidSet,
  formatMariaGtid,
  parseMariaGtidList,
  parseMysqlGtidSet,
  subtractGtidSets,
} from './gtid.js';
import type { Session } from './session.js';

export type Flavor = 'mariadb' | 'mysql';

export interface ServerInfo {
  flavor: Flavor;
  version: string;
  serverId: number;
}

export async function readServerInfo(s: Session): Promise<ServerInfo> {
  const [row] = await s.query<{ v: string; id: string }>('SELECT VERSION() AS v, @@server_id AS id');
  const version = row?.v ?? '';
  return { flavor: /mariadb/i.test(version) ? 'mariadb' : 'mysql', version, serverId: Number(row?.id ?? 0) };
}

/** The replication threads of the target, from SHOW SLAVE/REPLICA STATUS. */
export interface ReplicaThreads {
  sourceHost: string;
  sourcePort: number;
  ioRunning: string;
  sqlRunning: string;
  secondsBehind: number | null;
  lastIoError: string;
  lastSqlError: string;
  usingGtid: string;
}

/** Reads the target's replication status; a server that is not a replica is bad input (exit 2). */
export async function readReplicaThreads(target: Session, info: ServerInfo): Promise<ReplicaThreads> {
  const sql = info.flavor === 'mariadb' ? 'SHOW SLAVE STATUS' : 'SHOW REPLICA STATUS';
  const rows = await target.query(sql);
  const r = rows[0];
  if (!r) {
    throw new UsageError(`--target ${target.display} is not a replica (${sql} is empty)`, {
      hint: 'give the DR replica as --target and its primary as --source',
    });
  }
  const pick = (...names: string[]): string => {
    for (const n of names) {
      const v = r[n];
      if (typeof v === 'string' || typeof v === 'number') return String(v);
    }
    return '';
  };
  const behind = pick('Seconds_Behind_Master', 'Seconds_Behind_Source');
  return {
    sourceHost: pick('Master_Host', 'Source_Host'),
    sourcePort: Number(pick('Master_Port', 'Source_Port')),
    ioRunning: pick('Slave_IO_Running', 'Replica_IO_Running'),
    sqlRunning: pick('Slave_SQL_Running', 'Replica_SQL_Running'),
    secondsBehind: behind === '' ? null : Number(behind),
    lastIoError: pick('Last_IO_Error'),
    lastSqlError: pick('Last_SQL_Error'),
    usingGtid: pick('Using_Gtid', 'Auto_Position'),
  };
}

/** The primary's position captured at the start: what the replica must reach. */
export async function readPrimaryPosition(source: Session, info: ServerInfo): Promise<string> {
  const sql = info.flavor === 'mariadb' ? 'SELECT @@gtid_binlog_pos AS p' : 'SELECT @@gtid_executed AS p';
  const [row] = await source.query<{ p: string | null }>(sql);
  return (row?.p ?? '').replace(/\s+/g, '');
}

/**
 * Waits (up to `waitMs`) for the replica to apply `position`. Returns true when it did.
 * Uses MASTER_GTID_WAIT (MariaDB) / WAIT_FOR_EXECUTED_GTID_SET (MySQL); never writes.
 */
export async function waitForReplicaCatchUp(
  target: Session,
  info: ServerInfo,
  position: string,
  waitMs: number,
): Promise<boolean> {
  if (position === '') return true;
  const seconds = Math.max(0, waitMs) / 1000;
  const sql =
    info.flavor === 'mariadb'
      ? 'SELECT MASTER_GTID_WAIT(?, ?) AS r'
      : 'SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS r';
  const [row] = await target.query<{ r: string | number | null }>(sql, [position, seconds]);
  return Number(row?.r) === 0;
}

export interface GtidComparison {
  flavor: Flavor;
  primaryPosition: string;
  replicaPosition: string;
  /** Transactions of the primary's captured position the replica lacks, per domain or uuid. */
  missing: Record<string, number>;
  missingTotal: number;
  /** Transactions the replica has that the primary has not (GTIDs, or last GTID per domain-server). */
  errant: string[];
  errantTotal: number;
  raw: Record<string, string>;
}

export async function compareGtids(
  source: Session,
  target: Session,
  info: ServerInfo,
  primaryPosition: string,
): Promise<GtidComparison> {
  if (info.flavor === 'mariadb') {
    const [t] = await target.query<Record<string, string | null>>(
      'SELECT @@gtid_slave_pos AS slave_pos, @@gtid_current_pos AS current_pos, @@gtid_binlog_pos AS binlog_pos, @@gtid_binlog_state AS binlog_state',
    );
    const [s] = await source.query<Record<string, string | null>>(
      'SELECT @@gtid_binlog_state AS binlog_state, @@gtid_binlog_pos AS binlog_pos',
    );
    const slavePos = t?.['slave_pos'] ?? '';
    const gaps = compareMariaPositions(parseMariaGtidList(primaryPosition), parseMariaGtidList(slavePos));
    const missing: Record<string, number> = {};
    for (const g of gaps) if (g.missing > 0) missing[`domain ${g.domain}`] = g.missing;
    const errant = findMariaErrant(
      parseMariaGtidList(s?.['binlog_state'] ?? ''),
      parseMariaGtidList(t?.['binlog_state'] ?? ''),
    );
    return {
      flavor: 'mariadb',
      primaryPosition,
      replicaPosition: slavePos,
      missing,
      missingTotal: Object.values(missing).reduce((a, b) => a + b, 0),
      errant: errant.map(formatMariaGtid),
      errantTotal: errant.length,
      raw: {
        primaryBinlogPos: s?.['binlog_pos'] ?? '',
        primaryBinlogState: s?.['binlog_state'] ?? '',
        replicaSlavePos: slavePos,
        replicaCurrentPos: t?.['current_pos'] ?? '',
        replicaBinlogPos: t?.['binlog_pos'] ?? '',
        replicaBinlogState: t?.['binlog_state'] ?? '',
      },
    };
  }
  const [t] = await target.query<{ e: string | null }>('SELECT @@gtid_executed AS e');
  const [s] = await source.query<{ e: string | null }>('SELECT @@gtid_executed AS e');
  const primarySet = parseMysqlGtidSet(primaryPosition);
  const replicaSet = parseMysqlGtidSet(t?.e ?? '');
  const missingSet = subtractGtidSets(primarySet, replicaSet);
  const errantSet = subtractGtidSets(replicaSet, parseMysqlGtidSet(s?.e ?? ''));
  const missing = countGtidsBySource(missingSet);
  const errantCounts = countGtidsBySource(errantSet);
  return {
    flavor: 'mysql',
    primaryPosition,
    replicaPosition: formatGtidSet(replicaSet),
    missing,
    missingTotal: Object.values(missing).reduce((a, b) => a + b, 0),
    errant: errantSet.size > 0 ? [formatGtidSet(errantSet)] : [],
    errantTotal: Object.values(errantCounts).reduce((a, b) => a + b, 0),
    raw: { primaryGtidExecuted: s?.e ?? '', replicaGtidExecuted: t?.e ?? '' },
  };
}
