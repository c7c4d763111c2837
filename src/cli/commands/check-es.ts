import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

// Placeholder until the es checker lands: it fails, it never passes.
export function registerCheckEs(check: Command): void {
  check
    .command('es')
    .description('compare es source and target (not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('the es checker is not implemented yet');
    });
}
