import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListrEnquirerPromptAdapter } from '@listr2/prompt-adapter-enquirer';
import { Listr, type DefaultRenderer, type ListrTaskWrapper, type SimpleRenderer } from 'listr2';
import type { Step } from '../runbook/schema.js';
import type { ApprovalDecision } from '../steps/types.js';
import { formatDuration } from '../util/duration.js';
import { redact } from '../util/redact.js';
import type { EngineObserver } from './executor.js';
import { describeEvent } from './format-event.js';

type Task = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

interface Entry {
  title: string;
  task?: Task;
  /** Settles the listr2 task: listr2 may call the task function after the step's events arrived. */
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
  settled: boolean;
  taskReady: Promise<Task>;
  onTask(task: Task): void;
  /** Latest title/output/skip, applied when the task function is called. */
  shownTitle?: string;
  output?: string;
  skip?: string;
}

/**
 * The live TTY view: one listr2 task per step, mirrored from the executor's events (the executor
 * decides; listr2 only shows). Manual approvals are asked through listr2's prompt adapter, never
 * by raw stdin writes under a live renderer; a decision made with `drctl approve` cancels the prompt.
 */
export class ListrView implements EngineObserver {
  private readonly entries = new Map<string, Entry>();
  private readonly listr: Listr<unknown, 'default', 'simple'>;
  private promptChain: Promise<unknown> = Promise.resolve();
  private running: Promise<unknown> | undefined;

  constructor(steps: Step[]) {
    for (const s of steps) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => undefined);
      let onTask!: (task: Task) => void;
      const taskReady = new Promise<Task>((res) => (onTask = res));
      this.entries.set(s.id, {
        title: s.title === s.id ? s.id : `${s.id}: ${s.title}`,
        promise,
        resolve,
        reject,
        settled: false,
        taskReady,
        onTask,
      });
    }
    this.listr = new Listr<unknown, 'default', 'simple'>(
      steps.map((s) => ({
        title: `${s.title === s.id ? s.id : `${s.id}: ${s.title}`} ${dim('(waiting)')}`,
        task: (_ctx: unknown, task: Task) => {
          const e = this.entries.get(s.id)!;
          e.task = task;
          e.onTask(task);
          if (e.shownTitle !== undefined) task.title = e.shownTitle;
          if (e.output !== undefined) task.output = e.output;
          if (e.skip !== undefined) task.skip(e.skip);
          return e.promise;
        },
      })),
      {
        concurrent: true,
        exitOnError: false,
        rendererOptions: { collapseErrors: false, showErrorMessage: true },
      },
    );
  }

  start(): void {
    this.running = this.listr.run().catch(() => undefined);
  }

  /** Settles tasks that never ran and waits (briefly) for the renderer to draw its last frame. */
  async finish(): Promise<void> {
    for (const e of this.entries.values()) if (!e.settled) this.settle(e, 'skip', `${e.title} (not run)`);
    await Promise.race([this.running, sleep(3000)]);
  }

  private settle(e: Entry, how: 'ok' | 'skip' | 'fail', text?: string): void {
    if (e.settled) return;
    e.settled = true;
    if (how === 'skip') {
      e.skip = text;
      e.task?.skip(text);
      e.resolve();
    } else if (how === 'ok') {
      if (text !== undefined) this.setTitle(e, text);
      e.resolve();
    } else e.reject(new Error(text));
  }

  private setTitle(e: Entry, title: string): void {
    e.shownTitle = title;
    if (e.task) e.task.title = title;
  }

  private setOutput(e: Entry, output: string): void {
    e.output = output;
    if (e.task) e.task.output = output;
  }

  onEvent: EngineObserver['onEvent'] = (ev) => {
    if (!('step' in ev)) return;
    const e = this.entries.get(ev.step);
    if (!e) return;
    switch (ev.type) {
      case 'step-started':
        this.setTitle(e, `${e.title}${ev.dryRun ? ' [dry run]' : ''}`);
        this.setOutput(e, redact(ev.dryRun ? `would run: ${ev.description ?? ''}` : (ev.description ?? '')));
        break;
      case 'step-finished':
        if (ev.status === 'succeeded' || ev.status === 'done-by-override') {
          this.settle(
            e,
            'ok',
            `${e.title} ${dim(`(${ev.status === 'succeeded' ? formatDuration(ev.durationMs) : 'marked done'})`)}`,
          );
        } else {
          const tail = ev.outputTail?.length ? `\n${ev.outputTail.join('\n')}` : '';
          this.settle(e, 'fail', redact(`${ev.status}: ${ev.error ?? ''}${tail}`));
        }
        break;
      case 'step-skipped':
        this.settle(e, 'skip', `${e.title} (skipped: ${ev.reason})`);
        break;
      case 'step-attempt':
      case 'step-effect':
      case 'approval-requested':
      case 'approval':
      case 'approval-refused':
      case 'gate-result':
      case 'override':
        this.setOutput(e, redact(describeEvent(ev)));
        break;
      case 'step-process':
        break;
    }
  };

  onLog: EngineObserver['onLog'] = (step, line) => {
    const e = this.entries.get(step);
    if (e) this.setOutput(e, line);
  };

  onNotice: EngineObserver['onNotice'] = (message) => {
    process.stderr.write(`${message}\n`);
  };

  promptApproval = (
    step: Step,
    instructions: string,
    role: string,
    signal: AbortSignal,
  ): Promise<ApprovalDecision | undefined> => {
    // One prompt at a time: two concurrent manual steps would fight over stdin.
    const next = this.promptChain.then(() => this.ask(step, instructions, role, signal));
    this.promptChain = next.catch(() => undefined);
    return next;
  };

  private async ask(
    step: Step,
    instructions: string,
    role: string,
    signal: AbortSignal,
  ): Promise<ApprovalDecision | undefined> {
    const entry = this.entries.get(step.id);
    if (!entry) return undefined;
    // listr2 may not have called this step's task function yet.
    const task = entry.task ?? (await Promise.race([entry.taskReady, sleep(5000).then(() => undefined)]));
    if (!task || signal.aborted) return undefined;
    const prompt = task.prompt(ListrEnquirerPromptAdapter);
    const cancel = (): void => prompt.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const choice = await prompt.run<string>({
        type: 'select',
        message: `${instructions} (approval by ${role})`,
        choices: ['approve', 'reject', 'leave it to `drctl approve` from another terminal'],
      });
      if (choice !== 'approve' && choice !== 'reject') return undefined;
      const by = await task
        .prompt(ListrEnquirerPromptAdapter)
        .run<string>({ type: 'input', message: 'Your name', initial: userInfo().username });
      const comment = await task
        .prompt(ListrEnquirerPromptAdapter)
        .run<string>({ type: 'input', message: 'Comment (optional)' });
      return {
        decision: choice === 'approve' ? 'approved' : 'rejected',
        by,
        comment: comment || undefined,
        via: 'prompt',
      };
    } catch {
      return undefined;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }
}

function dim(text: string): string {
  return `\u001b[2m${text}\u001b[22m`;
}
