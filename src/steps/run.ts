import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { redact } from '../util/redact.js';
import { OutputCapture, describeExitCode, exitCodeForSignal } from './output-capture.js';
import { closeGate, gatedArgv, openGate } from './run-gate.js';
import type { StepHandler, StepOutcome } from './types.js';

/** Grace period between SIGTERM and SIGKILL for a step's process group. */
const KILL_GRACE_MS = 5_000;

type RunAction = Parameters<StepHandler<'run'>['execute']>[0];

export function describeRun(action: RunAction): string {
  const cmd = action.shell
    ? `sh -c ${JSON.stringify(action.command ?? action.argv?.join(' '))}`
    : (action.argv ?? [action.command ?? '']).map(quoteArg).join(' ');
  return redact(`run: ${cmd}${action.cwd ? ` (in ${action.cwd})` : ''}`);
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs a command (node's spawn: execa cost ~0.2 s of CPU to load and ~15 ms per step, for
 * nothing this needs): an argv array (no shell) unless `shell: true`. The child gets its
 * own process group so that a timeout or abort kills everything it started, and so that a
 * terminal Ctrl-C reaches drctl only (drctl then decides what happens to running steps).
 */
export const runHandler: StepHandler<'run'> = {
  describe: describeRun,
  async execute(action, ctx): Promise<StepOutcome> {
    const logBase = join(ctx.runDir, 'steps', ctx.step.id);
    const header = `--- attempt ${ctx.attempt} ${new Date().toISOString()} ${describeRun(action)}`;
    const out = new OutputCapture(`${logBase}.stdout.log`, header);
    const err = new OutputCapture(`${logBase}.stderr.log`, header);
    const [file, ...args] = action.shell
      ? [action.command ?? action.argv?.join(' ') ?? '']
      : (action.argv ?? [action.command ?? '']);
    // With a journal to record the process in, the command waits behind a gate until it is.
    const gated = ctx.recordProcess !== undefined;
    const [spawnFile, spawnArgs] = gated ? gatedArgv(action.shell, file!, args) : [file!, args];
    const child = spawn(spawnFile, spawnArgs, {
      shell: gated ? false : action.shell,
      cwd: action.cwd,
      // Only what the step declares, on a minimal base: a credential exported in the operator's
      // shell never reaches a step (or its stored output) unless the runbook names it.
      env: { ...baseEnv(), ...action.env, DRCTL_STEP: ctx.step.id },
      stdio: [gated ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // Ends when the process has exited and its output is read (or it could not start).
    const ended = new Promise<{ exitCode?: number; signal?: NodeJS.Signals; code?: string }>((resolve) => {
      child.once('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code ?? 'ERROR' }));
      child.once('close', (code, signal) =>
        resolve({ ...(code === null ? {} : { exitCode: code }), ...(signal === null ? {} : { signal }) }),
      );
    });
    if (child.pid !== undefined && gated) {
      try {
        await ctx.recordProcess?.(child.pid);
      } catch (e) {
        closeGate(child.stdin);
        throw e;
      }
      openGate(child.stdin);
    }
    child.stdout?.on('data', (c: Buffer) => out.write(c));
    child.stderr?.on('data', (c: Buffer) => err.write(c));
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (): void => {
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    if (ctx.signal.aborted) killGroup();
    ctx.signal.addEventListener('abort', killGroup, { once: true });
    const result = await ended;
    ctx.signal.removeEventListener('abort', killGroup);
    if (killTimer) clearTimeout(killTimer);
    out.close();
    err.close();
    const tail = err.lastLines().length > 0 ? err.lastLines() : out.lastLines();
    const spawnCode = result.code;
    if (spawnCode === 'ENOENT' || (gated && result.exitCode === 127)) {
      return {
        ok: false,
        exitCode: 127,
        error: redact(`${file}: command not found (exit 127)`),
        outputTail: tail,
      };
    }
    const exitCode = result.exitCode ?? (result.signal ? exitCodeForSignal(result.signal) : undefined);
    if (exitCode === 0 && !ctx.signal.aborted) return { ok: true, exitCode: 0 };
    const why = ctx.signal.aborted ? abortReason(ctx.signal) : undefined;
    const code = exitCode ?? -1;
    const meaning = code === -1 ? 'did not start' : describeExitCode(code);
    return {
      ok: false,
      ...(exitCode === undefined ? {} : { exitCode }),
      error: redact(`${file} exited with code ${code} (${meaning})${why ? `: ${why}` : ''}`),
      outputTail: tail,
    };
  },
};

/** Variables every step gets from drctl's environment: where programs are, who and where it runs. */
export const BASE_ENV_NAMES = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
];

function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (BASE_ENV_NAMES.includes(k) || k.startsWith('LC_'))) out[k] = v;
  }
  return out;
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is gone already */
  }
}

export function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : typeof r === 'string' ? r : 'aborted';
}
