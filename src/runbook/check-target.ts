import type { CheckTarget } from '../../checkers/types.js';
import { UsageError } from '../errors.js';
import { loadRunbook } from './load.js';
import type { Resource } from './schema.js';

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
  return toCheckTarget(resource, res);
}

export function toCheckTarget(name: string, res: Resource): CheckTarget {
  switch (res.kind) {
    case 'mysql':
      return { kind: 'mysql', source: res.primary, target: res.replica };
    case 's3':
      return { kind: 's3', source: res.source, target: res.target };
    case 'es':
      return { kind: 'es', source: res.source, target: res.target };
    case 'redis':
      if (!res.source || !res.target) {
        throw new UsageError(`redis resource "${name}" needs source: and target: URLs to be checked`, {
          hint: 'add source: redis://main-host:6379 and target: redis://dr-host:6379',
        });
      }
      return { kind: 'redis', source: res.source, target: res.target };
    case 'http':
    case 'kafka':
    case 'zookeeper':
    case 'mq':
    case 'service':
    case 'channel':
    case 'network':
      throw new UsageError(
        `resource "${name}" is of kind ${res.kind}; drctl has checkers for mysql, s3, es and redis`,
      );
  }
}
