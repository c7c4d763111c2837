import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UsageError } from '../../shared/errors.js';
import type { CheckerModule, FlagValues } from '../module.js';
import { ES_COMPARED } from './compared.js';
import { esEndpointSchema, type EsEndpoint } from './endpoint.js';
import { esOptionsSchema, type EsOptions } from './options.js';

const str = (flags: FlagValues, key: string): string | undefined => flags[key] as string | undefined;

function toInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be a whole number, got ${value}`);
  return n;
}

/** The fields of a `kind: es` runbook resource. */
const esResource = z.strictObject({ source: esEndpointSchema, target: esEndpointSchema });

/** Elasticsearch / OpenSearch: indices document by document. */
export const esModule: CheckerModule<'es', EsEndpoint, EsOptions, typeof esResource> = {
  kind: 'es',
  title: 'Elasticsearch/OpenSearch indices on Main vs DR, document by document',
  resource: esResource,
  endpoints: (_name, r) => ({ source: r.source, target: r.target }),
  optionsSchema: esOptionsSchema,
  secretEnv: ['SOURCE', 'TARGET'].flatMap((s) => [`DRCTL_ES_${s}_PASSWORD`, `DRCTL_ES_${s}_API_KEY`]),
  run: async (target, options, ctx) => (await import('./checker.js')).runEsCheck(target, options, ctx),
  cli: {
    description:
      'compare Elasticsearch/OpenSearch indices between Main (source) and DR (target), document by document',
    source: { value: '<url>', description: 'Main cluster URL, e.g. https://es-main:9200' },
    target: { value: '<url>', description: 'DR cluster URL' },
    resource: 'take the endpoints from this es resource of a runbook (with -f)',
    since: 'incremental: only docs with --time-field >= this (ISO time, epoch ms, or 2h ago)',
    show: 50,
    flags: [
      { flags: '--index <pattern>', description: 'index name, comma list or wildcard (payments-*)' },
      {
        flags: '--source-user <name>',
        description: 'source user (or DRCTL_ES_SOURCE_USER; password from DRCTL_ES_SOURCE_PASSWORD)',
      },
      {
        flags: '--target-user <name>',
        description: 'target user (or DRCTL_ES_TARGET_USER; password from DRCTL_ES_TARGET_PASSWORD)',
      },
      {
        flags: '--source-auth-file <file>',
        description: 'file holding "user:password" or "ApiKey <key>" for the source',
      },
      {
        flags: '--target-auth-file <file>',
        description: 'file holding "user:password" or "ApiKey <key>" for the target',
      },
      { flags: '--time-field <field>', description: 'date field for --since' },
      {
        flags: '--id-field <field>',
        description: 'keyword field with doc values to sort and match on (default _id)',
      },
      { flags: '--show-fields', description: 'name the fields that differ in each different document' },
      { flags: '--batch-size <n>', description: 'documents per page', default: '1000' },
      {
        flags: '--max-findings <n>',
        description: 'findings kept in the result (all are counted)',
        default: '1000',
      },
      {
        flags: '--request-timeout <duration>',
        description: 'deadline of each request to either cluster; a frozen node ends the check with exit 2',
        default: '60s',
      },
    ],
    help: `
Compared: ${ES_COMPARED}

Credentials never go on the command line: use DRCTL_ES_{SOURCE,TARGET}_{USER,PASSWORD},
DRCTL_ES_{SOURCE,TARGET}_API_KEY, or --source-auth-file/--target-auth-file. They are never printed.

Examples:
  drctl check es --source https://es-main:9200 --target https://es-dr:9200 --index 'payments-*'
  drctl check es --source … --target … --index loans --since 2h --time-field updated_at --show-fields
  drctl check es --resource search -f runbooks/id-bank/switchover.yaml --index 'payments-*' --json

Exit codes: 0 consistent, 1 differences or anything unverified, 2 could not check (bad input,
unreachable cluster, wrong credentials), 130 interrupted.`,
    endpoints(flags) {
      const source = str(flags, 'source');
      const target = str(flags, 'target');
      if (!source || !target) {
        throw new UsageError('--source and --target are required (or --resource with -f)', {
          hint: 'drctl check es --source https://es-main:9200 --target https://es-dr:9200 --index payments-*',
        });
      }
      return {
        source: endpointFrom(source, 'SOURCE', str(flags, 'sourceUser'), str(flags, 'sourceAuthFile')),
        target: endpointFrom(target, 'TARGET', str(flags, 'targetUser'), str(flags, 'targetAuthFile')),
      };
    },
    options(flags) {
      const index = str(flags, 'index');
      if (!index) throw new UsageError('--index is required', { hint: "e.g. --index 'payments-*'" });
      const opt = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value });
      return {
        index,
        ...opt('since', str(flags, 'since')),
        ...opt('timeField', str(flags, 'timeField')),
        ...opt('idField', str(flags, 'idField')),
        showFields: flags['showFields'] === true,
        batchSize: toInt(str(flags, 'batchSize'), '--batch-size'),
        maxFindings: toInt(str(flags, 'maxFindings'), '--max-findings'),
        ...opt('requestTimeout', str(flags, 'requestTimeout')),
      };
    },
    streamFinding(f) {
      const tag = f.severity === 'difference' ? f.kind : `${f.kind} (${f.severity})`;
      return `${tag.padEnd(12)} ${f.object}: ${f.message}`;
    },
    print(result, { show, seen, out }) {
      if (seen > show)
        out(`… ${seen - show} more findings (use --json for the first ${result.findings.length})`);
      out(`es: ${result.summary}`);
    },
  },
};

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
