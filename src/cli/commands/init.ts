import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { runbookJsonSchema } from '../../runbook/json-schema.js';
import { starterFiles } from '../../runbook/starter.js';
import { printLine } from '../output.js';

/** `drctl init <dir>`: a starter runbook tree that validates, for a new bank to grow from. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a starter runbook tree (switchover, switchback, a module, its inventory) into <dir>')
    .argument('<dir>', 'a new or empty directory')
    .addHelpText(
      'after',
      '\nExample:\n  drctl init my-bank && drctl validate my-bank/switchover.yaml && drctl plan my-bank/switchover.yaml\n',
    )
    .action((dir: string) => {
      if (existsSync(dir)) {
        if (!statSync(dir).isDirectory()) {
          throw new UsageError(`${dir} exists and is not a directory`, {
            hint: 'give the path of a new or empty directory',
          });
        }
        if (readdirSync(dir).length > 0) {
          throw new UsageError(`${dir} is not empty; drctl init writes only into a new or empty directory`, {
            hint: 'give a new directory (drctl init never overwrites a runbook)',
          });
        }
      }
      const files = starterFiles(JSON.stringify(runbookJsonSchema(), null, 2) + '\n');
      for (const f of files) {
        const path = join(dir, f.path);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, f.text, { flag: 'wx' });
        if (f.executable) chmodSync(path, 0o755);
      }
      for (const f of files) printLine(`wrote ${join(dir, f.path)}`);
      const rb = join(dir, 'switchover.yaml');
      printLine(`next: drctl validate ${rb} && drctl plan ${rb}`);
    });
}
