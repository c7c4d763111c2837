import { probeRemoteLog } from '../reconcile/scan.js';
import { resolveSpec, type RemoteLogResource } from '../reconcile/spec.js';
import type { Direction } from '../runbook/schema.js';
import type { ResourceUse } from './scope.js';
import { line, type Probe } from './types.js';

/**
 * A remote log an unplanned switch reconciles: both stores answer, both tables are readable and
 * have every column the reconcile names. Found on the night instead, the reconcile could not run
 * and nothing would be blacklisted.
 */
export function remoteLogProbes(
  use: ResourceUse,
  r: RemoteLogResource,
  direction: Direction | undefined,
): Probe[] {
  const base = { group: use.name, kind: 'remote-log', direction };
  return [
    {
      key: `remote-log:${use.name}:${r.log}:${r.ledger}:${r.logTable}:${r.ledgerTable}`,
      group: use.name,
      kind: 'remote-log',
      item: 'log and ledger',
      resource: use.name,
      direction,
      timeoutFix: `check that the remote log and the ledger of ${use.name} are up and reachable, or raise --timeout`,
      run: async ({ signal, timeoutMs }) => {
        const spec = resolveSpec(r, (f) => `resources.${use.name}.${f}`);
        const p = await probeRemoteLog(spec, { signal, connectTimeoutMs: timeoutMs });
        return [
          line(base, 'remote log', 'ok', `${p.log}: readable, columns present; window: ${p.window}`),
          line(base, 'ledger', 'ok', `${p.ledger}: readable, columns present`),
        ];
      },
    },
  ];
}
