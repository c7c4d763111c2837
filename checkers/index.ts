import type { AnyCheckerModule, CheckerModule } from './module.js';
import { esModule } from './es/module.js';
import { mysqlModule } from './mysql/module.js';
import { redisModule } from './redis/module.js';
import { s3Module } from './s3/module.js';
import type { Checker } from './types.js';

export type {
  CheckContext,
  CheckProgressEvent,
  CheckResult,
  CheckStatus,
  Checker,
  EsEndpoint,
  Finding,
  S3Endpoint,
} from './types.js';
export type * from './module.js';

/**
 * The registry: every checker kind drctl has, and the only list of kinds anywhere. The runbook
 * schema (resources, `check:` steps), the JSON Schema, `drctl check <kind>`, check steps and the
 * resource mapping all derive from it. Adding a kind: one folder exporting a CheckerModule, one
 * line here (docs/checkers/writing-a-checker.md). Modules are cheap to import (no drivers).
 */
export const checkers = {
  mysql: mysqlModule,
  s3: s3Module,
  es: esModule,
  redis: redisModule,
} satisfies Record<string, AnyCheckerModule>;

export type CheckerKind = keyof typeof checkers;

type EndpointOf<K extends CheckerKind> =
  (typeof checkers)[K] extends CheckerModule<K, infer E, infer _O> ? E : never;

/** The endpoints a checker compares, as resolved from a runbook resource or from CLI flags. */
export type CheckTarget = {
  [K in CheckerKind]: { kind: K; source: EndpointOf<K>; target: EndpointOf<K> };
}[CheckerKind];

/** The built-in kinds, in registry order. */
export const checkerKinds = Object.keys(checkers) as CheckerKind[];

/** Kinds registered at run time by a test (see registerCheckerForTests); none in production. */
const extra = new Map<string, AnyCheckerModule>();

/** Every registered module, built-in first. */
export function checkerModules(): AnyCheckerModule[] {
  return [...(Object.values(checkers) as AnyCheckerModule[]), ...extra.values()];
}

/** Every registered kind (built-in and test-registered). */
export function registeredKinds(): string[] {
  return checkerModules().map((m) => m.kind);
}

export function checkerModule(kind: string): AnyCheckerModule | undefined {
  return Object.hasOwn(checkers, kind)
    ? (checkers[kind as CheckerKind] as AnyCheckerModule)
    : extra.get(kind);
}

/**
 * Test-only registration hook: a fixture kind (test/fixtures/checker-kind/) registers itself
 * before the runbook schema and the CLI are imported, then runs through `drctl check <kind>`
 * and check steps like a built-in kind.
 */
export function registerCheckerForTests(module: AnyCheckerModule): void {
  if (checkerModule(module.kind)) throw new Error(`checker kind ${module.kind} is already registered`);
  extra.set(module.kind, module);
}

/** The checker of a kind, as a step or the CLI runs it; undefined for an unknown kind. */
export async function loadChecker(kind: string): Promise<Checker<never> | undefined> {
  const m = checkerModule(kind);
  await Promise.resolve();
  if (!m) return undefined;
  return {
    kind: m.kind as CheckerKind,
    optionsSchema: m.optionsSchema as Checker<never>['optionsSchema'],
    run: (target, options, ctx) => m.run(target, options, ctx),
  };
}
