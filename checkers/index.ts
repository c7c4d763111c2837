import type { Checker, CheckTarget } from './types.js';

export type * from './types.js';

/**
 * Registry kind → checker. Checkers are loaded lazily so that `drctl validate` does not pay
 * for the drivers of every system. A kind that is not implemented yet resolves to undefined:
 * a check step of that kind fails with a message naming it, it never passes.
 */
const loaders: Partial<Record<CheckTarget['kind'], () => Promise<Checker<never>>>> = {
  mysql: async () => (await import('./mysql/index.js')).mysqlChecker as Checker<never>,
  es: async () => (await import('./es/index.js')).esChecker as Checker<never>,
  s3: async () => (await import('./s3/index.js')).s3Checker as Checker<never>,
  redis: async () => (await import('./redis/index.js')).redisChecker as Checker<never>,
};

export const checkerKinds = ['mysql', 's3', 'es', 'redis'] as const satisfies readonly CheckTarget['kind'][];

export async function loadChecker(kind: CheckTarget['kind']): Promise<Checker<never> | undefined> {
  const load = loaders[kind];
  return load ? load() : undefined;
}
