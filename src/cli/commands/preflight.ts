import { readUsers, resolveUsersFile } from '../../engine/users.js';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DrctlError, ExitCode, UsageError, formatDiagnostic } from '../../errors.js';
import { readRunHistory } from '../../journal/history.js';
import { applyUnplanned } from '../../reconcile/unplanned.js';
import { loadRunbook, type LoadedRunbook } from '../../runbook/load.js';
import type { Direction } from '../../runbook/schema.js';
import { parseDuration } from '../../util/duration.js';
import { redact } from '../../util/redact.js';
import { collectVar, requireFile } from '../options.js';
import { printError, printLine } from '../output.js';
import {
  DEFAULT_PREFLIGHT_CONCURRENCY,
  DEFAULT_PREFLIGHT_TIMEOUT_MS,
  runPreflight,
} from '../../preflight/preflight.js';
import { renderConsole, renderHtml, renderJson } from '../../preflight/render.js';
import { parseConcurrency } from './switch.js';

interface PreflightCliOptions {
  direction?: 'switchover' | 'switchback' | 'both';
  only?: string;
  json?: boolean;
  format?: string;
  output?: string;
  concurrency?: number;
  timeout?: string;
  strict?: boolean;
  users?: string;
  drill?: boolean;
  unplanned?: boolean;
  var?: Record<string, string>;
  history?: string;
}

function parsePreflightDirection(value: string): 'switchover' | 'switchback' | 'both' {
  if (value !== 'switchover' && value !== 'switchback' && value !== 'both')
    throw new UsageError(`--direction must be switchover, switchback or both, got ${JSON.stringify(value)}`);
  return value;
}

export function parseTimeout(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 100)
    throw new UsageError(
      `--timeout: expected a duration of at least 100ms like 10s, got ${JSON.stringify(value)}`,
    );
  return ms;
}

/** Load warnings, except the missing secrets: the report lists those as fails. */
export function printPreflightLoadWarnings(rb: LoadedRunbook, seen = new Set<string>()): void {
  for (const w of rb.warnings) {
    const text = formatDiagnostic(w);
    if (/is not set|cannot read|not readable|placeholder/i.test(w.message) || seen.has(text)) continue;
    seen.add(text);
    printError(redact(text), 'warning');
  }
}

/** `drctl preflight <runbook>`: is the plan runnable tonight? Live, read-only probes of everything it uses. */
export function registerPreflight(program: Command): void {
  program
    .command('preflight')
    .description(
      'probe every resource and step of a runbook, live and read-only: connections, privileges, replication, buckets, indices, config keys, scripts, hosts, secrets, roles (exit 0 ready, 1 a fail, 2 could not run)',
    )
    .argument('<runbook>', 'runbook file')
    .option(
      '--direction <direction>',
      "switchover, switchback or both (default: the runbook's direction:)",
      parsePreflightDirection,
    )
    .option('--only <globs>', 'probe only these steps and resources (comma-separated ids, names or globs)')
    .option('--json', 'the report as JSON on stdout')
    .option('--format <format>', 'text, json or html')
    .option('-o, --output <file>', 'write the report to this file (html: a self-contained page)')
    .option(
      '--concurrency <n>',
      `probes at once (default ${DEFAULT_PREFLIGHT_CONCURRENCY})`,
      parseConcurrency,
    )
    .option(
      '--timeout <duration>',
      `deadline of each probe (default ${DEFAULT_PREFLIGHT_TIMEOUT_MS / 1000}s)`,
    )
    .option('--strict', 'warnings fail too (exit 1)')
    .option(
      '--users <file>',
      'users file whose roles may approve manual steps, with the runbook members (default $DRCTL_USERS or $DRCTL_HOME/users.yaml)',
    )
    .option('--drill', "probe the rehearsal: each step's drill variant")
    .option(
      '--unplanned',
      'probe the unplanned switch (Main may be gone): skipped steps are not probed, MySQL gates read only the DR replica, remote logs are probed',
    )
    .option('--history <run>', 'forecast durations from an earlier run (a run dir or its journal.jsonl)')
    .option('--var <name=value>', 'set a var (repeatable)', collectVar)
    .addHelpText(
      'after',
      '\nExamples:\n  drctl preflight runbooks/id-bank/switchover.yaml\n  drctl preflight runbooks/demo/switchover.yaml --direction both --timeout 5s\n  drctl preflight runbooks/id-bank/switchover.yaml --only "core-*" --json\n  drctl preflight runbooks/id-bank/switchover.yaml --format html -o readiness.html\n  drctl preflight runbooks/demo/unplanned.yaml --unplanned\n\nExit codes: 0 ready (warnings allowed), 1 a fail (or a warning with --strict), 2 could not run.\nSee docs/preflight.md.\n',
    )
    .action(async (file: string, opts: PreflightCliOptions) => {
      requireFile(file);
      const format = opts.json ? 'json' : (opts.format ?? 'text');
      if (format !== 'text' && format !== 'json' && format !== 'html')
        throw new UsageError(`--format must be text, json or html, got ${JSON.stringify(format)}`);
      if (format === 'html' && !opts.output)
        throw new UsageError('--format html needs -o <file>', {
          hint: 'e.g. --format html -o readiness.html',
        });
      const timeoutMs = opts.timeout === undefined ? undefined : parseTimeout(opts.timeout);
      const history = opts.history ? readRunHistory(opts.history) : undefined;
      let ownLoad: LoadedRunbook | undefined;
      const load = (direction: Direction | undefined): LoadedRunbook => {
        if (direction !== undefined && ownLoad?.direction === direction) return ownLoad;
        const rb = loadRunbook(file, {
          ...(direction ? { direction } : {}),
          ...(opts.drill ? { drill: true } : {}),
          vars: opts.var ?? {},
          lenientSecrets: true,
        });
        return opts.unplanned ? applyUnplanned(rb) : rb;
      };
      const primary = opts.direction === 'both' || opts.direction === undefined ? undefined : opts.direction;
      // Without --direction the runbook's own direction: that load is the one probed (loaded once).
      if (primary === undefined) ownLoad = load(undefined);
      const own = primary ?? ownLoad!.direction;
      const directions: Direction[] =
        opts.direction === 'both' ? [own, own === 'switchover' ? 'switchback' : 'switchover'] : [own];
      const seen = new Set<string>();
      const loadAndWarn = (d: Direction) => {
        const rb = load(d);
        if (format === 'text') printPreflightLoadWarnings(rb, seen);
        return rb;
      };
      const controller = new AbortController();
      const onSigint = () => controller.abort(new Error('interrupted (Ctrl-C)'));
      process.once('SIGINT', onSigint);
      let report;
      try {
        report = await runPreflight({
          directions,
          load: loadAndWarn,
          only: opts.only
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          concurrency: opts.concurrency,
          timeoutMs,
          strict: opts.strict,
          history: history?.durations,
          users: readUsers(resolveUsersFile(opts.users)),
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      if (controller.signal.aborted)
        throw new DrctlError('preflight interrupted; the report is incomplete', {
          exitCode: ExitCode.interrupted,
        });
      const text =
        format === 'json'
          ? renderJson(report)
          : format === 'html'
            ? renderHtml(report)
            : renderConsole(report).join('\n') + '\n';
      if (opts.output) {
        writeFileSync(opts.output, text);
        printLine(`${report.exitCode === 0 ? 'ready' : 'NOT READY'}: report written to ${opts.output}`);
      } else process.stdout.write(text);
      process.exitCode = report.exitCode;
    });
}
