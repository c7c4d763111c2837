import type { Command } from 'commander';
import { runbookJsonSchema } from '../../runbook/json-schema.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description(
      'print the JSON Schema of the runbook language (for editors: # yaml-language-server: $schema=…)',
    )
    // Not printJson: the schema is static text with no secret in it, and masking would turn its
    // DSN examples (mysql://user:${env:PW}@host) into mysql://user:***@host.
    .action(() => {
      process.stdout.write(JSON.stringify(runbookJsonSchema(), null, 2) + '\n');
    });
}
