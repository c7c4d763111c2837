/**
 * `npm run demo`: a real DR switch on one machine. Starts Main and DR (MariaDB primary + GTID
 * replica, Redis config, Ceph RGW, OpenSearch pair, the demo bank app), runs
 * `drctl switch runbooks/demo/switchover.yaml --yes` with its RPO = 0 gates, writes the HTML
 * report, switches back with runbooks/demo/switchback.yaml, and stops everything it started.
 * The bridge (`drctl serve`) shows both runs live; the QA approval is given through it, as user
 * `qa` (scripts/demo/bridge.ts).
 *
 *   npm run demo                      full switchover + switchback
 *   npm run demo -- --data-loss       a transaction never reaches DR: the mysql gate stops the switch
 *   npm run demo -- --unplanned       Main dies: unplanned failover + remote-log reconcile (scripts/demo/unplanned.ts)
 *   npm run demo -- --keep            leave the servers and the bridge running (stop them with npm run demo:down)
 *   npm run demo -- --interactive     you are the QA: approve qa-verify yourself in the browser
 *   npm run demo -- --no-s3 --no-es   without Ceph / OpenSearch (faster, less memory)
 *   npm run demo:down                 stop whatever a previous demo left running
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, startDemoBridge, type DemoBridge } from './bridge.js';
import { LAB_DIR, ROOT, startLab, stopLeftovers, type Lab } from './lab.js';

const { values: opts } = parseArgs({
  options: {
    'data-loss': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    interactive: { type: 'boolean', default: false },
    'no-s3': { type: 'boolean', default: false },
    'no-es': { type: 'boolean', default: false },
    down: { type: 'boolean', default: false },
    unplanned: { type: 'boolean', default: false },
  },
});

const t0 = Date.now();
const log = (line: string) =>
  process.stdout.write(`[demo ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
const RUNS = join(LAB_DIR, 'drctl', 'runs');

function drctl(
  args: string[],
  env: Record<string, string>,
  onLine?: (line: string) => void,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, DRCTL_HOME: join(LAB_DIR, 'drctl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    const pipe = (chunk: Buffer, to: NodeJS.WriteStream) => {
      to.write(chunk);
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine?.(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    };
    child.stdout.on('data', (c: Buffer) => pipe(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => pipe(c, process.stderr));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * Plays the QA engineer on the bridge: as soon as a manual step waits, approves it through the
 * bridge's API as the demo's `qa` user (what the Approve button sends). With --interactive it
 * only says where to click: a person approves in the browser.
 */
function approveOnBridge(bridge: DemoBridge): { stop(): void } {
  let stopped = false;
  const asked = new Set<string>();
  const tries = new Map<string, number>();
  const loop = async () => {
    while (!stopped) {
      await sleep(200);
      const journal = newestJournal();
      if (!journal) continue;
      const events = readFileSync(journal.path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l) as { type: string; step?: string };
          } catch {
            return { type: 'torn' };
          }
        });
      const decided = new Set(events.filter((e) => e.type === 'approval').map((e) => e.step));
      for (const e of events) {
        const key = `${journal.id}/${e.step}`;
        if (e.type !== 'approval-requested' || !e.step || decided.has(e.step) || asked.has(key)) continue;
        const page = `${bridge.url}/runs/${journal.id}`;
        if (opts.interactive) {
          asked.add(key);
          log(
            `${e.step} waits for QA: open ${page}, log in as qa (password in ${bridge.loginFile}), Approve`,
          );
          continue;
        }
        const n = (tries.get(key) ?? 0) + 1;
        tries.set(key, n);
        const r = await bridge.approve(
          journal.id,
          e.step,
          'approved on the bridge by the demo for its QA user (on the night a QA engineer clicks Approve)',
        );
        if (r.status === 200) {
          asked.add(key);
          log(`QA approval for ${e.step}: given on the bridge as user qa (${page}): ${r.message}`);
        } else if (n >= 3) {
          asked.add(key);
          log(
            `QA approval for ${e.step} on the bridge failed (HTTP ${r.status}: ${r.message}); approve it at ${page}`,
          );
        }
      }
    }
  };
  void loop();
  return { stop: () => (stopped = true) };
}

function newestJournal(): { id: string; path: string } | undefined {
  if (!existsSync(RUNS)) return undefined;
  const id = readdirSync(RUNS)
    .filter((d) => existsSync(join(RUNS, d, 'journal.jsonl')))
    .sort()
    .at(-1);
  return id ? { id, path: join(RUNS, id, 'journal.jsonl') } : undefined;
}

async function health(lab: Lab): Promise<string> {
  const r = await fetch(`${lab.appUrl}/health`);
  const h = (await r.json()) as {
    mysql: string;
    traffic: string;
    dbPort: number;
    written: number;
    refused: number;
  };
  return `app uses mysql=${h.mysql} (port ${h.dbPort}), traffic ${h.traffic}, ${h.written} payments written, ${h.refused} refused`;
}

async function switchAndReport(
  lab: Lab,
  bridge: DemoBridge,
  runbook: string,
  label: string,
  vars: string[],
): Promise<number> {
  log(`drctl switch ${runbook} --yes`);
  const approver = approveOnBridge(bridge);
  const code = await drctl(['switch', runbook, '--yes', ...vars], lab.env);
  approver.stop();
  const run = newestJournal();
  log(`drctl switch exited ${code}; ${await health(lab)}`);
  if (run) {
    const html = join(LAB_DIR, `report-${label}.html`);
    await drctl(['report', run.id, '--format', 'html', '-o', html], lab.env);
    await drctl(['report', run.id], lab.env);
    log(`report: ${html}  (journal ${run.path})`);
  }
  return code;
}

async function main(): Promise<number> {
  if (opts.down) {
    await stopLeftovers(log);
    return 0;
  }
  await stopLeftovers(() => undefined);
  if (opts.unplanned) {
    const { runUnplannedDemo } = await import('./unplanned.js');
    return runUnplannedDemo({ s3: !opts['no-s3'], es: !opts['no-es'], keep: opts.keep, log });
  }
  log('starting Main and DR on 127.0.0.1 …');
  // startLab clears LAB_DIR before its first await; the bridge then starts beside the servers.
  const labP = startLab({ s3: !opts['no-s3'], es: !opts['no-es'], log });
  const bridgeP = startDemoBridge(RUNS);
  const [labR, bridgeR] = await Promise.allSettled([labP, bridgeP]);
  if (labR.status === 'rejected' || bridgeR.status === 'rejected') {
    if (labR.status === 'fulfilled') await labR.value.stop();
    if (bridgeR.status === 'fulfilled') await bridgeR.value.stop();
    throw labR.status === 'rejected' ? labR.reason : (bridgeR as PromiseRejectedResult).reason;
  }
  const lab = labR.value;
  const bridge = bridgeR.value;
  lab.addEnv({ DRCTL_USERS: bridge.usersFile, DEMO_BRIDGE_URL: bridge.url });
  const vars = [...(opts['no-s3'] ? ['--var', 's3=off'] : []), ...(opts['no-es'] ? ['--var', 'es=off'] : [])];
  let exit = 0;
  try {
    log(await health(lab));
    log(
      `bridge: ${bridge.url}  (drctl serve, pid ${bridge.pid}); log in as qa (role QA) or sre, demo-only passwords in ${bridge.loginFile}`,
    );
    if (opts['data-loss']) {
      // The DR link breaks while customers still pay: these payments exist only on Main.
      await lab.mysql.replica.query('STOP SLAVE IO_THREAD');
      for (let i = 0; i < 3; i++)
        await fetch(`${lab.appUrl}/pay?amount=999.99&account=7`, { method: 'POST' });
      await sleep(500);
      log(
        'data-loss variant: DR replication link cut (replica IO thread stopped) while payments kept landing on Main',
      );
      // The preflight would refuse this switch (the replica's IO thread is stopped); the variant
      // skips it, on the record, to show the mysql gate stopping the switch by itself.
      const skip = ['--skip-preflight', '--reason', 'demo: DR link cut on purpose to show the mysql gate'];
      const code = await switchAndReport(lab, bridge, 'runbooks/demo/switchover.yaml', 'data-loss', [
        ...vars,
        ...skip,
      ]);
      if (code === 1)
        log(
          'as intended: the mysql gate found transactions missing on DR and the switch stopped before promotion',
        );
      else {
        log(`unexpected: the switch exited ${code}; the gate should have stopped it`);
        exit = 1;
      }
    } else {
      const over = await switchAndReport(lab, bridge, 'runbooks/demo/switchover.yaml', 'switchover', vars);
      if (over !== 0) return over;
      const back = await switchAndReport(lab, bridge, 'runbooks/demo/switchback.yaml', 'switchback', vars);
      exit = back;
    }
  } finally {
    if (opts.keep) {
      log(
        `servers and the bridge left running: bridge ${bridge.url} (logins in ${bridge.loginFile}), env in ${join(LAB_DIR, 'env.sh')} ($DEMO_BRIDGE_URL, $DRCTL_USERS); stop them with: npm run demo:down`,
      );
    } else {
      await bridge.stop();
      await lab.stop();
      log('stopped every process the demo started');
    }
  }
  log(exit === 0 ? 'demo finished' : `demo finished with exit ${exit}`);
  return exit;
}

process.exitCode = await main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
  return 2;
});
// --keep: the servers and the bridge run on by themselves (detached); the lab's open database
// connections would otherwise keep this process, and the terminal, waiting forever.
if (opts.keep) process.exit();
