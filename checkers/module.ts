import type { z } from 'zod';
import type { CheckContext, CheckResult, Finding } from './types.js';

/**
 * Everything drctl knows about one checker kind, in one object exported from its folder
 * (`checkers/<kind>/module.ts`). The registry (`checkers/index.ts`) lists these objects; the
 * runbook schema, the JSON Schema, `drctl check <kind>`, check steps, the resource mapping and
 * the docs derive from it. See docs/checkers/writing-a-checker.md.
 *
 * Cheap to import: no driver, no SDK. `run` loads the comparison code when it is called.
 */
export interface CheckerModule<
  K extends string = string,
  Endpoint = unknown,
  Options = unknown,
  R extends z.ZodObject = z.ZodObject,
> {
  kind: K;
  /** One line for `drctl check --help` and the docs. */
  title: string;
  /**
   * The runbook resource fields of this kind, besides `kind` and the common `description`,
   * `concurrency` and `owner`. Strict: an unknown field is reported at its line.
   */
  resource: R;
  /** The two endpoints a check of this resource compares, or a message saying why it cannot. */
  endpoints(name: string, resource: z.infer<R>): Sides<Endpoint> | string;
  /** Options: the extra fields of a runbook `check:` step, and what the CLI builds from its flags. */
  optionsSchema: z.ZodType<Options>;
  /**
   * Environment variables the checker (or its SDK) reads credentials from. drctl registers their
   * values as secrets where it runs the checker (`drctl check`, a check step); default none.
   */
  secretEnv?: readonly string[];
  cli: CheckerCli<Endpoint>;
  /** Compares; read-only on both sides. Throws when it cannot compare (exit 2) or when aborted. */
  run(target: CheckTargetOf<K, Endpoint>, options: Options, ctx: CheckContext): Promise<CheckResult>;
}

export interface Sides<Endpoint> {
  source: Endpoint;
  target: Endpoint;
}

export type CheckTargetOf<K extends string, Endpoint> = { kind: K } & Sides<Endpoint>;

/** Any registered module, as the generic code holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCheckerModule = CheckerModule<string, any, any, z.ZodObject>;

/** A kind-specific flag of `drctl check <kind>`; the common ones are added by drctl. */
export interface CheckerFlag {
  /** commander syntax: `--wait <duration>`, `--no-gtid`, `--ttl [mode]`. */
  flags: string;
  description: string;
  default?: string;
  /** Comma-separated and repeatable: the value is a string[]. */
  list?: boolean;
}

/** Parsed flags, camelCased as commander gives them. */
export type FlagValues = Record<string, unknown>;

export interface PrintContext {
  /** --show: how many findings to print. */
  show: number;
  /** Findings already printed while streaming (see `streamFinding`). */
  printed: number;
  /** Findings seen while streaming (printed or not). */
  seen: number;
  flags: FlagValues;
  /** Prints a line for a person (drctl redacts it). */
  out: (line?: string) => void;
}

/** How `drctl check <kind>` reads its flags and prints for a person. */
export interface CheckerCli<Endpoint> {
  /** `drctl check <kind>` description. */
  description: string;
  /** --source <value> / --target <value>: the value name and the help text. */
  source: { value: string; description: string };
  target: { value: string; description: string };
  /** --resource help (it always goes with -f <runbook>). */
  resource?: string;
  /** Present when `--since` applies: its help text. It sets the `since` option. */
  since?: string;
  /** --show default. */
  show?: number;
  /** Kind-specific flags, in help order. */
  flags: CheckerFlag[];
  /** Help text printed after the options (what is compared, credentials, examples). */
  help: string;
  /**
   * Endpoints from --source/--target and the kind's flags. Throws a UsageError naming the flag
   * (exit 2). `source`/`target` may be undefined when the kind allows it (s3 --buckets).
   */
  endpoints(flags: FlagValues): Sides<Endpoint>;
  /**
   * Checks that come before the endpoints (flags that cannot go together), naming the flag.
   */
  precheck?(flags: FlagValues): void;
  /**
   * The options input from the flags (the schema then validates it). Throws a UsageError naming
   * the flag for a value it must convert (a duration, a number).
   */
  options(flags: FlagValues, show: number): Record<string, unknown>;
  /** Option key → the flag that sets it, to name the flag of a schema error. Default `--kebab-key`. */
  optionFlags?: Record<string, string>;
  /** Print findings as they are found (one line each, or undefined to skip one). */
  streamFinding?(f: Finding, flags: FlagValues): string | undefined;
  /** Whether findings stream to stdout for these flags (default: when not --json). */
  streams?(flags: FlagValues): boolean;
  /** The result for a person (not --json). */
  print(result: CheckResult, ctx: PrintContext): void;
}
