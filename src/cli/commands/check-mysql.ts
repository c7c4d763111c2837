import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

// Placeholder until the mysql checker lands: it fails, it never passes.
export function registerCheckMysql(check: Command): void {
  check
    .command('mysql')
    .description('compare mysql source and target (not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('the mysql checker is not implemented yet');
    });
}
