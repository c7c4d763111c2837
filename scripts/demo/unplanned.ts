/**
 * `npm run demo -- --unplanned`: the real disaster. The bank app writes each payment to a remote
 * log in a third site; the DR link is cut, a handful of payments commit on Main only, then Main's
 * mysqld is killed with SIGKILL. `drctl switch runbooks/demo/unplanned.yaml --unplanned` promotes
 * DR after the replica-only gate, reconciles the remote log against DR, blacklists the accounts
 * with funds in transit (the Redis set the app reads) and waits for the data-risk approval. The
 * app on DR then refuses those accounts and serves the others. Main comes back, its lost payments
 * are recovered into DR (as a DBA would from its binlog), and `drctl reconcile` clears the
 * blacklist. Writes `unplanned-summary.json` in the lab dir for the e2e test.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startMariaDb, waitForReplicaCatchUp } from '../../test/harness/mysql.js';
import { LAB_DIR, ROOT, startLab, type Lab } from './lab.js';

const RUNBOOK = 'runbooks/demo/unplanned.yaml';
const BLACKLIST = 'bcf.blacklist.accounts';
const BIN = join(ROOT, 'bin/drctl.js');
const RUNS = join(LAB_DIR, 'drctl', 'runs');
/** Who approves for each role that may be asked (the runbook's members). */
const MEMBERS: Record<string, string> = { QA: 'demo-qa-bot', 'HEAD-OPS': 'demo-head-of-ops' };

/** The payments that commit on Main after the DR link is cut: their accounts are the ones at risk. */
const MAIN_ONLY = [
  { account: 7, amount: 250.0 },
  { account: 23, amount: 1200.5 },
  { account: 7, amount: 99.99 },
  { account: 58, amount: 75.25 },
];

export interface UnplannedDemoOptions {
  s3: boolean;
  es: boolean;
  keep: boolean;
  log: (line: string) => void;
}

interface PayResult {
  ok: boolean;
  target: string;
  txn?: string;
  error?: string;
}

function drctl(
  args: string[],
  env: Record<string, string>,
  quiet = false,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, DRCTL_HOME: join(LAB_DIR, 'drctl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!quiet) process.stdout.write(c);
    });
    child.stderr.on('data', (c: Buffer) => process.stderr.write(c));
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out }));
  });
}

function newestRun(): string | undefined {
  if (!existsSync(RUNS)) return undefined;
  return readdirSync(RUNS)
    .filter((d) => existsSync(join(RUNS, d, 'journal.jsonl')))
    .sort()
    .at(-1);
}

/**
 * Plays the people on the bridge: each approval the run asks for is given by a member of the role
 * it names (QA for the business check, HEAD-OPS for the data risk), and the prompt is printed.
 */
function approveAsRoleMembers(env: Record<string, string>, log: (l: string) => void): { stop(): void } {
  let stopped = false;
  const done = new Set<string>();
  const loop = async () => {
    while (!stopped) {
      await sleep(300);
      const id = newestRun();
      if (!id) continue;
      const lines = readFileSync(join(RUNS, id, 'journal.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean);
      for (const line of lines) {
        let ev: { type: string; step?: string; role?: string; instructions?: string };
        try {
          ev = JSON.parse(line) as typeof ev;
        } catch {
          continue; // a line being written
        }
        if (ev.type !== 'approval-requested' || !ev.step || done.has(`${id}/${ev.step}`)) continue;
        done.add(`${id}/${ev.step}`);
        const by = MEMBERS[ev.role ?? ''] ?? 'demo-qa-bot';
        log(`approval asked of ${ev.role} for ${ev.step}: ${ev.instructions ?? ''}`);
        log(`  → approved by ${by} (the demo plays ${ev.role}; on the night a person runs drctl approve)`);
        await drctl(
          ['approve', id, ev.step, '--as', by, '--comment', `auto-approved by the demo as ${ev.role}`],
          env,
          true,
        );
      }
    }
  };
  void loop();
  return { stop: () => (stopped = true) };
}

async function pay(lab: Lab, account: number, amount: number): Promise<PayResult> {
  const r = await fetch(`${lab.appUrl}/pay?amount=${amount.toFixed(2)}&account=${account}`, {
    method: 'POST',
  });
  return (await r.json()) as PayResult;
}

async function blacklist(redisUrl: string): Promise<string[]> {
  const r = new Redis(redisUrl);
  try {
    return (await r.smembers(BLACKLIST)).sort((a, b) => Number(a) - Number(b));
  } finally {
    r.disconnect();
  }
}

function stage(log: (l: string) => void, n: number, title: string): void {
  log('');
  log(`━━ ${n}. ${title}`);
}

export async function runUnplannedDemo(opts: UnplannedDemoOptions): Promise<number> {
  const { log } = opts;
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    log(`${ok ? 'ok' : 'UNEXPECTED'}: ${what}`);
    if (!ok) problems.push(what);
  };
  stage(log, 1, 'Main, DR and the remote log (third site) start on 127.0.0.1');
  const lab = await startLab({ s3: opts.s3, es: opts.es, log, remoteLog: true, loadMs: 0 });
  const vars = [...(opts.s3 ? [] : ['--var', 's3=off']), ...(opts.es ? [] : ['--var', 'es=off'])];
  let restarted: Awaited<ReturnType<typeof startMariaDb>> | undefined;
  const summary: Record<string, unknown> = { mainOnly: [] as unknown[] };
  try {
    stage(log, 2, 'business as usual: payments reach Main, the remote log and DR');
    for (let account = 1; account <= 5; account++) {
      const r = await pay(lab, account, 10 + account);
      expect(r.ok && r.target === 'live', `payment of account ${account} on Main (${r.txn ?? r.error})`);
    }
    await waitForReplicaCatchUp(lab.mysql);
    log('DR has applied every payment so far');

    stage(log, 3, 'the DR link breaks: the replica IO thread is stopped');
    await lab.mysql.replica.query('STOP SLAVE IO_THREAD');
    for (const p of MAIN_ONLY) {
      const r = await pay(lab, p.account, p.amount);
      expect(
        r.ok && r.target === 'live',
        `account ${p.account} pays ${p.amount.toFixed(2)} on Main only (${r.txn})`,
      );
      (summary.mainOnly as unknown[]).push({ ...p, txn: r.txn });
    }
    const affected = [...new Set(MAIN_ONLY.map((p) => String(p.account)))].sort(
      (a, b) => Number(a) - Number(b),
    );
    const inTransit = MAIN_ONLY.reduce((s, p) => s + p.amount, 0).toFixed(2);
    log(
      `${MAIN_ONLY.length} payments (${inTransit}) of accounts ${affected.join(', ')} exist on Main and in the remote log only`,
    );
    summary.affected = affected;
    summary.amountInTransit = inTransit;

    stage(log, 4, `Main dies: SIGKILL to its mysqld (pid ${lab.mysql.primary.pid})`);
    process.kill(lab.mysql.primary.pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(lab.mysql.primary.pid, 0);
      } catch {
        break;
      }
      await sleep(50);
    }
    log(`Main's database is gone (127.0.0.1:${lab.mysql.primary.port} refuses connections)`);

    stage(log, 5, `drctl switch ${RUNBOOK} --unplanned`);
    // The unplanned preflight reads only DR and the remote log: Main being down is expected there.
    const approver = approveAsRoleMembers(lab.env, log);
    const sw = await drctl(['switch', RUNBOOK, '--unplanned', '--yes', ...vars], lab.env);
    approver.stop();
    const runId = newestRun();
    summary.switchExit = sw.code;
    summary.runId = runId;
    expect(sw.code === 0, `drctl switch --unplanned exited ${sw.code}`);
    const listed = await blacklist(lab.env.DEMO_REDIS_URL!);
    summary.blacklistAfterSwitch = listed;
    log(`blacklist ${BLACKLIST}: ${listed.join(', ') || '(empty)'}`);
    expect(
      listed.join(',') === affected.join(','),
      `exactly the accounts with payments in transit are blacklisted (${affected.join(', ')})`,
    );
    if (runId) {
      const html = join(LAB_DIR, 'report-unplanned.html');
      await drctl(['report', runId, '--format', 'html', '-o', html], lab.env, true);
      await drctl(['report', runId], lab.env);
      log(`report: ${html}`);
    }

    stage(log, 6, 'the app on DR: blacklisted accounts are refused, the others pay');
    const refused = await pay(lab, 7, 5);
    expect(!refused.ok && /blacklisted/.test(refused.error ?? ''), `account 7 refused: ${refused.error}`);
    const served = await pay(lab, 1, 5);
    expect(served.ok && served.target === 'dr', `account 1 pays on ${served.target}`);
    summary.onDr = { blacklistedRefused: !refused.ok, otherServed: served.ok && served.target === 'dr' };

    stage(log, 7, 'Main comes back: its mysqld restarts on its datadir (read-only)');
    restarted = await startMariaDb({
      dir: join(LAB_DIR, 'mysql', 'primary'),
      serverId: 1,
      port: lab.mysql.primary.port,
      readOnly: true,
    });
    const pidsFile = join(LAB_DIR, 'pids.json');
    if (existsSync(pidsFile)) {
      const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as Record<string, number>;
      writeFileSync(pidsFile, JSON.stringify({ ...pids, 'mariadb-primary': restarted.pid }, null, 2));
    }
    log(`Main's mysqld is up again (pid ${restarted.pid}) after crash recovery`);

    stage(log, 8, "the DBA recovers Main's lost payments into DR");
    const recovered = await recoverLostPayments(restarted, lab);
    log(`${recovered.length} payments copied from Main to DR (${recovered.map((r) => r.txn_id).join(', ')})`);
    summary.recovered = recovered.length;

    stage(log, 9, `drctl reconcile --resource payments-log -f ${RUNBOOK}`);
    const rec = await drctl(['reconcile', '--resource', 'payments-log', '-f', RUNBOOK], lab.env);
    summary.reconcileExit = rec.code;
    expect(rec.code === 0, `drctl reconcile exited ${rec.code} (0: every entry reconciled)`);
    const after = await blacklist(lab.env.DEMO_REDIS_URL!);
    summary.blacklistAfterRecovery = after;
    expect(after.length === 0, `blacklist after the recovery: ${after.join(', ') || '(empty)'}`);
    const back = await pay(lab, 7, 5);
    expect(back.ok && back.target === 'dr', `account 7 pays again on ${back.target}`);
  } finally {
    summary.problems = problems;
    writeFileSync(join(LAB_DIR, 'unplanned-summary.json'), JSON.stringify(summary, null, 2) + '\n');
    if (opts.keep) {
      log(`servers left running (env in ${join(LAB_DIR, 'env.sh')}); stop them with: npm run demo:down`);
    } else {
      await restarted?.stop();
      await lab.stop();
      log('stopped every process the demo started');
    }
  }
  log(
    problems.length === 0
      ? 'unplanned demo finished'
      : `unplanned demo: ${problems.length} unexpected results`,
  );
  return problems.length === 0 ? 0 : 1;
}

/** Copies the payments Main has and DR lacks (by txn_id) into DR, with their balance changes. */
async function recoverLostPayments(
  main: { query(sql: string): Promise<unknown[]> },
  lab: Lab,
): Promise<{ txn_id: string; account_id: number; amount: string }[]> {
  type Row = { txn_id: string; account_id: number; amount: string; created_at: string };
  const onMain = (await main.query(
    'SELECT txn_id, account_id, amount, created_at FROM bank.payments WHERE txn_id IS NOT NULL',
  )) as Row[];
  const onDr = new Set(
    (
      (await lab.mysql.replica.query('SELECT txn_id FROM bank.payments WHERE txn_id IS NOT NULL')) as Row[]
    ).map((r) => r.txn_id),
  );
  const lost = onMain.filter((r) => !onDr.has(r.txn_id));
  for (const r of lost) {
    await lab.mysql.replica.query(
      `START TRANSACTION;
       INSERT INTO bank.payments (account_id, amount, status, created_at, txn_id) VALUES (${Number(r.account_id)}, ${Number(r.amount).toFixed(2)}, 'recovered', '${r.created_at}', '${r.txn_id.replace(/[^0-9a-f-]/g, '')}');
       UPDATE bank.accounts SET balance = balance - ${Number(r.amount).toFixed(2)} WHERE id = ${Number(r.account_id)};
       COMMIT`,
    );
  }
  return lost;
}
