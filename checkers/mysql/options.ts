import { z } from 'zod';
import { maxFindingsOption } from '../result.js';

/**
 * Options of the mysql checker: the extra fields of a runbook `check: { kind: mysql, … }` step,
 * and what `drctl check mysql` builds from its flags. Cheap to import (no drivers).
 */
export const mysqlOptionsSchema = z
  .object({
    /** Database globs to include; default every non-system database. */
    databases: z.array(z.string().min(1)).optional(),
    /** Table globs (`table` or `db.table`) to include; default every table. */
    tables: z.array(z.string().min(1)).optional(),
    /** Globs (`db`, `db.table`, `table`) to leave out. */
    exclude: z.array(z.string().min(1)).optional(),
    /** Compare GTID positions, missing and errant transactions. Default true. */
    gtid: z.boolean().default(true),
    /** Compare schema (columns, indexes, engine, views, triggers, routines). Default true. */
    schema: z.boolean().default(true),
    /** `full` scans every row; `none` skips rows. Default full. */
    rows: z.enum(['full', 'none']).default('full'),
    /** How long to wait for the replica to reach the primary's position captured at the start (ms). Default 60 s. */
    waitMs: z.number().int().nonnegative().default(60_000),
    /** Target time per chunk query (ms); chunk size adapts to it. Default 500. */
    chunkTimeMs: z.number().int().positive().default(500),
    /** Rows per second per side, 0 = unlimited. Default 0. */
    maxRowsPerSecond: z.number().nonnegative().default(0),
    /** Tables compared at once. Default 2. */
    threads: z.number().int().min(1).max(32).default(2),
    /** Directory to write repair SQL into (never run). */
    fixSqlDir: z.string().optional(),
    /** Differing keys kept in the result (the counts are always complete). Default 1000, as every checker. */
    maxFindings: maxFindingsOption,
    /** Time-window compare: the column that bounds the window, e.g. updated_at. */
    column: z.string().optional(),
    since: z.string().optional(),
    until: z.string().optional(),
    /**
     * Row hash. `fast` (default): 64-bit CRC32+CRC32C (MariaDB ≥ 10.8) or MD5 prefix per row,
     * summed per chunk: accidental corruption is caught with overwhelming probability, a crafted
     * change is not. `sha256`: SHA-256 per row and per chunk, computed in the database.
     */
    hash: z.enum(['fast', 'sha256']).default('fast'),
    /** Time-window compare: only these fields (plus the key) are compared. */
    fields: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if ((o.since !== undefined || o.until !== undefined) && o.column === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['column'],
        message: 'since/until need column (e.g. updated_at)',
      });
    if (o.fields !== undefined && o.column === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['fields'],
        message: 'fields is for a time-window compare; give column too',
      });
  });

export type MysqlOptions = z.output<typeof mysqlOptionsSchema>;
export type MysqlOptionsInput = z.input<typeof mysqlOptionsSchema>;
