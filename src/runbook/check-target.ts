import type { CheckTarget } from '../../checkers/types.js';
import { UsageError } from '../errors.js';
import { findPlaceholders } from './interpolate.js';
import { loadRunbook } from './load.js';
import { resourceToCheckTarget } from './resource-target.js';

/**
 * Resolves a runbook resource into the endpoints a checker compares, for
 * `drctl check <kind> --resource <name> -f <runbook>`. Only this resource's secrets must be
 * set: the runbook is loaded leniently, then the chosen resource is checked for placeholders.
 */
export async function checkTargetFromRunbook(
  file: string,
  resource: string,
  vars: Record<string, string> = {},
): Promise<CheckTarget> {
  await Promise.resolve();
  const rb = loadRunbook(file, { vars, lenientSecrets: true });
  const res = rb.resources[resource];
  if (!res) {
    const names = Object.keys(rb.resources);
    throw new UsageError(`resource "${resource}" is not declared in ${file}`, {
      hint: names.length ? `resources there: ${names.join(', ')}` : 'declare it under resources:',
    });
  }
  const [missing] = findPlaceholders(res);
  if (missing) {
    const [source, name] = [missing.slice(0, missing.indexOf(':')), missing.slice(missing.indexOf(':') + 1)];
    throw new UsageError(
      source === 'env'
        ? `resource "${resource}" needs environment variable ${name}, which is not set`
        : `resource "${resource}" needs file ${name}, which cannot be read`,
      {
        hint: source === 'env' ? `export ${name}=… and run again` : 'check the path and its permissions',
      },
    );
  }
  const target = resourceToCheckTarget(resource, res);
  if (typeof target === 'string') {
    throw new UsageError(target, {
      hint: 'point --resource at a resource with source and target to compare',
    });
  }
  return target;
}
