import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { CheckTarget, EsEndpoint, Finding } from '../../../checkers/types.js';
import { ES_COMPARED } from '../../../checkers/es/compared.js';
import { esOptionsSchema, type EsOptionsInput } from '../../../checkers/es/options.js';
import { loadChecker } from '../../../checkers/index.js';
import { ExitCode, UsageError } from '../../errors.js';
import { checkTargetFromRunbook } from '../../runbook/check-target.js';
import { redact, registerSecret } from '../../util/redact.js';
import { abortOnSigint, exitCodeForCheck, printCheckJson } from '../check-common.js';
import { printLine } from '../output.js';

interface CheckEsFlags {
  source?: string;
  target?: string;
  index?: string;
  sourceUser?: string;
  targetUser?: string;
  sourceAuthFile?: string;
  targetAuthFile?: string;
  since?: string;
  timeField?: string;
  idField?: string;
  showFields?: boolean;
  batchSize?: string;
  maxFindings?: string;
  requestTimeout?: string;
  json?: boolean;
  resource?: string;
  file?: string;
}

const PRINTED_FINDINGS = 50;

/** `drctl check es`: compare Elasticsearch/OpenSearch indices document by document. */
export function registerCheckEs(check: Command): void {
  check
    .command('es')
    .description(
      'compare Elasticsearch/OpenSearch indices between Main (source) and DR (target), document by document',
    )
    .option('--source <url>', 'Main cluster URL, e.g. https://es-main:9200')
    .option('--target <url>', 'DR cluster URL')
    .option('--index <pattern>', 'index name, comma list or wildcard (payments-*)')
    .option(
      '--source-user <name>',
      'source user (or DRCTL_ES_SOURCE_USER; password from DRCTL_ES_SOURCE_PASSWORD)',
    )
    .option(
      '--target-user <name>',
      'target user (or DRCTL_ES_TARGET_USER; password from DRCTL_ES_TARGET_PASSWORD)',
    )
    .option('--source-auth-file <file>', 'file holding "user:password" or "ApiKey <key>" for the source')
    .option('--target-auth-file <file>', 'file holding "user:password" or "ApiKey <key>" for the target')
    .option(
      '--since <time>',
      'incremental: only docs with --time-field >= this (ISO time, epoch ms, or 2h ago)',
    )
    .option('--time-field <field>', 'date field for --since')
    .option('--id-field <field>', 'keyword field with doc values to sort and match on (default _id)')
    .option('--show-fields', 'name the fields that differ in each different document')
    .addOption(new Option('--batch-size <n>', 'documents per page').default('1000'))
    .addOption(
      new Option('--max-findings <n>', 'findings kept in the result (all are counted)').default('1000'),
    )
    .addOption(
      new Option(
        '--request-timeout <duration>',
        'deadline of each request to either cluster; a frozen node ends the check with exit 2',
      ).default('60s'),
    )
    .option('--json', 'print one JSON document')
    .option('--resource <name>', 'take the endpoints from this es resource of a runbook (with -f)')
    .option('-f, --file <runbook>', 'runbook file for --resource')
    .addHelpText(
      'after',
      `
Compared: ${ES_COMPARED}

Credentials never go on the command line: use DRCTL_ES_{SOURCE,TARGET}_{USER,PASSWORD},
DRCTL_ES_{SOURCE,TARGET}_API_KEY, or --source-auth-file/--target-auth-file. They are never printed.

Examples:
  drctl check es --source https://es-main:9200 --target https://es-dr:9200 --index 'payments-*'
  drctl check es --source … --target … --index loans --since 2h --time-field updated_at --show-fields
  drctl check es --resource search -f runbooks/id-bank/switchover.yaml --index 'payments-*' --json

Exit codes: 0 consistent, 1 differences or anything unverified, 2 could not check (bad input,
unreachable cluster, wrong credentials), 130 interrupted.`,
    )
    .action(async (flags: CheckEsFlags) => {
      process.exitCode = await runCheckEs(flags);
    });
}

async function runCheckEs(flags: CheckEsFlags): Promise<number> {
  const target = await resolveTarget(flags);
  const input: EsOptionsInput = {
    index: flags.index ?? '',
    ...(flags.since === undefined ? {} : { since: flags.since }),
    ...(flags.timeField === undefined ? {} : { timeField: flags.timeField }),
    ...(flags.idField === undefined ? {} : { idField: flags.idField }),
    showFields: flags.showFields === true,
    batchSize: toInt(flags.batchSize, '--batch-size'),
    maxFindings: toInt(flags.maxFindings, '--max-findings'),
    ...(flags.requestTimeout === undefined ? {} : { requestTimeout: flags.requestTimeout }),
  };
  if (!flags.index) throw new UsageError('--index is required', { hint: "e.g. --index 'payments-*'" });
  const parsed = esOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`invalid option ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const checker = await loadChecker('es');
  if (!checker) throw new UsageError('the es checker is not registered');
  const sig = abortOnSigint();
  let printed = 0;
  const onFinding = (f: Finding) => {
    if (flags.json) return;
    if (printed++ < PRINTED_FINDINGS) printLine(redact(formatFinding(f)));
  };
  const progress = (e: {
    phase: string;
    object?: string;
    done?: number;
    total?: number;
    message?: string;
  }) => {
    if (flags.json || !process.stderr.isTTY) return;
    const what = e.message ?? `${e.object ?? ''} ${e.done ?? 0}/${e.total ?? '?'}`;
    process.stderr.write(`\r\x1b[K${e.phase}: ${redact(what)}`);
  };
  try {
    const result = await checker.run(target, parsed.data as never, {
      signal: sig.signal,
      progress,
      onFinding,
    });
    if (!flags.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (flags.json) {
      printCheckJson(result);
    } else {
      if (printed > PRINTED_FINDINGS)
        printLine(
          `… ${printed - PRINTED_FINDINGS} more findings (use --json for the first ${parsed.data.maxFindings})`,
        );
      printLine(redact(`es: ${result.summary}`));
    }
    return exitCodeForCheck(result);
  } catch (err) {
    if (sig.signal.aborted) return ExitCode.interrupted;
    throw err;
  } finally {
    sig.dispose();
  }
}

function formatFinding(f: Finding): string {
  const tag = f.severity === 'difference' ? f.kind : `${f.kind} (${f.severity})`;
  return `${tag.padEnd(12)} ${f.object}: ${f.message}`;
}

function toInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be a whole number, got ${value}`);
  return n;
}

async function resolveTarget(flags: CheckEsFlags): Promise<CheckTarget> {
  if (flags.resource !== undefined) {
    if (!flags.file) throw new UsageError('--resource needs -f <runbook>');
    const t = await checkTargetFromRunbook(flags.file, flags.resource);
    if (t.kind !== 'es') throw new UsageError(`resource ${flags.resource} is a ${t.kind} resource, not es`);
    return t;
  }
  if (!flags.source || !flags.target) {
    throw new UsageError('--source and --target are required (or --resource with -f)', {
      hint: 'drctl check es --source https://es-main:9200 --target https://es-dr:9200 --index payments-*',
    });
  }
  return {
    kind: 'es',
    source: endpointFrom(flags.source, 'SOURCE', flags.sourceUser, flags.sourceAuthFile),
    target: endpointFrom(flags.target, 'TARGET', flags.targetUser, flags.targetAuthFile),
  };
}

/** Credentials: auth file, then environment, then URL userinfo (the client reads that last). */
export function endpointFrom(
  url: string,
  side: 'SOURCE' | 'TARGET',
  user: string | undefined,
  authFile: string | undefined,
): EsEndpoint {
  const ep: EsEndpoint = { url };
  const env = process.env;
  const username = user ?? env[`DRCTL_ES_${side}_USER`];
  const password = env[`DRCTL_ES_${side}_PASSWORD`];
  const apiKey = env[`DRCTL_ES_${side}_API_KEY`];
  if (username !== undefined) ep.username = username;
  if (password !== undefined) ep.password = password;
  if (apiKey !== undefined) ep.apiKey = apiKey;
  if (authFile !== undefined) Object.assign(ep, readAuthFile(authFile, side.toLowerCase()));
  registerSecret(ep.password);
  registerSecret(ep.apiKey);
  return ep;
}

function readAuthFile(file: string, side: string): Partial<EsEndpoint> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read --${side}-auth-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  const line =
    text
      .split(/\r?\n/)
      .find((l) => l.trim() !== '' && !l.trim().startsWith('#'))
      ?.trim() ?? '';
  const key = /^ApiKey\s+(\S+)$/i.exec(line);
  if (key) return { apiKey: key[1]! };
  const colon = line.indexOf(':');
  if (colon <= 0) {
    throw new UsageError(`--${side}-auth-file ${file} must hold "user:password" or "ApiKey <key>"`);
  }
  return { username: line.slice(0, colon), password: line.slice(colon + 1) };
}
