import type { Command } from 'commander';
import { loadChecker } from '../../../checkers/index.js';
import { redisOptionsSchema } from '../../../checkers/redis/options.js';
import type { CheckTarget } from '../../../checkers/types.js';
import { DrctlError, ExitCode, UsageError } from '../../errors.js';
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
  timeout: string;
  ttl?: boolean | string;
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
    .option('--timeout <duration>', 'deadline of the connection and of every command, per side', '30s')
    .option(
      '--ttl [mode]',
      'expiry policy: presence (default: expiring on one side only is a difference), exact (also expiry times, ±2s; --ttl alone), ignore',
    )
    .option('--json', 'print one JSON document with everything')
    .option('--show <n>', 'differences to print', '20')
    .addHelpText(
      'after',
      `
Compared: every key of the source, in every non-empty logical db unless both URLs name one
(/3), then the keys only the target has. Per key: its type, its value as bytes (strings, hash
fields and values, set and zset members with their exact scores, list items, stream entries with
their consumer groups and pending entries; hash fields and set members in any order), and
whether it expires. A HyperLogLog is compared by its registers (its cached count is not data).
Module types are reported as unverified (?), never as a match. If the target is a replica, drctl
first waits until it reached the primary's replication offset, and re-reads every key that
differed once the replica caught up, so writes during the check are not differences.
Read-only; an ACL user needs +@read +scan +info +ping +dbsize +select (see docs/checkers/redis.md).

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
      const timeoutMs = parseDuration(flags.timeout);
      if (timeoutMs === undefined || timeoutMs < 1)
        throw new UsageError(`--timeout: expected a duration like 30s, got "${flags.timeout}"`);
      const ttl = flags.ttl === undefined ? 'presence' : flags.ttl === true ? 'exact' : flags.ttl;
      if (ttl !== 'presence' && ttl !== 'exact' && ttl !== 'ignore')
        throw new UsageError(`--ttl: expected presence, exact or ignore, got "${String(ttl)}"`);
      const options = redisOptionsSchema.parse({
        match: flags.match,
        waitMs,
        timeoutMs,
        ttl,
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
      } catch (err) {
        // Ctrl-C: whatever the checker was waiting on, nothing was judged (exit 130)
        if (interrupt.signal.aborted) throw new DrctlError('interrupted', { exitCode: ExitCode.interrupted });
        throw err;
      } finally {
        interrupt.dispose();
      }
    });
}
