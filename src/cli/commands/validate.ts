import type { Command } from 'commander';
import { ExitCode, formatDiagnostic, RunbookError } from '../../errors.js';
import { loadRunbook } from '../../runbook/load.js';
import type { Direction } from '../../runbook/schema.js';
import { collectVar, parseDirection, requireFile } from '../options.js';
import { printError, printLine } from '../output.js';

interface ValidateOptions {
  direction?: Direction;
  drill?: boolean;
  var?: Record<string, string>;
  strict?: boolean;
}

/** `drctl validate <runbook…>`: ok, or every problem with its place (exit 2). */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'check runbooks: schema, includes, vars, ids, needs, cycles, roles, resources (both directions unless --direction)',
    )
    .argument('<runbook...>', 'runbook files')
    .option('--direction <direction>', 'switchover or switchback (default: both)', parseDirection)
    .option('--drill', 'validate the rehearsal variant')
    .option('--var <name=value>', 'set a var (repeatable)', collectVar)
    .option('--strict', 'missing ${env:…}/${file:…} values are errors, as they are for switch')
    .addHelpText('after', '\nExample:\n  drctl validate runbooks/id-bank/switchover.yaml\n')
    .action((files: string[], opts: ValidateOptions) => {
      let errors = 0;
      for (const file of files) {
        requireFile(file);
        const directions: Direction[] = opts.direction ? [opts.direction] : ['switchover', 'switchback'];
        try {
          const seen = new Set<string>();
          let summary = '';
          for (const direction of directions) {
            const rb = loadRunbook(file, {
              direction,
              ...(opts.drill ? { drill: true } : {}),
              vars: opts.var ?? {},
              lenientSecrets: !opts.strict,
            });
            for (const w of rb.warnings) {
              const text = formatDiagnostic(w);
              if (!seen.has(text)) printError(text, 'warning');
              seen.add(text);
            }
            summary += `${summary ? '; ' : ''}${direction}: ${rb.steps.length} steps`;
            if (direction === directions[0])
              summary = `${rb.modules.length} module${rb.modules.length === 1 ? '' : 's'}, ${Object.keys(rb.roles).length} roles, ${Object.keys(rb.resources).length} resources; ${summary}`;
          }
          printLine(`ok ${file} (${summary})`);
        } catch (err) {
          if (!(err instanceof RunbookError)) throw err;
          for (const d of err.diagnostics) printError(formatDiagnostic(d), d.severity);
          errors += err.diagnostics.filter((d) => d.severity === 'error').length;
        }
      }
      if (errors > 0) {
        printError(`${errors} error${errors === 1 ? '' : 's'}; nothing was run`);
        process.exitCode = ExitCode.usage;
      }
    });
}
