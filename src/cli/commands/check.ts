import { Option, type Command } from 'commander';
import { checkerModules } from '../../../checkers/index.js';
import type { AnyCheckerModule, FlagValues } from '../../../checkers/module.js';
import { FindingLog, interruptedResult } from '../../../checkers/result.js';
import type { CheckResult, Finding } from '../../../checkers/types.js';
import { DrctlError, ExitCode, UsageError } from '../../errors.js';
import { checkTargetFromRunbook } from '../../runbook/check-target.js';
import { redact, registerCredentials, registerSecret } from '../../util/redact.js';
import {
  abortOnSigint,
  createProgressLine,
  exitCodeForCheck,
  optionError,
  printCheckJson,
} from '../check-common.js';
import { printLine } from '../output.js';

const collect = (value: string, prev: string[] | undefined) => [
  ...(prev ?? []),
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/**
 * `drctl check <kind>`: one command per registered checker, built from its module. The common
 * flags, the option errors (exit 2 naming the flag), Ctrl-C (exit 130, a partial result marked
 * interrupted) and the progress line are written here once.
 */
export function registerCheckCommands(program: Command): void {
  const modules = checkerModules();
  const check = program
    .command('check')
    .description(
      `compare Main and DR copies: ${modules.map((m) => m.kind).join(', ')} (exit 0 consistent, 1 differences, 2 could not check, 130 interrupted)`,
    );
  for (const m of modules) registerKind(check, m);
}

function registerKind(check: Command, m: AnyCheckerModule): void {
  const cli = m.cli;
  const cmd = check
    .command(m.kind)
    .description(cli.description)
    .option(`--source ${cli.source.value}`, cli.source.description)
    .option(`--target ${cli.target.value}`, cli.target.description)
    .option('--resource <name>', cli.resource ?? 'take both sides from this runbook resource (with -f)')
    .option('-f, --file <runbook>', 'runbook file for --resource');
  if (cli.since !== undefined) cmd.option('--since <time>', cli.since);
  for (const f of cli.flags) {
    const option = new Option(f.flags, f.description);
    if (f.default !== undefined) option.default(f.default);
    if (f.list) option.argParser(collect);
    cmd.addOption(option);
  }
  cmd
    .option('--json', 'print one JSON document with everything')
    .option('--show <n>', 'differences to print', String(cli.show ?? 20))
    .addHelpText('after', cli.help)
    .action(async (flags: FlagValues) => {
      process.exitCode = await runCheck(m, flags);
    });
}

/** Runs one check from parsed flags; returns the exit code. */
export async function runCheck(m: AnyCheckerModule, flags: FlagValues): Promise<number> {
  registerEntrySecrets(m, flags);
  const show = wholeNumber(flags['show'] as string, '--show');
  m.cli.precheck?.(flags);
  const sides = await resolveSides(m, flags);
  // What the module built from flags, the environment and auth files (es reads a password there).
  registerCredentials(sides.source);
  registerCredentials(sides.target);
  const target = { kind: m.kind, ...sides };
  const parsed = m.optionsSchema.safeParse(m.cli.options(flags, show));
  if (!parsed.success) throw optionError(parsed.error, m.cli.optionFlags ?? {});

  const json = flags['json'] === true;
  const streams = m.cli.streamFinding !== undefined && (m.cli.streams ? m.cli.streams(flags) : !json);
  const seenSoFar = new FindingLog(Math.max(show, 1000));
  let printed = 0;
  const onFinding = (f: Finding) => {
    seenSoFar.add(f);
    if (!streams || printed >= show) return;
    const line = m.cli.streamFinding!(f, flags);
    if (line === undefined) return;
    printed++;
    printLine(redact(line));
  };
  const sig = abortOnSigint();
  const progress = createProgressLine(!json && process.stderr.isTTY === true);
  const started = Date.now();
  // Deadlines are AbortSignal.timeout timers, which do not keep node alive: a request whose
  // socket died without an answer would leave nothing pending, and node would exit 13 with no
  // verdict. This timer holds the process until the checker has answered or its deadline fired.
  const alive = setInterval(() => undefined, 60_000);
  let result: CheckResult;
  try {
    result = await m.run(target, parsed.data, { signal: sig.signal, progress: progress.update, onFinding });
  } catch (err) {
    if (!sig.signal.aborted) throw err;
    // Ctrl-C: whatever the checker was waiting on, nothing was judged. The findings seen so far
    // are kept in a partial result marked interrupted (with --json), never a pass.
    progress.done();
    const partial = interruptedResult(m.kind, seenSoFar, started);
    if (json) printCheckJson(partial);
    throw new DrctlError(`interrupted: ${partial.summary}`, { exitCode: ExitCode.interrupted });
  } finally {
    clearInterval(alive);
    progress.done();
    sig.dispose();
  }
  if (json) printCheckJson(result);
  else
    m.cli.print(result, {
      show,
      printed,
      seen: seenSoFar.kept.length + seenSoFar.omitted,
      flags,
      out: (line = '') => printLine(redact(line)),
    });
  return exitCodeForCheck(result);
}

/**
 * Secrets are registered where they enter, before anything can print them: the password of every
 * URL/DSN flag (--source, --target, --source-endpoint…) and the credential variables the module
 * reads from the environment. The checker's parsers stay pure.
 */
function registerEntrySecrets(m: AnyCheckerModule, flags: FlagValues): void {
  for (const value of Object.values(flags)) {
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'string') registerCredentials(v);
  }
  for (const name of m.secretEnv ?? []) registerSecret(process.env[name]);
}

function wholeNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000)
    throw new UsageError(`${flag}: expected a whole number from 0 to 1000000, got "${text}"`);
  return n;
}

/** --source/--target through the module, or --resource -f through the runbook (one mapping). */
async function resolveSides(
  m: AnyCheckerModule,
  flags: FlagValues,
): Promise<{ source: unknown; target: unknown }> {
  const resource = flags['resource'] as string | undefined;
  const file = flags['file'] as string | undefined;
  if (resource === undefined && file === undefined) return m.cli.endpoints(flags);
  if (resource === undefined || file === undefined) {
    throw new UsageError('--resource and -f <runbook> go together', {
      hint: `drctl check ${m.kind} --resource <name> -f runbook.yaml`,
    });
  }
  if (flags['source'] !== undefined || flags['target'] !== undefined) {
    throw new UsageError('give either --source/--target or --resource/-f, not both');
  }
  const t = await checkTargetFromRunbook(file, resource);
  if (t.kind !== m.kind) throw new UsageError(`resource ${resource} is a ${t.kind} resource, not ${m.kind}`);
  return { source: t.source, target: t.target };
}
