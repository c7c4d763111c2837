import type { CheckTarget } from '../../checkers/types.js';
import type { Resource } from './schema.js';

/**
 * The endpoints a checker compares, from a runbook resource: the one mapping used by check steps
 * and by `drctl check <kind> --resource`. Returns a message when the resource cannot be checked.
 */
export function resourceToCheckTarget(name: string, r: Resource): CheckTarget | string {
  switch (r.kind) {
    case 'mysql':
      return { kind: 'mysql', source: r.primary, target: r.replica };
    case 's3':
      return { kind: 's3', source: r.source, target: r.target };
    case 'es':
      return { kind: 'es', source: r.source, target: r.target };
    case 'redis':
      if (r.source === undefined || r.target === undefined) {
        return `redis resource "${name}" needs source: and target: URLs to be checked`;
      }
      return { kind: 'redis', source: r.source, target: r.target };
    case 'http':
    case 'kafka':
    case 'zookeeper':
    case 'mq':
    case 'service':
    case 'channel':
    case 'network':
      return `resource "${name}" is of kind ${r.kind}; drctl has checkers for mysql, s3, es and redis`;
  }
}
