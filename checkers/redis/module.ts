import { z } from 'zod';
import { UsageError } from '../../shared/errors.js';
import { formatDuration, parseDuration } from '../../shared/duration.js';
import type { CheckerModule } from '../module.js';
import { redisOptionsSchema, type RedisOptions } from './options.js';

const SYMBOL: Record<string, string> = {
  missing: '+',
  extra: '-',
  different: '*',
  unverified: '?',
  lag: '!',
};

/** The fields of a `kind: redis` runbook resource. */
const redisResource = z.strictObject({
  url: z.string().optional().meta({ description: 'redis://… used by redis steps' }),
  source: z.string().optional().meta({ description: 'Main copy, for redis checks' }),
  target: z.string().optional().meta({ description: 'DR copy, for redis checks' }),
});

/** Redis: every key of Main against DR, by SCAN. */
export const redisModule: CheckerModule<'redis', string, RedisOptions, typeof redisResource> = {
  kind: 'redis',
  title: 'Redis on Main vs DR: every key, its type, value and expiry',
  resource: redisResource,
  endpoints(name, r) {
    const { source, target } = r;
    if (source === undefined || target === undefined)
      return `redis resource "${name}" needs source: and target: URLs to be checked`;
    return { source, target };
  },
  optionsSchema: redisOptionsSchema,
  run: async (target, options, ctx) => (await import('./checker.js')).runRedisCheck(target, options, ctx),
  cli: {
    description: 'compare Redis on Main (--source) with DR (--target): every key, its type and value',
    source: { value: '<url>', description: 'Main: redis://[:password@]host:6379[/db]' },
    target: { value: '<url>', description: 'DR: redis://[:password@]host:6379[/db]' },
    resource: 'take both sides from this runbook resource (source:/target:, with -f)',
    show: 20,
    flags: [
      { flags: '--match <pattern>', description: 'only keys matching this SCAN pattern', default: '*' },
      {
        flags: '--wait <duration>',
        description: 'wait this long for a replica to reach the primary offset',
        default: '30s',
      },
      {
        flags: '--timeout <duration>',
        description: 'deadline of the connection and of every command, per side',
        default: '30s',
      },
      {
        flags: '--ttl [mode]',
        description:
          'expiry policy: presence (default: expiring on one side only is a difference), exact (also expiry times, ±2s; --ttl alone), ignore',
      },
    ],
    help: `
Compared: every key of the source, in every non-empty logical db unless both URLs name one
(/3), then the keys only the target has. Per key: its type, its value as bytes (strings, hash
fields and values, set and zset members with their exact scores, list items, stream entries with
their consumer groups and pending entries; hash fields and set members in any order), and
whether it expires. A HyperLogLog is compared by its registers (its cached count is not data).
Module types are reported as unverified (?), never as a match. If the target is a replica, drctl
first waits until it reached the primary's replication offset, and re-reads every key that
differed once the replica caught up, so writes during the check are not differences.
Read-only; an ACL user needs +@read +scan +info +ping +dbsize +select (see docs/checkers/redis.md).

Exit codes: 0 consistent, 1 differences or unverified, 2 could not check, 130 interrupted.

Examples:
  drctl check redis --source redis://:\${PW}@redis-main:6379 --target redis://:\${PW}@redis-dr:6379
  drctl check redis --resource config -f runbooks/id-bank/switchover.yaml --match 'bcf.*' --json`,
    endpoints(flags) {
      const source = flags['source'] as string | undefined;
      const target = flags['target'] as string | undefined;
      if (!source || !target) {
        throw new UsageError('give --source and --target (or --resource with -f)', {
          hint: 'e.g. drctl check redis --source redis://main:6379 --target redis://dr:6379',
        });
      }
      return { source, target };
    },
    options(flags, show) {
      const wait = flags['wait'] as string;
      const waitMs = parseDuration(wait);
      if (waitMs === undefined) throw new UsageError(`--wait: expected a duration like 30s, got "${wait}"`);
      const timeout = flags['timeout'] as string;
      const timeoutMs = parseDuration(timeout);
      if (timeoutMs === undefined || timeoutMs < 1)
        throw new UsageError(`--timeout: expected a duration like 30s, got "${timeout}"`);
      const flag = flags['ttl'] as string | boolean | undefined;
      const ttl = flag === undefined ? 'presence' : flag === true ? 'exact' : flag;
      if (ttl !== 'presence' && ttl !== 'exact' && ttl !== 'ignore')
        throw new UsageError(`--ttl: expected presence, exact or ignore, got "${String(ttl)}"`);
      return { match: flags['match'], waitMs, timeoutMs, ttl, maxFindings: Math.max(show, 1000) };
    },
    optionFlags: { waitMs: '--wait', timeoutMs: '--timeout', maxFindings: '--show' },
    print(result, { show, out }) {
      for (const f of result.findings.slice(0, show))
        out(`${SYMBOL[f.kind] ?? '!'} ${f.object}  ${f.message}`);
      if (result.findings.length + result.findingsOmitted > show)
        out(`… ${result.findings.length + result.findingsOmitted - show} more (see --json)`);
      out(`redis ${result.status.toUpperCase()}: ${result.summary} in ${formatDuration(result.durationMs)}`);
    },
  },
};
