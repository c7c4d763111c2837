import type { CheckTarget } from '../../checkers/types.js';
import { UsageError } from '../errors.js';
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
  const unresolved = /<(unset|unreadable):([^>]+)>/.exec(JSON.stringify(res));
  if (unresolved) {
    throw new UsageError(
      unresolved[1] === 'unset'
        ? `resource "${resource}" needs environment variable ${unresolved[2]}, which is not set`
        : `resource "${resource}" needs file ${unresolved[2]}, which cannot be read`,
      {
        hint:
          unresolved[1] === 'unset'
            ? `export ${unresolved[2]}=… and run again`
            : 'check the path and its permissions',
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
