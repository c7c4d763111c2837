import type { Command } from 'commander';
import { loadChecker } from '../../../checkers/index.js';
import { redisOptionsSchema } from '../../../checkers/redis/options.js';
import type { CheckTarget } from '../../../checkers/types.js';
import { UsageError } from '../../errors.js';
import { checkTargetFromRunbook } from '../../runbook/check-target.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { redact } from '../../util/redact.js';
import { abortOnSigint, exitCodeForCheck, printCheckJson } from '../check-common.js';
import { printLine } from '../output.js';

interface CheckRedisFlags {
  source?: string;
  target?: string;
  resource?: string;
  file?: string;
  match: string;
  wait: string;
  ttl?: boolean;
  json?: boolean;
  show: string;
}

/** `drctl check redis`: every key of Main against DR, by SCAN, in bounded memory. */
export function registerCheckRedis(check: Command): void {
  check
    .command('redis')
    .description('compare Redis on Main (--source) with DR (--target): every key, its type and value')
    .option('--source <url>', 'Main: redis://[:password@]host:6379[/db]')
    .option('--target <url>', 'DR: redis://[:password@]host:6379[/db]')
    .option('--resource <name>', 'take both sides from this runbook resource (source:/target:, with -f)')
    .option('-f, --file <runbook>', 'runbook file for --resource')
    .option('--match <pattern>', 'only keys matching this SCAN pattern', '*')
    .option('--wait <duration>', 'wait this long for a replica to reach the primary offset', '30s')
    .option('--ttl', 'also report keys that expire on one side only')
    .option('--json', 'print one JSON document with everything')
    .option('--show <n>', 'differences to print', '20')
    .addHelpText(
      'after',
      `
Compared: every key of the source (type and a canonical digest of its value: hash fields and set
members in any order, list and sorted-set order matters), then the keys only the target has.
Streams and module types are reported as unverified (?), never as a match. If the target is a
replica, drctl first waits until it has processed the primary's replication offset, so lag is not
reported as missing keys. Read-only; an ACL user needs +@read +scan +info +ping +dbsize.

Exit codes: 0 consistent, 1 differences or unverified, 2 could not check.

Examples:
  drctl check redis --source redis://:\${PW}@redis-main:6379 --target redis://:\${PW}@redis-dr:6379
  drctl check redis --resource config -f runbooks/id-bank/switchover.yaml --match 'bcf.*' --json`,
    )
    .action(async (flags: CheckRedisFlags) => {
      const waitMs = parseDuration(flags.wait);
      if (waitMs === undefined)
        throw new UsageError(`--wait: expected a duration like 30s, got "${flags.wait}"`);
      const show = Number(flags.show);
      if (!Number.isInteger(show) || show < 0)
        throw new UsageError(`--show: expected a whole number, got "${flags.show}"`);
      let target: CheckTarget;
      if (flags.resource !== undefined) {
        if (!flags.file)
          throw new UsageError('--resource needs -f <runbook>', {
            hint: 'e.g. --resource config -f runbooks/id-bank/switchover.yaml',
          });
        target = await checkTargetFromRunbook(flags.file, flags.resource);
        if (target.kind !== 'redis')
          throw new UsageError(`resource "${flags.resource}" is a ${target.kind} resource, not redis`);
      } else {
        if (!flags.source || !flags.target) {
          throw new UsageError('give --source and --target (or --resource with -f)', {
            hint: 'e.g. drctl check redis --source redis://main:6379 --target redis://dr:6379',
          });
        }
        target = { kind: 'redis', source: flags.source, target: flags.target };
      }
      const options = redisOptionsSchema.parse({
        match: flags.match,
        waitMs,
        compareTtl: flags.ttl ?? false,
        maxFindings: Math.max(show, 100),
      });
      const checker = (await loadChecker('redis'))!;
      const interrupt = abortOnSigint();
      try {
        const result = await checker.run(target, options as never, {
          signal: interrupt.signal,
          progress: () => undefined,
        });
        if (flags.json) printCheckJson(result);
        else {
          const symbol: Record<string, string> = {
            missing: '+',
            extra: '-',
            different: '*',
            unverified: '?',
            lag: '!',
          };
          for (const f of result.findings.slice(0, show))
            printLine(redact(`${symbol[f.kind] ?? '!'} ${f.object}  ${f.message}`));
          if (result.findings.length + result.findingsOmitted > show)
            printLine(`… ${result.findings.length + result.findingsOmitted - show} more (see --json)`);
          printLine(
            redact(
              `redis ${result.status.toUpperCase()}: ${result.summary} in ${formatDuration(result.durationMs)}`,
            ),
          );
        }
        process.exitCode = exitCodeForCheck(result);
      } finally {
        interrupt.dispose();
      }
    });
}
