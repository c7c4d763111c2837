import type { Command } from 'commander';
import { checkUserName, hashPassword, readUsers, resolveUsersFile, writeUsers } from '../../engine/users.js';
import { UsageError } from '../../errors.js';
import { printJson, printLine } from '../output.js';

interface UsersOptions {
  users?: string;
  roles?: string;
  passwordStdin?: boolean;
  json?: boolean;
}

const USERS_OPTION = [
  '--users <file>',
  'the users file (default $DRCTL_USERS or $DRCTL_HOME/users.yaml, else .drctl/users.yaml)',
] as const;

/** `drctl users add|list|remove`: who may log in to the bridge, and their roles. */
export function registerUsers(program: Command): void {
  const users = program
    .command('users')
    .description('manage the people who may log in to drctl serve and approve as their roles')
    .addHelpText(
      'after',
      '\nExamples:\n  printf %s "$PW" | drctl users add alice --roles QA,PM --password-stdin\n  drctl users list\n  drctl users remove alice\n',
    );
  users
    .command('add')
    .description('add a user, or replace their roles and password')
    .argument('<name>', 'the login name (also the name approvals are recorded under)')
    .requiredOption('--roles <r1,r2>', "role names, as in the runbooks' roles:")
    .option('--password-stdin', 'read the password from stdin (the only way: never on the command line)')
    .option(...USERS_OPTION)
    .action(async (name: string, opts: UsersOptions) => {
      const bad = checkUserName(name);
      if (bad) throw new UsageError(bad);
      const roles = (opts.roles ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      if (roles.length === 0) throw new UsageError('--roles needs at least one role name, e.g. --roles QA');
      if (!opts.passwordStdin) {
        throw new UsageError('the password is read from stdin only', {
          hint: `printf %s "$PASSWORD" | drctl users add ${name} --roles ${roles.join(',')} --password-stdin`,
        });
      }
      const password = (await readStdin()).replace(/\r?\n$/, '');
      if (password.length < 8) {
        throw new UsageError('the password on stdin is shorter than 8 characters', {
          hint: 'use a long passphrase; it is stored as a scrypt hash only',
        });
      }
      const path = resolveUsersFile(opts.users);
      const all = readUsers(path);
      const existed = all.has(name);
      all.set(name, { roles, password: hashPassword(password) });
      writeUsers(path, all);
      printLine(`${existed ? 'updated' : 'added'} ${name} (roles ${roles.join(', ')}) in ${path}`);
    });
  users
    .command('list')
    .description('list users and their roles (never their password hashes)')
    .option('--json', 'print one JSON document')
    .option(...USERS_OPTION)
    .action((opts: UsersOptions) => {
      const path = resolveUsersFile(opts.users);
      const all = [...readUsers(path).entries()].map(([name, u]) => ({ name, roles: u.roles }));
      if (opts.json) {
        printJson({ file: path, users: all });
        return;
      }
      if (all.length === 0) {
        printLine(`no users in ${path}`);
        return;
      }
      const width = Math.max(...all.map((u) => u.name.length));
      for (const u of all) printLine(`${u.name.padEnd(width)}  ${u.roles.join(', ')}`);
    });
  users
    .command('remove')
    .description('remove a user (their sessions on a running drctl serve end at their next request)')
    .argument('<name>')
    .option(...USERS_OPTION)
    .action((name: string, opts: UsersOptions) => {
      const path = resolveUsersFile(opts.users);
      const all = readUsers(path);
      if (!all.delete(name)) {
        throw new UsageError(`no user "${name}" in ${path}`, { hint: 'see drctl users list' });
      }
      writeUsers(path, all);
      printLine(`removed ${name} from ${path}`);
    });
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError('--password-stdin: stdin is a terminal', {
      hint: 'pipe the password in: printf %s "$PASSWORD" | drctl users add …',
    });
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
