/**
 * Whole-process `drctl switch` benchmark (issue 19 goal 5: a DAG of sleep steps finishes within
 * critical path + 0.3 s): `node --import tsx bench/switch.bench.ts` after `npm run build`.
 * A 14-step DAG of `sleep` steps (critical path 1.8 s) is run by the built CLI, as an operator
 * runs it (`--yes`, no TTY), three times; also a `--dry-run` of it (start-up and journal alone).
 * Prints wall and CPU (user+sys of the reaped child, from /proc/self/stat) per run, the
 * time from process start to the run-started event (start-up), the executor's own run time, and
 * the time after run-finished until exit, and the peak RSS of the drctl process. CPU is the figure
 * to compare on a shared 2-core host. Each run uses a lock directory of its own (DRCTL_LOCK_DIR in
 * the temporary directory), so another benchmark or test holding the lock of environment `bench`
 * does not make it exit 2.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** DRCTL_BENCH_BIN: another build's bin/drctl.js, to compare (e.g. main's). */
const BIN = process.env.DRCTL_BENCH_BIN ?? join(ROOT, 'bin/drctl.js');

// Critical path a .3 → b1 .5 → c .4 → d1 .3 → e .3 → g 0 = 1.8 s.
const DAG: [string, string[], number][] = [
  ['a', [], 0.3],
  ['b1', ['a'], 0.5],
  ['b2', ['a'], 0.4],
  ['b3', ['a'], 0.2],
  ['c', ['b1', 'b2'], 0.4],
  ['f1', ['b3'], 0.6],
  ['f2', ['b3'], 0.3],
  ['d1', ['c'], 0.3],
  ['d2', ['c'], 0.2],
  ['d3', ['c', 'f1'], 0.1],
  ['f3', ['f2'], 0.5],
  ['e', ['d1', 'd2', 'd3'], 0.3],
  ['f4', ['f3'], 0.4],
  ['g', ['e', 'f4'], 0],
];
const CRITICAL_MS = 1800;

interface Row {
  case: string;
  wallMs: number;
  cpuMs: number;
  startupMs: number;
  runMs: number;
  exitMs: number;
  rssMb: number;
}

/** Preloaded into drctl: writes its peak RSS (KiB) to SWITCH_BENCH_RSS_FILE at exit. */
const RSS_PROBE =
  "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.SWITCH_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));\n";

/** Runs the built CLI; wall time, its CPU time (user+sys, reaped child) and peak RSS. */
async function timed(
  args: string[],
  cwd: string,
): Promise<{ wallMs: number; cpuMs: number; rssMb: number; t0: number }> {
  const probe = join(cwd, 'rss-probe.mjs');
  const rssFile = join(cwd, 'rss');
  writeFileSync(probe, RSS_PROBE);
  const t0 = Date.now();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', probe, BIN, ...args], {
      cwd,
      env: { ...process.env, DRCTL_LOCK_DIR: join(cwd, 'locks'), SWITCH_BENCH_RSS_FILE: rssFile },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const wallMs = Date.now() - t0;
  if (code !== 0) throw new Error(`drctl ${args.join(' ')} exited ${code}`);
  return { wallMs, cpuMs: childCpuMs(), rssMb: Number(readFileSync(rssFile, 'utf8')) / 1024, t0 };
}

let lastChildCpu = 0;
/** CPU of reaped children since the last call: /proc/self/stat cutime + cstime (fields 16, 17). */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[13]) + Number(f[14]); // cutime + cstime (fields 16, 17)
  const ms = (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  const delta = ms - lastChildCpu;
  lastChildCpu = ms;
  return delta;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'drctl-bench-switch-'));
  try {
    const file = join(dir, 'dag.yaml');
    writeFileSync(
      file,
      stringify({
        apiVersion: 'drctl/v1',
        kind: 'Runbook',
        name: 'sleep-dag',
        environment: 'bench',
        roles: { SRE: {} },
        steps: DAG.map(([id, needs, s]) => ({
          id,
          owner: 'SRE',
          needs,
          estimate: `${Math.round(s * 1000)}ms`,
          run: ['sleep', String(s)],
        })),
      }),
    );
    childCpuMs();
    const rows: Row[] = [];
    for (const [label, extra] of [
      ['dry run', ['--dry-run']],
      ['switch #1', []],
      ['switch #2', []],
      ['switch #3', []],
    ] as const) {
      const runs = join(dir, 'runs');
      rmSync(runs, { recursive: true, force: true });
      const r = await timed(['switch', file, '--yes', '--runs-dir', runs, ...extra], dir);
      const run = readdirSync(runs).find((n) => !n.startsWith('.'))!;
      const events = readFileSync(join(runs, run, 'journal.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; ts: string });
      const started = Date.parse(events[0]!.ts);
      const finished = Date.parse(events.at(-1)!.ts);
      rows.push({
        case: label,
        wallMs: r.wallMs,
        cpuMs: r.cpuMs,
        startupMs: started - r.t0,
        runMs: finished - started,
        exitMs: r.t0 + r.wallMs - finished,
        rssMb: r.rssMb,
      });
    }
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(
      `\nswitch benchmark: 14-step sleep DAG, critical path ${CRITICAL_MS} ms (load average ${load})`,
    );
    console.log(
      'case'.padEnd(12),
      'wall ms'.padStart(8),
      'CPU ms'.padStart(8),
      'start-up'.padStart(9),
      'run'.padStart(7),
      'exit'.padStart(6),
      'peak RSS'.padStart(9),
      ' over critical path',
    );
    for (const r of rows) {
      console.log(
        r.case.padEnd(12),
        String(r.wallMs).padStart(8),
        r.cpuMs.toFixed(0).padStart(8),
        String(r.startupMs).padStart(9),
        String(r.runMs).padStart(7),
        String(r.exitMs).padStart(6),
        `${r.rssMb.toFixed(0)} MB`.padStart(9),
        r.case === 'dry run' ? '' : ` +${r.wallMs - CRITICAL_MS} ms (goal +300)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
