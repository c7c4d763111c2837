import { Command } from 'commander';
import { VERSION } from '../version.js';

type Register = (program: Command) => void;

/**
 * Commands by name, each loaded only when it is the one being run (all of them for --help):
 * `drctl validate` should not pay for mysql2, ioredis, the AWS SDK and listr2.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  validate: async () => (await import('./commands/validate.js')).registerValidate,
  plan: async () => (await import('./commands/plan.js')).registerPlan,
  schema: async () => (await import('./commands/schema.js')).registerSchema,
  switch: async () => (await import('./commands/switch.js')).registerSwitch,
  resume: async () => (await import('./commands/resume.js')).registerResume,
  status: async () => (await import('./commands/status.js')).registerStatus,
  approve: async () => (await import('./commands/approve.js')).registerApprove,
  reject: async () => (await import('./commands/approve.js')).registerApprove,
  check: async () => (await import('./commands/check.js')).registerCheckCommands,
  report: async () => (await import('./commands/report.js')).registerReport,
  verify: async () => (await import('./commands/verify.js')).registerVerify,
  init: async () => (await import('./commands/init.js')).registerInit,
  reconcile: async () => (await import('./commands/reconcile.js')).registerReconcile,
  preflight: async () => (await import('./commands/preflight.js')).registerPreflight,
  users: async () => (await import('./commands/users.js')).registerUsers,
  serve: async () => (await import('./commands/serve.js')).registerServe,
};

/** The commander program for `argv`; each command lives in commands/<name>.ts. */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('drctl')
    .description('DR switchover orchestration: runbooks, executor, and RPO=0 consistency checkers')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });
  const args = argv.slice(2);
  const name = args.find((a) => !a.startsWith('-'));
  const onlyVersion = name === undefined && args.some((a) => a === '-V' || a === '--version');
  const loaders =
    name !== undefined && name in COMMANDS
      ? [COMMANDS[name]!]
      : onlyVersion
        ? []
        : [
            ...new Set(
              Object.entries(COMMANDS)
                .filter(([n]) => n !== 'reject')
                .map(([, load]) => load),
            ),
          ];
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program);
  return program;
}
