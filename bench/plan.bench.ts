/**
 * Benchmark: `drctl validate` and `drctl plan` on the full-size bank example
 * (runbooks/id-bank/switchover.yaml, ~650 steps from 18 files and 15 data lists) and on a
 * generated 2,000-step runbook (20 modules, templates, foreach, glob needs).
 *
 *   npm run build && node --import tsx bench/plan.bench.ts
 *
 * Each case is measured two ways: as the user sees it (a fresh `node bin/drctl.js …` process,
 * PLAN_BENCH_RUNS times (default 7), median, with its peak RSS), and in-process (loadRunbook +
 * buildPlan: the first call, then the median of warm calls). Goals (issue 2): the example under
 * 0.5 s, the 2,000-step runbook under 1 s, both as a CLI process. Exit 1 when a goal is missed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../src/plan/plan.js';
import { loadRunbook } from '../src/runbook/load.js';

const RUNS = Number(process.env.PLAN_BENCH_RUNS ?? 7);
const WARM = 10;
const ROOT = join(import.meta.dirname, '..');
const DRCTL = join(ROOT, 'bin', 'drctl.js');
const EXAMPLE = join(ROOT, 'runbooks', 'id-bank', 'switchover.yaml');

interface Row {
  runbook: string;
  steps: number;
  how: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Median CPU time (user + system) of the process; what wall time would be on an idle machine. */
  cpuMs: number | undefined;
  peakRssMb: number | undefined;
  goalMs: number | undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One CLI process; its peak RSS and CPU time come from the child itself (resourceUsage at exit). */
function runCli(
  args: string[],
  rssFile: string,
  probe: string,
): Promise<{ ms: number; rssMb: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', probe, DRCTL, ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', PLAN_BENCH_RSS_FILE: rssFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`drctl ${args.join(' ')} exited ${code}:\n${stderr}`));
      const usage = JSON.parse(readFileSync(rssFile, 'utf8')) as { maxRSS: number; cpuUs: number };
      resolve({ ms, rssMb: usage.maxRSS / 1024, cpuMs: usage.cpuUs / 1000 });
    });
  });
}

async function measureCli(
  name: string,
  steps: number,
  args: string[],
  goalMs: number | undefined,
  tmp: string,
): Promise<Row> {
  const probe = join(tmp, 'rss-probe.mjs');
  const rssFile = join(tmp, 'rss');
  const times: number[] = [];
  const cpu: number[] = [];
  let peak = 0;
  await runCli(args, rssFile, probe); // warm the OS file cache, not counted
  for (let i = 0; i < RUNS; i++) {
    const r = await runCli(args, rssFile, probe);
    times.push(r.ms);
    cpu.push(r.cpuMs);
    peak = Math.max(peak, r.rssMb);
  }
  return {
    runbook: name,
    steps,
    how: `CLI ${args[0]}${args.includes('--json') ? ' --json' : ''}`,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    cpuMs: median(cpu),
    peakRssMb: peak,
    goalMs,
  };
}

function measureInProcess(name: string, file: string): Row[] {
  const once = () => {
    const t0 = performance.now();
    const rb = loadRunbook(file, { lenientSecrets: true });
    const plan = buildPlan(rb);
    return { ms: performance.now() - t0, steps: plan.steps.length };
  };
  const first = once();
  const warm = Array.from({ length: WARM }, () => once().ms);
  const rss = process.resourceUsage().maxRSS / 1024;
  return [
    {
      runbook: name,
      steps: first.steps,
      how: 'in-process, first call',
      medianMs: first.ms,
      minMs: first.ms,
      maxMs: first.ms,
      cpuMs: undefined,
      peakRssMb: undefined,
      goalMs: undefined,
    },
    {
      runbook: name,
      steps: first.steps,
      how: `in-process, warm (${WARM})`,
      medianMs: median(warm),
      minMs: Math.min(...warm),
      maxMs: Math.max(...warm),
      cpuMs: undefined,
      peakRssMb: rss,
      goalMs: undefined,
    },
  ];
}

/**
 * A 2,000-step runbook shaped like a real one: 20 module files, each with 2 clusters, 30
 * database gates, 2 promotions, 65 services (foreach over data lists), a sign-off and QA, all
 * through templates; glob needs between phases.
 */
function generateRunbook(dir: string, modules = 20): string {
  mkdirSync(join(dir, 'modules'));
  mkdirSync(join(dir, 'data'));
  const vars: string[] = [];
  for (let m = 0; m < modules; m++) {
    const mod = `mod${String(m).padStart(2, '0')}`;
    const clusters = [`${mod}-c1`, `${mod}-c2`];
    const data = [
      `clusters: [${clusters.join(', ')}]`,
      'services:',
      ...Array.from({ length: 65 }, (_, i) => `  - { name: svc-${i}, replicas: ${2 + (i % 4)} }`),
      'databases:',
      ...Array.from({ length: 30 }, (_, i) => `  - { name: db_${i}, cluster: ${clusters[i % 2]} }`),
    ];
    writeFileSync(join(dir, 'data', `${mod}.yaml`), data.join('\n') + '\n');
    vars.push(`  ${mod}: \${file:data/${mod}.yaml}`);
    const resources = clusters
      .map(
        (c) =>
          `  ${c}: { kind: mysql, primary: "mysql://u:\${vars.pw}@${c}.\${dir.from}:3306", replica: "mysql://u:\${vars.pw}@${c}.\${dir.to}:3306", concurrency: 3 }`,
      )
      .join('\n');
    writeFileSync(
      join(dir, 'modules', `${mod}.yaml`),
      `kind: Module
name: ${mod}
pic: PIC of ${mod}
roles: { PIC-${mod}: {} }
resources:
${resources}
steps:
  - { id: ready-${mod}, owner: PIC-${mod}, phase: prepare, needs: [declare], manual: ready, estimate: 5m }
  - { id: "gate-${mod}-\${db.cluster}-\${db.name}", template: gate, foreach: "\${vars.${mod}.databases}", as: db }
  - { id: "promote-\${c}", template: promote, foreach: "\${vars.${mod}.clusters}", as: c, needs: ["gate-${mod}-\${c}-*"] }
  - { id: "svc-${mod}-\${svc.name}", template: service, with: { module: ${mod} }, foreach: "\${vars.${mod}.services}", as: svc }
  - { id: switched-${mod}, owner: PIC-${mod}, phase: switch-services, needs: ["svc-${mod}-*"], manual: signed off, estimate: 3m }
  - { id: qa-${mod}, owner: QA, phase: verify, needs: [switched-${mod}], manual: cases pass, estimate: 10m }
`,
    );
  }
  const file = join(dir, 'big.yaml');
  writeFileSync(
    file,
    `apiVersion: drctl/v1
kind: Runbook
name: generated-2000
objectives: { rto: { technical: 90m, compliance: 4h }, rpo: 0 }
rto: { technical: { from: stop, to: open }, compliance: { from: declare, to: open } }
roles: { LEAD: {}, SRE: { concurrency: 40 }, DBA: { concurrency: 30 }, QA: { concurrency: 20 } }
directions:
  switchover: { from: main, to: dr }
  switchback: { from: dr, to: main }
vars:
  pw: \${env:BENCH_PW:-x}
${vars.join('\n')}
templates:
  gate:
    owner: DBA
    phase: data-gates
    needs: [stop]
    check: { kind: mysql, resource: "\${db.cluster}", databases: ["\${db.name}"], gtid: false }
    estimate: 2m
  promote:
    owner: DBA
    phase: switch-databases
    run: [./promote.sh, --cluster, "\${c}", --dc, "\${dir.to}"]
    drill: { run: [./promote.sh, --cluster, "\${c}", --dc, "\${dir.to}", --dry-run] }
    estimate: 3m
  service:
    owner: SRE
    phase: switch-services
    needs: ["promote-*"]
    run: [./switch.sh, --service, "\${with.module}/\${svc.name}", "--replicas=\${svc.replicas}", --dc, "\${dir.to}"]
    estimate: 2m
include: [modules/*.yaml]
steps:
  - { id: declare, owner: LEAD, phase: prepare, manual: declare, estimate: 5m }
  - { id: stop, owner: SRE, phase: stop-traffic, needs: ["ready-*"], run: [./gateway.sh, drain], estimate: 3m }
  - { id: open, owner: SRE, phase: open-traffic, needs: ["qa-*"], run: [./gateway.sh, open], estimate: 3m }
`,
  );
  return file;
}

function printTable(rows: Row[]): void {
  const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  const header = [
    'runbook',
    'steps',
    'measured as',
    'median',
    'min',
    'max',
    'CPU',
    'steps/s',
    'peak RSS',
    'goal',
  ];
  const body = rows.map((r) => [
    r.runbook,
    String(r.steps),
    r.how,
    fmt(r.medianMs),
    fmt(r.minMs),
    fmt(r.maxMs),
    r.cpuMs === undefined ? '' : fmt(r.cpuMs),
    String(Math.round((r.steps / r.medianMs) * 1000)),
    r.peakRssMb === undefined ? '' : `${r.peakRssMb.toFixed(0)} MB`,
    r.goalMs === undefined ? '' : `< ${fmt(r.goalMs)} ${r.medianMs < r.goalMs ? 'ok' : 'MISSED'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i <= 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

async function main(): Promise<number> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    console.error('dist/ is missing: run `npm run build` first (npm run bench does)');
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'drctl-plan-bench-'));
  try {
    writeFileSync(
      join(tmp, 'rss-probe.mjs'),
      "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { const u = process.resourceUsage(); writeFileSync(process.env.PLAN_BENCH_RSS_FILE, JSON.stringify({ maxRSS: u.maxRSS, cpuUs: u.userCPUTime + u.systemCPUTime })); });\n",
    );
    mkdirSync(join(tmp, 'gen'));
    const big = generateRunbook(join(tmp, 'gen'));
    const cases = [
      { name: 'id-bank/switchover.yaml', file: EXAMPLE, goalMs: 500 },
      { name: 'generated 2,000 steps', file: big, goalMs: 1000 },
    ];
    const rows: Row[] = [];
    for (const c of cases) {
      const inProcess = measureInProcess(c.name, c.file);
      const steps = inProcess[0]!.steps;
      rows.push(await measureCli(c.name, steps, ['validate', c.file], undefined, tmp));
      rows.push(await measureCli(c.name, steps, ['plan', c.file, '--json'], c.goalMs, tmp));
      rows.push(...inProcess);
    }
    const [load1] = loadavg();
    console.log(
      `drctl validate + plan (node ${process.version}, ${RUNS} CLI runs each, validate loads both directions; load average ${load1!.toFixed(1)} on ${availableParallelism()} CPUs)\n`,
    );
    printTable(rows);
    const missed = rows.filter((r) => r.goalMs !== undefined && r.medianMs >= r.goalMs);
    if (missed.length && load1! > availableParallelism())
      console.log('\nGoals are judged on wall time; the machine is busy, so compare the CPU column too.');
    return missed.length ? 1 : 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
