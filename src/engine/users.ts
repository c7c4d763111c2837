import {
  randomBytes,
  scrypt as scryptCb,
  scryptSync,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { DEFAULT_HOME, ensureDir } from '../journal/runs.js';

/**
 * The users file (`drctl users`, `drctl serve --users`): people who may log in to the bridge, with
 * scrypt password hashes and role names. Role membership for approvals is the runbook's
 * `roles.<r>.members` plus the roles given here, so the executor reads it too (it decides every
 * approval, whatever terminal or browser it came from).
 *
 * ```yaml
 * users:
 *   alice: { roles: [QA], password: "scrypt$16384$8$1$<salt>$<hash>" }
 * ```
 */
export interface UserEntry {
  roles: string[];
  /** `scrypt$N$r$p$<salt base64>$<hash base64>`. */
  password: string;
}

export type Users = Map<string, UserEntry>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

const UsersFileSchema = z.strictObject({
  users: z
    .record(
      z.string().regex(NAME),
      z.strictObject({ roles: z.array(z.string().min(1)), password: z.string().startsWith('scrypt$') }),
    )
    .nullable()
    .optional(),
});

/** scrypt cost: N=2^15 takes ~50-100 ms and 32 MiB, enough to make guessing slow. */
const COST = { N: 1 << 15, r: 8, p: 1 } as const;
const KEY_LEN = 32;
const maxmem = (o: { N: number; r: number }): number => 128 * o.N * o.r * 2;

/**
 * Where the users file is: `--users` when given, else `$DRCTL_USERS`, else `users.yaml` in
 * `$DRCTL_HOME` (default `.drctl`), the same default for `switch`, `approve` and `serve`.
 */
export function resolveUsersFile(
  option: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string {
  if (option !== undefined && option !== '') return resolve(cwd, option);
  if (env.DRCTL_USERS !== undefined && env.DRCTL_USERS !== '') return resolve(cwd, env.DRCTL_USERS);
  const home = env.DRCTL_HOME !== undefined && env.DRCTL_HOME !== '' ? env.DRCTL_HOME : DEFAULT_HOME;
  return resolve(cwd, home, 'users.yaml');
}

/** Reads the users file; a missing file has no users. A malformed one is a ConfigError (exit 2). */
export function readUsers(path: string): Users {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new ConfigError(`cannot read the users file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`the users file ${path} is not YAML: ${(err as Error).message}`, {
      hint: 'it is written by drctl users add; fix or remove the broken line',
    });
  }
  const parsed = UsersFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`the users file ${path}: ${issue.path.join('.')}: ${issue.message}`, {
      hint: 'expected users: { <name>: { roles: [...], password: scrypt$... } } as written by drctl users add',
    });
  }
  return new Map(Object.entries(parsed.data.users ?? {}));
}

/** Writes the users file whole (temp file + rename), readable by its owner only. */
export function writeUsers(path: string, users: Users): void {
  ensureDir(dirname(path), 'the directory of the users file');
  const sorted = Object.fromEntries([...users.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const text =
    '# drctl users: written by `drctl users add|remove`; passwords are scrypt hashes\n' +
    stringifyYaml({ users: sorted });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function checkUserName(name: string): string | undefined {
  return NAME.test(name)
    ? undefined
    : `"${name}" is not a valid user name: 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`;
}

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEY_LEN, { ...COST, maxmem: maxmem(COST) });
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function scryptAsync(password: string, salt: Buffer, len: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((ok, fail) =>
    scryptCb(password, salt, len, o, (err, key) => (err ? fail(err) : ok(key))),
  );
}

/** A fixed hash to verify against for unknown users, so a miss costs the same time as a hit. */
const DUMMY = `scrypt$${COST.N}$${COST.r}$${COST.p}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_LEN).toString('base64')}`;

/** Checks `password` against a stored hash (or against a dummy when `stored` is undefined: always false). */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const [tag, n, r, p, salt, hash] = (stored ?? DUMMY).split('$');
  const o = { N: Number(n), r: Number(r), p: Number(p) };
  if (tag !== 'scrypt' || !salt || !hash || ![o.N, o.r, o.p].every(Number.isSafeInteger) || o.N > 1 << 20) {
    return false;
  }
  const want = Buffer.from(hash, 'base64');
  const got = await scryptAsync(password, Buffer.from(salt, 'base64'), want.length, {
    ...o,
    maxmem: maxmem(o),
  });
  return timingSafeEqual(got, want) && stored !== undefined;
}
