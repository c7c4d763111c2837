import { readReplicaThreads, readServerInfo, type Flavor } from '../../checkers/mysql/replication.js';
import { openSession, type Session } from '../../checkers/mysql/session.js';
import { parseMysqlDsn } from '../../shared/dsn.js';
import type { Direction } from '../runbook/schema.js';
import type { ResourceUse } from './scope.js';
import { line, type Probe, type ProbeLine } from './types.js';

/** Replication this far behind is a warning: the gates will wait for it on the night. */
export const LAG_WARNING_SECONDS = 60;

type Side = 'primary' | 'replica';

interface MysqlProbeInput {
  use: ResourceUse;
  side: Side;
  dsn: string;
  direction: Direction | undefined;
  /** Judge the state (replication, read_only): only for the direction that runs next. */
  state: boolean;
}

/** One probe per side of a mysql resource the steps use. */
export function mysqlProbes(
  use: ResourceUse,
  resource: { primary: string; replica: string },
  direction: Direction | undefined,
  state: boolean,
): Probe[] {
  return [...use.sides].sort().map((side) => {
    const dsn = side === 'primary' ? resource.primary : resource.replica;
    let display = '(bad DSN)';
    try {
      display = parseMysqlDsn(dsn, `resources.${use.name}.${side}`).display;
    } catch {
      /* the probe reports it */
    }
    return {
      key: `mysql:${use.name}:${side}:${dsn}:${state}:${use.gate}:${[...use.objects].join(',')}`,
      group: use.name,
      kind: 'mysql',
      item: `${side} ${display}`,
      resource: use.name,
      direction,
      timeoutFix: `check that ${display} is up and reachable from this host (firewall, VPN), or raise --timeout`,
      run: ({ signal, timeoutMs }) => probeSide({ use, side, dsn, direction, state }, signal, timeoutMs),
    };
  });
}

async function probeSide(
  input: MysqlProbeInput,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<ProbeLine[]> {
  const { use, side } = input;
  const base = { group: use.name, kind: 'mysql', direction: input.direction };
  const dsn = parseMysqlDsn(input.dsn, `resources.${use.name}.${side}`);
  const who = `${side} ${dsn.display}`;
  let s: Session;
  try {
    s = await openSession(input.dsn, side === 'primary' ? 'source' : 'target', {
      signal,
      connectTimeoutMs: timeoutMs,
      livenessIntervalMs: timeoutMs * 4,
    });
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    return [
      line(
        base,
        `${side} connect`,
        'fail',
        (e.message ?? String(err)).replace(/^(source|target) /, `${side} `),
        e.hint?.replace(/\b(source|target)\b/g, side) ?? `check the ${side} DSN of resource ${use.name}`,
      ),
    ];
  }
  try {
    const out: ProbeLine[] = [];
    const info = await readServerInfo(s);
    out.push(line(base, `${side} connect`, 'ok', `${who}: ${info.version}`));
    if (use.gate) out.push(...(await probePrivileges(s, info.flavor, base, side, dsn.user, use)));
    if (use.gate && use.objects.size > 0) out.push(await probeSchemas(s, base, side, [...use.objects]));
    if (input.state) out.push(...(await probeState(s, info.flavor, base, side, use.mainMayBeGone)));
    return out;
  } finally {
    await s.close();
  }
}

/** What a gate's check user needs on every side (the switchback reads the other way round). */
function requiredPrivileges(flavor: Flavor): { name: string; accepts: string[]; why: string }[] {
  const common = [
    { name: 'SELECT', accepts: ['SELECT'], why: 'to read the rows and the schema' },
    { name: 'SHOW VIEW', accepts: ['SHOW VIEW'], why: 'to compare view definitions' },
  ];
  return flavor === 'mariadb'
    ? [
        ...common,
        {
          name: 'BINLOG MONITOR',
          accepts: ['BINLOG MONITOR', 'REPLICATION CLIENT'],
          why: 'REPLICATION CLIENT (BINLOG MONITOR on MariaDB): to read the GTID position',
        },
        {
          name: 'SLAVE MONITOR',
          accepts: ['SLAVE MONITOR', 'REPLICA MONITOR'],
          why: 'to read SHOW SLAVE STATUS',
        },
      ]
    : [
        ...common,
        {
          name: 'REPLICATION CLIENT',
          accepts: ['REPLICATION CLIENT'],
          why: 'to read the GTID position and replica status',
        },
      ];
}

async function probePrivileges(
  s: Session,
  flavor: Flavor,
  base: { group: string; kind: string; direction: Direction | undefined },
  side: Side,
  user: string,
  use: ResourceUse,
): Promise<ProbeLine[]> {
  // The current account as GRANTEE spells it ('user'@'host'); only its own rows are read.
  const [cu] = await s.query<{ u: string }>('SELECT CURRENT_USER() AS u');
  const current = cu?.u ?? user;
  const at = current.lastIndexOf('@');
  const account = at < 0 ? `'${current}'` : `'${current.slice(0, at)}'@'${current.slice(at + 1)}'`;
  const global = new Set(
    (
      await s.query<{ p: string }>(
        'SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?',
        [account],
      )
    ).map((r) => r.p.toUpperCase()),
  );
  const perSchema = new Map<string, Set<string>>();
  for (const r of await s.query<{ d: string; p: string }>(
    'SELECT TABLE_SCHEMA AS d, PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?',
    [account],
  )) {
    if (!perSchema.has(r.d)) perSchema.set(r.d, new Set());
    perSchema.get(r.d)!.add(r.p.toUpperCase());
  }
  const missing: { name: string; why: string }[] = [];
  for (const req of requiredPrivileges(flavor)) {
    if (req.accepts.some((p) => global.has(p))) continue;
    // SELECT and SHOW VIEW may be granted per schema: enough when every gated schema has them.
    const schemaLevel = req.name === 'SELECT' || req.name === 'SHOW VIEW';
    if (schemaLevel && use.objects.size > 0 && [...use.objects].every((d) => perSchema.get(d)?.has(req.name)))
      continue;
    missing.push(req);
  }
  if (missing.length === 0)
    return [line(base, `${side} privileges`, 'ok', `${current} has what the gates need`)];
  const names = missing.map((m) => m.name).join(', ');
  return [
    line(
      base,
      `${side} privileges`,
      'fail',
      `check user ${current} lacks ${missing.map((m) => `${m.name} (${m.why})`).join('; ')}`,
      `GRANT ${names} ON *.* TO ${account}`,
    ),
  ];
}

async function probeSchemas(
  s: Session,
  base: { group: string; kind: string; direction: Direction | undefined },
  side: Side,
  schemas: string[],
): Promise<ProbeLine> {
  const rows = await s.query<{ n: string }>(
    `SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${schemas.map(() => '?').join(',')})`,
    schemas,
  );
  const found = new Set(rows.map((r) => r.n));
  const missing = schemas.filter((d) => !found.has(d)).sort();
  if (missing.length === 0)
    return line(base, `${side} schemas`, 'ok', `${schemas.length} gated schema(s) present`);
  return line(
    base,
    `${side} schemas`,
    'fail',
    `schema${missing.length === 1 ? '' : 's'} ${missing.join(', ')} missing on the ${side} (or not visible to the check user)`,
    `create or restore ${missing.join(', ')} on the ${side}, grant the check user SELECT on it, or fix the gate's databases:`,
  );
}

async function probeState(
  s: Session,
  flavor: Flavor,
  base: { group: string; kind: string; direction: Direction | undefined },
  side: Side,
  mainMayBeGone: boolean,
): Promise<ProbeLine[]> {
  const out: ProbeLine[] = [];
  const [ro] = await s.query<{ ro: string; strict: string | null }>(
    flavor === 'mariadb'
      ? 'SELECT @@global.read_only AS ro, @@global.gtid_strict_mode AS strict'
      : 'SELECT @@global.read_only AS ro, NULL AS strict',
  );
  const readOnly = String(ro?.ro ?? '0') !== '0';
  if (side === 'primary') {
    out.push(
      readOnly
        ? line(
            base,
            'primary read_only',
            'warning',
            'the primary is already read_only: a freeze from an earlier run not undone?',
            'SET GLOBAL read_only = OFF on the primary if it should take writes until the switch',
          )
        : line(base, 'primary read_only', 'ok', 'read_only = OFF (takes writes until the freeze)'),
    );
    return out;
  }
  out.push(
    readOnly
      ? line(base, 'replica read_only', 'ok', 'read_only = ON')
      : line(
          base,
          'replica read_only',
          'warning',
          'the replica is writable (read_only = OFF): a stray write there becomes an errant transaction',
          'SET GLOBAL read_only = ON on the replica until it is promoted',
        ),
  );
  let t;
  try {
    t = await readReplicaThreads(s, { flavor, version: '', serverId: 0 });
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    const notReplica = /is not a replica/.test(e.message ?? '');
    out.push(
      line(
        base,
        'replica replication',
        'fail',
        notReplica
          ? 'the replica does not replicate (SHOW SLAVE STATUS is empty)'
          : (e.message ?? String(err)),
        notReplica
          ? 'set up replication from the primary (CHANGE MASTER TO … MASTER_USE_GTID=slave_pos; START SLAVE)'
          : (e.hint ?? 'grant the check user SLAVE MONITOR (MariaDB) or REPLICATION CLIENT (MySQL)'),
      ),
    );
    return out;
  }
  const sql = flavor === 'mariadb' ? 'SLAVE' : 'REPLICA';
  if (t.ioRunning !== 'Yes' || t.sqlRunning !== 'Yes') {
    const errors = [
      t.lastIoError && `IO error: ${t.lastIoError}`,
      t.lastSqlError && `SQL error: ${t.lastSqlError}`,
    ]
      .filter(Boolean)
      .join('; ');
    const broken = errors !== '';
    const threads = `IO thread ${t.ioRunning || 'No'}, SQL thread ${t.sqlRunning || 'No'}${broken ? `; ${errors}` : ''}`;
    // Unplanned: Main may be gone, so the link to it may be down; the replica-only gate decides
    // whether everything received was applied.
    out.push(
      mainMayBeGone
        ? line(
            base,
            'replica replication',
            'warning',
            `replication not running (${threads}): expected when Main is gone`,
            'the replica-only gate waits for the relay log to be applied and names any GTID left unapplied',
          )
        : line(
            base,
            'replica replication',
            'fail',
            `replication ${broken ? 'broken' : 'stopped'}: ${threads}`,
            broken
              ? `fix the cause of the error on the replica, then START ${sql}; the gates cannot prove RPO = 0 until it runs`
              : `START ${sql} on the replica and watch that both threads stay Yes`,
          ),
    );
  } else if (t.secondsBehind !== null && t.secondsBehind > LAG_WARNING_SECONDS) {
    out.push(
      line(
        base,
        'replica replication',
        'warning',
        `running, ${t.secondsBehind}s behind the primary`,
        'find why the replica lags (long transaction, slow disk); the gates will wait for it on the night',
      ),
    );
  } else {
    out.push(
      line(
        base,
        'replica replication',
        'ok',
        `IO and SQL threads running, ${t.secondsBehind ?? '?'}s behind`,
      ),
    );
  }
  const gtidOff = t.usingGtid === '' || /^(no|0)$/i.test(t.usingGtid);
  if (gtidOff)
    out.push(
      line(
        base,
        'replica GTID',
        'warning',
        'the replica does not replicate by GTID: the gates compare GTID positions',
        flavor === 'mariadb'
          ? `STOP ${sql}; CHANGE MASTER TO MASTER_USE_GTID=slave_pos; START ${sql}`
          : 'CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION=1',
      ),
    );
  if (flavor === 'mariadb' && String(ro?.strict ?? '0') === '0')
    out.push(
      line(
        base,
        'replica gtid_strict_mode',
        'warning',
        'gtid_strict_mode is OFF: an out-of-order GTID would not stop replication',
        'SET GLOBAL gtid_strict_mode = ON on both sides (and in the server config)',
      ),
    );
  return out;
}
