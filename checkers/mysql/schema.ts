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
  engine: string;
  collation: string;
  /** information_schema.TABLES.TABLE_ROWS: an estimate, for progress only. */
  estimatedRows: number;
  columns: ColumnInfo[];
  indexes: IndexInfo[];
}

/** Views, triggers and routines of a database, as canonical definitions keyed by name. */
export interface DatabaseObjects {
  views: Map<string, string>;
  triggers: Map<string, string>;
  routines: Map<string, string>;
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
  for (const db of databases) objects.set(db, { views: new Map(), triggers: new Map(), routines: new Map() });
  if (databases.length === 0) return { tables, objects };
  const inList = placeholders(databases.length);
  const trows = await s.query<Record<string, string | null>>(
    `SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE, TABLE_COLLATION, TABLE_ROWS FROM information_schema.TABLES
     WHERE TABLE_SCHEMA IN (${inList}) AND TABLE_TYPE = 'BASE TABLE'`,
    databases,
  );
  for (const r of trows) {
    const db = r['TABLE_SCHEMA']!;
    const name = r['TABLE_NAME']!;
    tables.set(`${db}.${name}`, {
      db,
      name,
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
  ];
  for (const [label, key] of kinds) {
    const a = src[key];
    const b = dst[key];
    for (const [name, def] of a) {
      const other = b.get(name);
      if (other === undefined)
        out.push({ object: `${db}.${name}`, message: `${label} ${name} missing on target` });
      else if (other !== def)
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
