import type { CheckTarget } from '../../checkers/types.js';
import { UsageError } from '../errors.js';

/**
 * Resolves a runbook resource into the endpoints a checker compares, for
 * `drctl check <kind> --resource <name> -f <runbook>`.
 */
export async function checkTargetFromRunbook(
  file: string,
  resource: string,
  _vars: Record<string, string> = {},
): Promise<CheckTarget> {
  await Promise.resolve();
  throw new UsageError(
    `cannot resolve resource ${resource} from ${file} yet: runbook loading is not implemented`,
  );
}
