/** Table selection by glob (`*`, `?`), pure. Names match case-sensitively, like MySQL on Linux. */

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export function matchesAnyGlob(globs: readonly string[], text: string): boolean {
  return globs.some((g) => globToRegExp(g).test(text));
}

export interface TableFilter {
  databases?: readonly string[] | undefined;
  tables?: readonly string[] | undefined;
  exclude?: readonly string[] | undefined;
}

export function selectDatabase(filter: TableFilter, db: string): boolean {
  if (filter.databases && filter.databases.length > 0 && !matchesAnyGlob(filter.databases, db)) return false;
  // `--exclude db` (no dot) drops a whole database; `--exclude db.*` too.
  if (filter.exclude?.some((g) => !g.includes('.') && globToRegExp(g).test(db))) return false;
  return true;
}

/** `--tables` / `--exclude` globs with a dot match `db.table`, without a dot the table name. */
export function selectTable(filter: TableFilter, db: string, table: string): boolean {
  const full = `${db}.${table}`;
  const hit = (g: string) => (g.includes('.') ? globToRegExp(g).test(full) : globToRegExp(g).test(table));
  if (!selectDatabase(filter, db)) return false;
  if (filter.tables && filter.tables.length > 0 && !filter.tables.some(hit)) return false;
  if (filter.exclude?.some(hit)) return false;
  return true;
}
