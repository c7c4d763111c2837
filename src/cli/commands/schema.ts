import type { Command } from 'commander';
import { runbookJsonSchema } from '../../runbook/json-schema.js';
import { printJson } from '../output.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description(
      'print the JSON Schema of the runbook language (for editors: # yaml-language-server: $schema=…)',
    )
    .action(() => printJson(runbookJsonSchema()));
}
