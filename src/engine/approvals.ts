import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * The approvals inbox: `drctl approve`/`reject` from any terminal drops a file into
 * `<run-dir>/approvals/`; the running executor turns each file into exactly one journal event
 * (only the executor writes the journal, so the hash chain has one writer) and marks it taken in done/.
 *
 * Every request gets the next free number (`00000007.json`), claimed atomically with link(2),
 * which fails when the name exists: two terminals deciding at the same moment get different
 * numbers, and the lower number is the earlier decision. The executor takes requests in number
 * order, so which decision wins a race is decided by the inbox, not by timing inside drctl.
 */
export interface ApprovalRequest {
  step: string;
  decision: 'approved' | 'rejected';
  by: string;
  comment?: string | undefined;
  at: string;
  host: string;
  pid: number;
  /** The request's number in the inbox (its file name without `.json`); numbers are never reused. */
  id: string;
  /** Where it came from (absent: `drctl approve|reject`). */
  via?: 'cli' | 'bridge' | undefined;
  /** The OS user that submitted it (the bridge's own user for a browser decision). */
  osUser?: string | undefined;
  /** The browser's address, for a bridge decision. */
  address?: string | undefined;
}

const ID_WIDTH = 8;

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

export function approvalsDir(runDir: string): string {
  return join(runDir, 'approvals');
}

function numberedNames(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^\d+\.json$/.test(n))
      .map((n) => Number(n.slice(0, -5)));
  } catch {
    return [];
  }
}

/** Submits a decision and returns its request id (what the executor journals it under). */
export function submitApproval(
  runDir: string,
  req: Omit<ApprovalRequest, 'at' | 'host' | 'pid' | 'id' | 'osUser'>,
): ApprovalRequest {
  const dir = approvalsDir(runDir);
  mkdirSync(join(dir, 'done'), { recursive: true });
  const tmp = join(dir, `.${process.pid}-${Date.now()}.tmp`);
  let n = Math.max(0, ...numberedNames(dir)) + 1;
  try {
    for (;;) {
      const id = String(n).padStart(ID_WIDTH, '0');
      const full: ApprovalRequest = {
        ...req,
        at: new Date().toISOString(),
        host: hostname(),
        osUser: osUser(),
        pid: process.pid,
        id,
      };
      writeFileSync(tmp, JSON.stringify(full) + '\n');
      try {
        // Written whole under a temp name, then linked: the executor never reads half a file,
        // and link fails with EEXIST when another terminal took this number first.
        linkSync(tmp, join(dir, `${id}.json`));
        return full;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        n += 1;
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Takes every request not taken yet, in submission order, marking each taken in approvals/done/.
 * Request files stay where they are, so a number once used is never handed out again.
 */
export function takeApprovals(runDir: string): ApprovalRequest[] {
  const dir = approvalsDir(runDir);
  const taken = new Set(numberedNames(join(dir, 'done')));
  const out: ApprovalRequest[] = [];
  for (const n of numberedNames(dir).sort((a, b) => a - b)) {
    if (taken.has(n)) continue;
    const name = `${String(n).padStart(ID_WIDTH, '0')}.json`;
    let req: ApprovalRequest;
    try {
      req = JSON.parse(readFileSync(join(dir, name), 'utf8')) as ApprovalRequest;
    } catch {
      continue;
    }
    mkdirSync(join(dir, 'done'), { recursive: true });
    writeFileSync(join(dir, 'done', name), '');
    out.push({ ...req, id: req.id ?? name.slice(0, -5) });
  }
  return out;
}
