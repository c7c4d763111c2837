import type { Session } from './session.js';

/** System schemas are never compared. */
export const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

export interface ColumnInfo {
  name: string;
  position: number;
  type: string;
  /** MySQL data type without length, e.g. varchar, decimal, blob. */
  dataType: string;
  nullable: boolean;
  default: string | null;
  charset: string | null;
  collation: string | null;
  extra: string;
}

export interface IndexInfo {
  name: string;
  unique: boolean;
  columns: string[];
  /** Every column NOT NULL (a unique index usable as a row key). */
  type: string;
}

export interface TableSchema {
  db: string;
  name: string;
  /** `table`, `versioned` (system-versioned: current rows compared) or `sequence`. */
  kind: 'table' | 'versioned' | 'sequence';
  engine: string;
  collation: string;
  /** information_schema.TABLES.TABLE_ROWS: an estimate, for progress only. */
  estimatedRows: number;
  columns: ColumnInfo[];
  indexes: IndexInfo[];
  /** Foreign keys and CHECK constraints: `foreign key <name>` / `check constraint <name>` → definition. */
  constraints: Map<string, string>;
  /** Partitioning method, expression and partitions, or '' when not partitioned. */
  partitioning: string;
}

/** Views, triggers and routines of a database, as canonical definitions keyed by name. */
export interface DatabaseObjects {
  views: Map<string, string>;
  triggers: Map<string, string>;
  routines: Map<string, string>;
  events: Map<string, string>;
}

export interface SchemaSnapshot {
  tables: Map<string, TableSchema>;
  objects: Map<string, DatabaseObjects>;
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(',');
}

export async function listDatabases(s: Session): Promise<string[]> {
  const rows = await s.query<{ d: string }>(
    'SELECT SCHEMA_NAME AS d FROM information_schema.SCHEMATA ORDER BY 1',
  );
  return rows.map((r) => r.d).filter((d) => !SYSTEM_SCHEMAS.includes(d.toLowerCase()));
}

/** Reads tables, columns, indexes, views, triggers and routines of `databases` on one side. */
export async function readSchema(s: Session, databases: string[]): Promise<SchemaSnapshot> {
  const tables = new Map<string, TableSchema>();
  const objects = new Map<string, DatabaseObjects>();
  for (const db of databases)
    objects.set(db, { views: new Map(), triggers: new Map(), routines: new Map(), events: new Map() });
  if (databases.length === 0) return { tables, objects };
  const inList = placeholders(databases.length);
  const trows = await s.query<Record<string, string | null>>(
    `SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, TABLE_ROWS FROM information_schema.TABLES
     WHERE TABLE_SCHEMA IN (${inList}) AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'SEQUENCE')`,
    databases,
  );
  for (const r of trows) {
    const db = r['TABLE_SCHEMA']!;
    const name = r['TABLE_NAME']!;
    const type = r['TABLE_TYPE'];
    tables.set(`${db}.${name}`, {
      db,
      name,
      kind: type === 'SEQUENCE' ? 'sequence' : type === 'SYSTEM VERSIONED' ? 'versioned' : 'table',
      constraints: new Map(),
      partitioning: '',
      engine: r['ENGINE'] ?? '',
      collation: r['TABLE_COLLATION'] ?? '',
      estimatedRows: Number(r['TABLE_ROWS'] ?? 0),
      columns: [],
      indexes: [],
    });
  }
  const crows = await s.query<Record<string, string | null>>(
    `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE,
            COLUMN_DEFAULT, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (${inList}) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    databases,
  );
  for (const r of crows) {
    const t = tables.get(`${r['TABLE_SCHEMA']}.${r['TABLE_NAME']}`);
    if (!t) continue; // a view's columns
    t.columns.push({
      name: r['COLUMN_NAME']!,
      position: Number(r['ORDINAL_POSITION']),
      type: r['COLUMN_TYPE']!,
      dataType: r['DATA_TYPE']!.toLowerCase(),
      nullable: r['IS_NULLABLE'] === 'YES',
      default: r['COLUMN_DEFAULT'] ?? null,
      charset: r['CHARACTER_SET_NAME'] ?? null,
      collation: r['COLLATION_NAME'] ?? null,
      extra: r['EXTRA'] ?? '',
    });
  }
  const irows = await s.query<Record<string, string | null>>(
    `SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, INDEX_TYPE
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN (${inList})
     ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    databases,
  );
  for (const r of irows) {
    const t = tables.get(`${r['TABLE_SCHEMA']}.${r['TABLE_NAME']}`);
    if (!t) continue;
    const name = r['INDEX_NAME']!;
    let idx = t.indexes.find((i) => i.name === name);
    if (!idx) {
      idx = { name, unique: String(r['NON_UNIQUE']) === '0', columns: [], type: r['INDEX_TYPE'] ?? '' };
      t.indexes.push(idx);
    }
    idx.columns.push(r['SUB_PART'] ? `${r['COLUMN_NAME']}(${r['SUB_PART']})` : r['COLUMN_NAME']!);
  }
  await readConstraints(s, databases, tables);
  await readPartitioning(s, databases, tables);
  const erows = await s.query<Record<string, string | null>>(
    `SELECT EVENT_SCHEMA, EVENT_NAME, DEFINER, EVENT_DEFINITION, EVENT_TYPE, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD,
            STARTS, ENDS, STATUS, ON_COMPLETION, EVENT_COMMENT
     FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (${inList})`,
    databases,
  );
  for (const r of erows) {
    objects
      .get(r['EVENT_SCHEMA']!)
      ?.events.set(
        r['EVENT_NAME']!,
        `${r['EVENT_TYPE']} ${r['EXECUTE_AT'] ?? ''} every ${r['INTERVAL_VALUE'] ?? ''} ${r['INTERVAL_FIELD'] ?? ''} ` +
          `starts ${r['STARTS'] ?? ''} ends ${r['ENDS'] ?? ''} ${r['ON_COMPLETION']} ${r['EVENT_COMMENT'] ?? ''}: ${r['EVENT_DEFINITION'] ?? ''}` +
          `${EVENT_STATUS}${r['STATUS']}`,
      );
  }
  const vrows = await s.query<Record<string, string | null>>(
    `SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE
     FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (${inList})`,
    databases,
  );
  for (const r of vrows) {
    objects
      .get(r['TABLE_SCHEMA']!)
      ?.views.set(
        r['TABLE_NAME']!,
        `${r['VIEW_DEFINITION'] ?? ''} [${r['CHECK_OPTION']}; ${r['SECURITY_TYPE']}]`,
      );
  }
  const grows = await s.query<Record<string, string | null>>(
    `SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, ACTION_STATEMENT
     FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (${inList})`,
    databases,
  );
  for (const r of grows) {
    objects
      .get(r['TRIGGER_SCHEMA']!)
      ?.triggers.set(
        r['TRIGGER_NAME']!,
        `${r['ACTION_TIMING']} ${r['EVENT_MANIPULATION']} ON ${r['EVENT_OBJECT_TABLE']} #${r['ACTION_ORDER']}: ${r['ACTION_STATEMENT']}`,
      );
  }
  const prows = await s.query<Record<string, string | null>>(
    `SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC, SECURITY_TYPE
     FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (${inList})`,
    databases,
  );
  for (const r of prows) {
    objects
      .get(r['ROUTINE_SCHEMA']!)
      ?.routines.set(
        `${r['ROUTINE_TYPE']} ${r['ROUTINE_NAME']}`,
        `${r['DTD_IDENTIFIER'] ?? ''} ${r['IS_DETERMINISTIC']} ${r['SECURITY_TYPE']}: ${r['ROUTINE_DEFINITION'] ?? ''}`,
      );
  }
  return { tables, objects };
}

export interface SchemaDifference {
  /** `db.table`, `db.view`, `db` … */
  object: string;
  message: string;
}

function describeColumn(c: ColumnInfo): string {
  return `${c.type}${c.nullable ? ' NULL' : ' NOT NULL'} DEFAULT ${c.default ?? 'none'} ${c.charset ?? ''}/${c.collation ?? ''} ${c.extra}`.trim();
}

function describeIndex(i: IndexInfo): string {
  return `${i.unique ? 'UNIQUE ' : ''}${i.type}(${i.columns.join(',')})`;
}

/** Differences of one table's structure (columns, indexes, engine, collation). */
export function compareTableSchema(src: TableSchema, dst: TableSchema): SchemaDifference[] {
  const object = `${src.db}.${src.name}`;
  const out: SchemaDifference[] = [];
  if (src.engine !== dst.engine)
    out.push({ object, message: `engine ${src.engine} on source, ${dst.engine} on target` });
  if (src.collation !== dst.collation)
    out.push({ object, message: `table collation ${src.collation} on source, ${dst.collation} on target` });
  const dstCols = new Map(dst.columns.map((c) => [c.name, c]));
  for (const c of src.columns) {
    const d = dstCols.get(c.name);
    if (!d) out.push({ object, message: `column ${c.name} missing on target` });
    else if (describeColumn(c) !== describeColumn(d))
      out.push({
        object,
        message: `column ${c.name}: ${describeColumn(c)} on source, ${describeColumn(d)} on target`,
      });
  }
  const srcColNames = new Set(src.columns.map((c) => c.name));
  for (const d of dst.columns)
    if (!srcColNames.has(d.name)) out.push({ object, message: `column ${d.name} extra on target` });
  const srcOrder = src.columns.map((c) => c.name).filter((n) => dstCols.has(n));
  const dstOrder = dst.columns.map((c) => c.name).filter((n) => srcColNames.has(n));
  if (srcOrder.join(',') !== dstOrder.join(','))
    out.push({
      object,
      message: `column order differs: (${srcOrder.join(', ')}) vs (${dstOrder.join(', ')})`,
    });
  const dstIdx = new Map(dst.indexes.map((i) => [i.name, i]));
  for (const i of src.indexes) {
    const d = dstIdx.get(i.name);
    if (!d) out.push({ object, message: `index ${i.name} missing on target` });
    else if (describeIndex(i) !== describeIndex(d))
      out.push({
        object,
        message: `index ${i.name}: ${describeIndex(i)} on source, ${describeIndex(d)} on target`,
      });
  }
  const srcIdx = new Set(src.indexes.map((i) => i.name));
  for (const d of dst.indexes)
    if (!srcIdx.has(d.name)) out.push({ object, message: `index ${d.name} extra on target` });
  for (const [name, def] of src.constraints) {
    const other = dst.constraints.get(name);
    if (other === undefined) out.push({ object, message: `${name} missing on target` });
    else if (other !== def) out.push({ object, message: `${name}: ${def} on source, ${other} on target` });
  }
  for (const name of dst.constraints.keys())
    if (!src.constraints.has(name)) out.push({ object, message: `${name} extra on target` });
  if (src.partitioning !== dst.partitioning)
    out.push({
      object,
      message: `partitioning: ${src.partitioning || 'none'} on source, ${dst.partitioning || 'none'} on target`,
    });
  return out;
}

/** Differences of a database's views, triggers and routines. */
export function compareDatabaseObjects(
  db: string,
  src: DatabaseObjects,
  dst: DatabaseObjects,
): SchemaDifference[] {
  const out: SchemaDifference[] = [];
  const kinds: [string, keyof DatabaseObjects][] = [
    ['view', 'views'],
    ['trigger', 'triggers'],
    ['routine', 'routines'],
    ['event', 'events'],
  ];
  for (const [label, key] of kinds) {
    const a = src[key];
    const b = dst[key];
    for (const [name, def] of a) {
      const other = b.get(name);
      if (other === undefined)
        out.push({ object: `${db}.${name}`, message: `${label} ${name} missing on target` });
      else if (!sameDefinition(key, def, other))
        out.push({ object: `${db}.${name}`, message: `${label} ${name} definition differs` });
    }
    for (const name of b.keys())
      if (!a.has(name)) out.push({ object: `${db}.${name}`, message: `${label} ${name} extra on target` });
  }
  return out;
}

/** The row key: the primary key, else the first unique index whose columns are all NOT NULL. */
export function chooseRowKey(t: TableSchema): { index: string; columns: string[] } | undefined {
  const cols = new Map(t.columns.map((c) => [c.name, c]));
  const usable = (i: IndexInfo) =>
    i.unique && i.columns.every((c) => cols.has(c) && !cols.get(c)!.nullable) && i.type !== 'FULLTEXT';
  const pk = t.indexes.find((i) => i.name === 'PRIMARY');
  if (pk && usable(pk)) return { index: pk.name, columns: pk.columns };
  const uk = t.indexes.find(usable);
  return uk ? { index: uk.name, columns: uk.columns } : undefined;
}

async function readConstraints(
  s: Session,
  databases: string[],
  tables: Map<string, TableSchema>,
): Promise<void> {
  const inList = placeholders(databases.length);
  const fk = await s.query<Record<string, string | null>>(
    `SELECT r.CONSTRAINT_SCHEMA, r.TABLE_NAME, r.CONSTRAINT_NAME, r.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE,
            r.UNIQUE_CONSTRAINT_SCHEMA,
            GROUP_CONCAT(k.COLUMN_NAME, '->', k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION) AS cols
     FROM information_schema.REFERENTIAL_CONSTRAINTS r
     JOIN information_schema.KEY_COLUMN_USAGE k
       ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.TABLE_NAME = r.TABLE_NAME AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME
     WHERE r.CONSTRAINT_SCHEMA IN (${inList})
     GROUP BY r.CONSTRAINT_SCHEMA, r.TABLE_NAME, r.CONSTRAINT_NAME, r.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE,
              r.UNIQUE_CONSTRAINT_SCHEMA`,
    databases,
  );
  for (const r of fk) {
    tables
      .get(`${r['CONSTRAINT_SCHEMA']}.${r['TABLE_NAME']}`)
      ?.constraints.set(
        `foreign key ${r['CONSTRAINT_NAME']}`,
        `(${r['cols']}) REFERENCES ${r['UNIQUE_CONSTRAINT_SCHEMA']}.${r['REFERENCED_TABLE_NAME']} ON UPDATE ${r['UPDATE_RULE']} ON DELETE ${r['DELETE_RULE']}`,
      );
  }
  const ck = await s.query<Record<string, string | null>>(
    `SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
     WHERE CONSTRAINT_SCHEMA IN (${inList})`,
    databases,
  );
  for (const r of ck) {
    tables
      .get(`${r['CONSTRAINT_SCHEMA']}.${r['TABLE_NAME']}`)
      ?.constraints.set(`check constraint ${r['CONSTRAINT_NAME']}`, `CHECK (${r['CHECK_CLAUSE']})`);
  }
}

async function readPartitioning(
  s: Session,
  databases: string[],
  tables: Map<string, TableSchema>,
): Promise<void> {
  const rows = await s.query<Record<string, string | null>>(
    `SELECT TABLE_SCHEMA, TABLE_NAME, PARTITION_NAME, SUBPARTITION_NAME, PARTITION_METHOD, SUBPARTITION_METHOD,
            PARTITION_EXPRESSION, SUBPARTITION_EXPRESSION, PARTITION_DESCRIPTION
     FROM information_schema.PARTITIONS
     WHERE TABLE_SCHEMA IN (${placeholders(databases.length)}) AND PARTITION_NAME IS NOT NULL
     ORDER BY TABLE_SCHEMA, TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION`,
    databases,
  );
  for (const r of rows) {
    const t = tables.get(`${r['TABLE_SCHEMA']}.${r['TABLE_NAME']}`);
    if (!t) continue;
    const head = `${r['PARTITION_METHOD']}(${r['PARTITION_EXPRESSION'] ?? ''})${r['SUBPARTITION_METHOD'] ? ` SUB ${r['SUBPARTITION_METHOD']}(${r['SUBPARTITION_EXPRESSION'] ?? ''})` : ''}:`;
    const part = ` ${r['PARTITION_NAME']}${r['SUBPARTITION_NAME'] ? `/${r['SUBPARTITION_NAME']}` : ''}${r['PARTITION_DESCRIPTION'] ? ` ${r['PARTITION_DESCRIPTION']}` : ''}`;
    t.partitioning = (t.partitioning || head) + part;
  }
}

const EVENT_STATUS = ' status=';

/**
 * A replicated event is SLAVESIDE_DISABLED on the replica by design, whatever its status on the
 * primary: then the status is not compared, the rest of the definition is.
 */
function sameDefinition(kind: keyof DatabaseObjects, a: string, b: string): boolean {
  if (kind !== 'events') return a === b;
  const cut = (x: string) => {
    const i = x.lastIndexOf(EVENT_STATUS);
    return [x.slice(0, i), x.slice(i + EVENT_STATUS.length)] as const;
  };
  const [da, sa] = cut(a);
  const [db, sb] = cut(b);
  return da === db && (sa === sb || sa === 'SLAVESIDE_DISABLED' || sb === 'SLAVESIDE_DISABLED');
}
