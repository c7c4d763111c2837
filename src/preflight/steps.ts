import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { findPlaceholders } from '../runbook/interpolate.js';
import type { Action, Direction, Runbook, Step } from '../runbook/schema.js';
import { approvalPolicy } from '../engine/approvers.js';
import type { Users } from '../engine/users.js';
import { actionsOf } from './scope.js';
import { line, type Probe, type ProbeLine } from './types.js';

const SHELL_BUILTINS = new Set(
  'cd echo printf test [ [[ export set unset true false exit return source . eval exec read wait sleep if for while case until : trap shift ulimit umask'.split(
    ' ',
  ),
);

const groupOf = (step: Step): string => `steps of ${step.module ?? 'the runbook'}`;
/** Steps of one module are grouped under it; a program or host several modules use, under "steps". */
const groupOfAll = (steps: Step[]): string =>
  new Set(steps.map(groupOf)).size === 1 ? groupOf(steps[0]!) : 'steps of several modules';

/** The program a run action starts, and where it looks for it. */
function programOf(
  a: Extract<Action, { kind: 'run' }>,
): { program: string; cwd: string; path: string } | undefined {
  const cwd = a.cwd ?? process.cwd();
  const path = a.env?.['PATH'] ?? process.env['PATH'] ?? '';
  if (!a.shell && a.argv) return { program: a.argv[0]!, cwd, path };
  const text = a.command ?? a.argv?.join(' ') ?? '';
  // The first word that is not an assignment; a command built from expansions is left to the shell.
  for (const word of text.trim().split(/\s+/)) {
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue;
    const w = word.replace(/^['"]|['"]$/g, '');
    if (w === '' || SHELL_BUILTINS.has(w) || /[$`(){};|&<>]/.test(w)) return undefined;
    return { program: w, cwd, path };
  }
  return undefined;
}

/** A run step's program: present and executable from its working directory (or on PATH). */
async function checkProgram(p: {
  program: string;
  cwd: string;
  path: string;
}): Promise<{ ok: boolean; message: string; fix?: string }> {
  if (p.program.includes('/')) {
    const full = isAbsolute(p.program) ? p.program : resolve(p.cwd, p.program);
    let st;
    try {
      st = await stat(full);
    } catch {
      return {
        ok: false,
        message: `${p.program} not found (looked in ${p.cwd})`,
        fix: `restore ${full}, or fix the step's run:/cwd:`,
      };
    }
    if (!st.isFile())
      return {
        ok: false,
        message: `${full} is not a file`,
        fix: `point the step at the program, not ${full}`,
      };
    try {
      await access(full, constants.X_OK);
    } catch {
      return {
        ok: false,
        message: `${full} is not executable`,
        fix: `chmod +x ${full} (and commit the mode: git update-index --chmod=+x)`,
      };
    }
    return { ok: true, message: `${p.program} is executable` };
  }
  for (const dir of p.path.split(delimiter).filter(Boolean)) {
    const full = join(dir, p.program);
    try {
      await access(full, constants.X_OK);
      if ((await stat(full)).isFile()) return { ok: true, message: `${p.program} → ${full}` };
    } catch {
      /* next */
    }
  }
  return {
    ok: false,
    message: `${p.program} is not on PATH`,
    fix: `install ${p.program} on this host, or give its full path in the step`,
  };
}

/** One probe per distinct program (and per http host); lines name every step that uses it. */
export function stepProbes(runbook: Runbook, steps: Step[], direction: Direction | undefined): Probe[] {
  const programs = new Map<string, { p: NonNullable<ReturnType<typeof programOf>>; steps: Step[] }>();
  const hosts = new Map<string, { url: string; steps: Step[] }>();
  const visit = (a: Action, step: Step): void => {
    if (a.kind === 'wait') return visit(a.until, step);
    if (a.kind === 'run') {
      const p = programOf(a);
      if (!p || findPlaceholders(p.program).length > 0) return;
      const key = `${p.cwd}\0${p.program}\0${p.path}`;
      const e = programs.get(key) ?? { p, steps: [] };
      if (!e.steps.includes(step)) e.steps.push(step);
      programs.set(key, e);
    } else if (a.kind === 'http') {
      const r = a.http.resource ? runbook.resources[a.http.resource] : undefined;
      const base = r && 'url' in r && typeof r.url === 'string' ? r.url : undefined;
      const url = a.http.url.startsWith('/') && base ? base.replace(/\/+$/, '') + a.http.url : a.http.url;
      let host: string;
      try {
        host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      } catch {
        host = `(bad URL ${url.slice(0, 60)})`;
      }
      if (findPlaceholders(url).length > 0) return;
      const e = hosts.get(host) ?? { url, steps: [] };
      if (!e.steps.includes(step)) e.steps.push(step);
      hosts.set(host, e);
    }
  };
  for (const step of steps) for (const { action } of actionsOf(step, runbook.drill)) visit(action, step);

  const named = (ss: Step[]): string =>
    ss.length <= 3
      ? ss.map((s) => s.id).join(', ')
      : `${ss
          .slice(0, 2)
          .map((s) => s.id)
          .join(', ')} and ${ss.length - 2} more`;
  const probes: Probe[] = [];
  for (const { p, steps: ss } of programs.values()) {
    const group = groupOfAll(ss);
    probes.push({
      key: `run:${p.cwd}:${p.program}`,
      group,
      kind: 'run',
      item: `program ${p.program}`,
      direction,
      timeoutFix: 'the file system did not answer: check the mount',
      run: async () => {
        const r = await checkProgram(p);
        return [
          line(
            { group, kind: 'run', direction },
            `program ${p.program}`,
            r.ok ? 'ok' : 'fail',
            `${r.message} (step${ss.length === 1 ? '' : 's'} ${named(ss)})`,
            r.fix,
          ),
        ];
      },
    });
  }
  for (const [host, { steps: ss }] of hosts) {
    const group = groupOfAll(ss);
    probes.push({
      key: `http:${host}`,
      group,
      kind: 'http',
      item: `host ${host}`,
      direction,
      timeoutFix: `the DNS server did not answer for ${host}: check /etc/resolv.conf and the network`,
      run: async (): Promise<ProbeLine[]> => {
        const base = { group, kind: 'http', direction };
        const used = `(step${ss.length === 1 ? '' : 's'} ${named(ss)})`;
        if (host.startsWith('(bad URL'))
          return [line(base, `host ${host}`, 'fail', `${host} ${used}`, 'fix the step url')];
        if (isIP(host)) return [line(base, `host ${host}`, 'ok', `${host} is an address ${used}`)];
        try {
          const a = await lookup(host);
          return [line(base, `host ${host}`, 'ok', `${host} resolves to ${a.address} ${used}`)];
        } catch (err) {
          const code = (err as { code?: string }).code ?? 'error';
          return [
            line(
              base,
              `host ${host}`,
              'fail',
              `${host} does not resolve (${code}) ${used}`,
              `check the host name in the step url, and DNS from this host (getent hosts ${host})`,
            ),
          ];
        }
      },
    });
  }
  return probes;
}

/** Missing `${env:…}`/`${file:…}` values (from a lenient load), named with where they are used; never a value. */
export function secretLines(
  runbook: Runbook & { placeholders: string[] },
  steps: Step[],
  direction: Direction | undefined,
  usedResources: ReadonlySet<string>,
): ProbeLine[] {
  const base = { group: 'secrets', kind: 'secret', direction };
  const used = findPlaceholders({
    steps,
    resources: Object.entries(runbook.resources).filter(([n]) => usedResources.has(n)),
  });
  return runbook.placeholders
    .filter((p) => used.includes(p))
    .map((p) => {
      const users = [
        ...Object.entries(runbook.resources)
          .filter(([n, r]) => usedResources.has(n) && findPlaceholders(r).includes(p))
          .map(([n]) => `resource ${n}`),
        ...steps.filter((s) => findPlaceholders(s).includes(p)).map((s) => `step ${s.id}`),
      ];
      const where =
        users.length === 0
          ? ''
          : ` (used by ${users.length <= 3 ? users.join(', ') : `${users.slice(0, 3).join(', ')} and ${users.length - 3} more`})`;
      const [source, name] = [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1)];
      return source === 'env'
        ? line(
            base,
            p,
            'fail',
            `environment variable ${name} is not set${where}`,
            `export ${name}=… in the shell that runs drctl (read it from the vault; never type it on the command line)`,
          )
        : line(
            base,
            p,
            'fail',
            `file ${name} cannot be read${where}`,
            `put the file at ${name} (readable by this user), or fix the \${file:…} path`,
          );
    });
}

/**
 * Every manual step must have enough people who may decide it, by the executor's own rule
 * (src/engine/approvers.ts): members of its owner or `approvers:` roles, from the runbook's
 * `roles.<r>.members` and the users file. A role nobody is in refuses every approval (fail
 * closed), so the switch would wait at that step forever: a fail, found before the night.
 */
export function roleLines(
  runbook: Runbook,
  steps: Step[],
  direction: Direction | undefined,
  users: Users = new Map(),
): ProbeLine[] {
  const base = { group: 'roles', kind: 'role', direction };
  // Steps with the same roles and the same number of approvals needed share one line.
  const byPolicy = new Map<string, { roles: string[]; need: number; people: string[]; ids: string[] }>();
  for (const step of steps) {
    for (const { action } of actionsOf(step, runbook.drill)) {
      if (action.kind !== 'manual') continue;
      const policy = approvalPolicy(runbook, step, action);
      const key = `${policy.roles.join('|')}#${policy.minApprovals}`;
      const people = new Set(policy.members);
      for (const [name, u] of users) if (u.roles.some((r) => policy.roles.includes(r))) people.add(name);
      const entry = byPolicy.get(key) ?? {
        roles: policy.roles,
        need: policy.minApprovals,
        people: [...people],
        ids: [],
      };
      entry.ids.push(step.id);
      byPolicy.set(key, entry);
    }
  }
  const out: ProbeLine[] = [];
  for (const { roles, need, people, ids } of [...byPolicy.values()].sort((a, b) =>
    a.roles.join().localeCompare(b.roles.join()),
  )) {
    const who = roles.join(' or ');
    const what = `${ids.length} manual step${ids.length === 1 ? '' : 's'} (${ids.slice(0, 2).join(', ')}${ids.length > 2 ? ', …' : ''})`;
    const needs = need > 1 ? `, ${need} distinct approvals each` : '';
    if (people.length < need) {
      out.push(
        line(
          base,
          `role ${who}`,
          'fail',
          people.length === 0
            ? `nobody may approve ${what}${needs}: ${who} has no members, and approvals are refused`
            : `${what} need${ids.length === 1 ? 's' : ''} ${need} distinct approvers from ${who}; only ${people.length} may approve`,
          `add the on-call people: roles.${roles[0]}.members: [name, …] in the runbook, or drctl users add <name> --roles ${roles[0]}`,
        ),
      );
    } else {
      out.push(
        line(
          base,
          `role ${who}`,
          'ok',
          `${what}${needs}: ${people.length} ${people.length === 1 ? 'person' : 'people'} may approve`,
        ),
      );
    }
  }
  return out;
}
