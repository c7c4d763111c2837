import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { keysPredicate, quoteIdent, quoteTable, sqlLiteral } from './row-sql.js';
import type { RowDiff, TablePlan } from './table-scan.js';

/** Builds the statement that would repair one differing row on the target. Pure. */
export function buildRepairStatement(plan: TablePlan, diff: RowDiff): string {
  const table = quoteTable(plan.db, plan.table);
  const key = plan.key ?? [];
  const where = keysPredicate(key, [diff.key]);
  switch (diff.kind) {
    case 'unverified':
      return `-- not compared (${diff.reason ?? 'unknown reason'}): ${where}`;
    case 'extra':
      return `DELETE FROM ${table} WHERE ${where} LIMIT 1;`;
    case 'missing': {
      if (!diff.sourceRow) return `-- missing on target, source row not read: ${where}`;
      const row = diff.sourceRow;
      const cols = plan.columns.map((c) => quoteIdent(c.name)).join(', ');
      const vals = plan.columns.map((c, i) => sqlLiteral(c, row[i] ?? null)).join(', ');
      return `INSERT INTO ${table} (${cols}) VALUES (${vals});`;
    }
    case 'different': {
      if (!diff.sourceRow) return `-- differs on target, source row not read: ${where}`;
      const row = diff.sourceRow;
      const changed = new Set(diff.columns ?? plan.columns.map((c) => c.name));
      const sets = plan.columns
        .map((c, i) => [c, row[i] ?? null] as const)
        .filter(([c]) => changed.has(c.name))
        .map(([c, v]) => `${quoteIdent(c.name)} = ${sqlLiteral(c, v)}`);
      if (sets.length === 0) return `-- differs on target only outside the compared columns: ${where}`;
      return `UPDATE ${table} SET ${sets.join(', ')} WHERE ${where} LIMIT 1;`;
    }
  }
}

/**
 * Writes repair statements into `<dir>/<db>.<table>.sql`, one file per table, opened on the
 * first difference. The statements are never run by drctl.
 */
export class FixSqlWriter {
  private readonly streams = new Map<string, WriteStream>();
  readonly files: string[] = [];
  constructor(
    private readonly dir: string,
    private readonly targetDisplay: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  write(plan: TablePlan, diff: RowDiff): void {
    const name = `${plan.db}.${plan.table}`;
    let s = this.streams.get(name);
    if (!s) {
      const file = join(this.dir, `${name.replace(/[^\w.-]/g, '_')}.sql`);
      s = createWriteStream(file);
      this.streams.set(name, s);
      this.files.push(file);
      s.write(
        `-- drctl check mysql: statements that would make ${this.targetDisplay} ${name} equal to the source.\n` +
          `-- Written, never run. Review first. On a replica, run them with SET SESSION sql_log_bin = 0\n` +
          `-- (or fix the primary instead) so they do not create errant GTIDs. Triggers on the table\n` +
          `-- fire when these run (unlike replicated row events): check them first.\n` +
          `SET SESSION time_zone = '+00:00';\nSET NAMES utf8mb4;\n`,
      );
    }
    s.write(buildRepairStatement(plan, diff) + '\n');
  }

  async close(): Promise<void> {
    const open = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(
      open.map(async (s) => {
        const finished = once(s, 'finish');
        s.end();
        await finished;
      }),
    );
  }
}
