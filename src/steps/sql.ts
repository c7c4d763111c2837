import mysql from 'mysql2/promise';
import { connectionOptions, parseMysqlDsn } from '../util/dsn.js';
import { redact } from '../util/redact.js';
import { findResource, matchesExpected } from './resource.js';
import { abortReason } from './run.js';
import type { StepHandler, StepOutcome } from './types.js';

type SqlAction = Parameters<StepHandler<'sql'>['execute']>[0];

function statementsOf(action: SqlAction): string[] {
  const s = action.sql.statements;
  return typeof s === 'string' ? [s] : s;
}

/** SQL statements through mysql2 against one side of a mysql resource (default the primary). */
export const sqlHandler: StepHandler<'sql'> = {
  describe(action) {
    const side = action.sql.on ?? 'primary';
    const expect = action.sql.expect === undefined ? '' : ` (expect ${JSON.stringify(action.sql.expect)})`;
    return redact(`sql on ${action.sql.resource} ${side}: ${statementsOf(action).join('; ')}${expect}`);
  },
  async execute(action, ctx): Promise<StepOutcome> {
    const found = findResource(ctx.resources, action.sql.resource, 'mysql');
    if ('error' in found) return { ok: false, error: found.error, retryable: false };
    const side = action.sql.on ?? 'primary';
    let dsn;
    try {
      dsn = parseMysqlDsn(found.resource[side], `resources.${action.sql.resource}.${side}`);
    } catch (err) {
      return { ok: false, error: redact((err as Error).message), retryable: false };
    }
    let conn: mysql.Connection | undefined;
    const onAbort = (): void => conn?.destroy();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      conn = await mysql.createConnection(connectionOptions(dsn));
      if (ctx.signal.aborted) throw new Error(abortReason(ctx.signal));
      let last: unknown;
      for (const statement of statementsOf(action)) {
        ctx.log(`sql ${dsn.display}: ${statement}`);
        const [rows] = await conn.query(statement);
        last = rows;
      }
      if (action.sql.expect !== undefined) {
        const first = Array.isArray(last) ? (last[0] as Record<string, unknown> | undefined) : undefined;
        const value = first === undefined ? undefined : Object.values(first)[0];
        if (!matchesExpected(value, action.sql.expect)) {
          return {
            ok: false,
            error: redact(
              `expected ${JSON.stringify(action.sql.expect)}, got ${JSON.stringify(value ?? null)} on ${dsn.display}`,
            ),
          };
        }
      }
      return { ok: true };
    } catch (err) {
      const why = ctx.signal.aborted ? abortReason(ctx.signal) : (err as Error).message;
      return { ok: false, error: redact(`sql on ${dsn.display} failed: ${why}`) };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await conn?.end().catch(() => conn?.destroy());
    }
  },
};
