import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerCheckCommands } from './commands/check.js';
import { registerPlan } from './commands/plan.js';
import { registerSchema } from './commands/schema.js';
import { registerValidate } from './commands/validate.js';
import { registerReport } from './commands/report.js';
import { registerVerify } from './commands/verify.js';
import { registerSwitch } from './commands/switch.js';
import { registerResume } from './commands/resume.js';
import { registerStatus } from './commands/status.js';
import { registerApprove } from './commands/approve.js';

/** The commander program; each command lives in commands/<name>.ts. */
export function buildProgram(): Command {
  const program = new Command('drctl')
    .description('DR switchover orchestration: runbooks, executor, and RPO=0 consistency checkers')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });
  registerValidate(program);
  registerPlan(program);
  registerSchema(program);
  registerCheckCommands(program);
  registerReport(program);
  registerVerify(program);
  registerSwitch(program);
  registerResume(program);
  registerStatus(program);
  registerApprove(program);
  return program;
}
