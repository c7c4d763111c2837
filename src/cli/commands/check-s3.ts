import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

// Placeholder until the s3 checker lands: it fails, it never passes.
export function registerCheckS3(check: Command): void {
  check
    .command('s3')
    .description('compare s3 source and target (not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('the s3 checker is not implemented yet');
    });
}
