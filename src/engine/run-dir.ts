import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { createRunDir, type RunLocation } from '../journal/runs.js';
import type { Runbook } from '../runbook/schema.js';
import { redact, redactValue } from '../util/redact.js';
import { VERSION } from '../version.js';
import type { Who } from './state.js';

/** How the run was asked for: what resume needs to load the same runbook again. */
export interface Invocation {
  file: string;
  direction: 'switchover' | 'switchback';
  drill: boolean;
  /** `drctl switch --unplanned` (Main may be gone). */
  unplanned?: boolean | undefined;
  dryRun: boolean;
  environment: string;
  vars: Record<string, string>;
  only?: string | undefined;
  from?: string | undefined;
  concurrency?: number | undefined;
  /** The users file whose roles may approve (resume uses it again). */
  usersFile?: string | undefined;
}

export const RUNBOOK_FILE = 'runbook.json';
export const INVOCATION_FILE = 'invocation.json';

export function describeWho(): Who {
  return {
    user: userInfo().username,
    host: hostname(),
    pid: process.pid,
    argv: process.argv.map((a) => redact(a)),
    version: VERSION,
  };
}

/**
 * Creates `<runs>/<run-id>/` with the resolved runbook (redacted) and the invocation; the
 * journal goes next to them.
 */
export function createRun(
  runsDir: string,
  runId: string,
  runbook: Runbook,
  invocation: Invocation,
): RunLocation {
  const loc = createRunDir(runsDir, runId);
  writeFileSync(join(loc.dir, RUNBOOK_FILE), JSON.stringify(redactValue(runbook), null, 2) + '\n');
  writeFileSync(
    join(loc.dir, INVOCATION_FILE),
    JSON.stringify(redactValue({ ...invocation, who: describeWho() }), null, 2) + '\n',
  );
  return loc;
}

export function readInvocation(runDir: string): Invocation | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, INVOCATION_FILE), 'utf8')) as Invocation;
  } catch {
    return undefined;
  }
}
