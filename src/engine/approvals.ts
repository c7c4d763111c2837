import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * The approvals inbox: `drctl approve`/`reject` from any terminal drops a file into
 * `<run-dir>/approvals/`; the running executor turns it into an `approval` journal event (only
 * the executor writes the journal, so the hash chain has one writer) and moves it to done/.
 */
export interface ApprovalRequest {
  step: string;
  decision: 'approved' | 'rejected';
  by: string;
  comment?: string | undefined;
  at: string;
  host: string;
  pid: number;
}

export function approvalsDir(runDir: string): string {
  return join(runDir, 'approvals');
}

/** Written to a temp name and renamed, so the executor never reads half a file. */
export function submitApproval(runDir: string, req: Omit<ApprovalRequest, 'at' | 'host' | 'pid'>): string {
  const dir = approvalsDir(runDir);
  mkdirSync(dir, { recursive: true });
  const full: ApprovalRequest = { ...req, at: new Date().toISOString(), host: hostname(), pid: process.pid };
  const name = `${Date.now()}-${randomBytes(3).toString('hex')}.json`;
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, JSON.stringify(full) + '\n');
  const path = join(dir, name);
  renameSync(tmp, path);
  return path;
}

/** Takes the pending requests for one step, oldest first, moving each to approvals/done/. */
export function takeApprovals(runDir: string, step: string): ApprovalRequest[] {
  const dir = approvalsDir(runDir);
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
  const out: ApprovalRequest[] = [];
  for (const name of names) {
    let req: ApprovalRequest;
    try {
      req = JSON.parse(readFileSync(join(dir, name), 'utf8')) as ApprovalRequest;
    } catch {
      continue;
    }
    if (req.step !== step) continue;
    mkdirSync(join(dir, 'done'), { recursive: true });
    renameSync(join(dir, name), join(dir, 'done', name));
    out.push(req);
  }
  return out;
}
