import { userInfo } from 'node:os';
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
  settle?: { resolve(): void; reject(err: Error): void };
  done: boolean;
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
    for (const s of steps) this.entries.set(s.id, { title: `${s.id}: ${s.title}`, done: false });
    this.listr = new Listr<unknown, 'default', 'simple'>(
      steps.map((s) => ({
        title: `${s.id}: ${s.title} ${dim('(waiting)')}`,
        task: (_ctx: unknown, task: Task) =>
          new Promise<void>((resolve, reject) => {
            const e = this.entries.get(s.id)!;
            e.task = task;
            e.settle = { resolve, reject };
          }),
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

  /** Settles tasks that never ran and waits for the renderer to draw its last frame. */
  async finish(): Promise<void> {
    for (const e of this.entries.values()) {
      if (e.done) continue;
      e.done = true;
      e.task?.skip(`${e.title} (not run)`);
      e.settle?.resolve();
    }
    await this.running;
  }

  onEvent: EngineObserver['onEvent'] = (ev) => {
    if (!('step' in ev)) return;
    const e = this.entries.get(ev.step);
    if (!e?.task) return;
    const line = redact(describeEvent(ev));
    switch (ev.type) {
      case 'step-started':
        e.task.title = `${e.title}${ev.dryRun ? ' [dry run]' : ''}`;
        e.task.output = redact(ev.dryRun ? `would run: ${ev.description ?? ''}` : (ev.description ?? ''));
        break;
      case 'step-finished':
        e.done = true;
        if (ev.status === 'succeeded' || ev.status === 'done-by-override') {
          e.task.title = `${e.title} ${dim(`(${ev.status === 'succeeded' ? formatDuration(ev.durationMs) : 'marked done'})`)}`;
          e.settle?.resolve();
        } else {
          const tail = ev.outputTail?.length ? `\n${ev.outputTail.join('\n')}` : '';
          e.settle?.reject(new Error(redact(`${ev.status}: ${ev.error ?? ''}${tail}`)));
        }
        break;
      case 'step-skipped':
        e.done = true;
        e.task.skip(`${e.title} (skipped: ${ev.reason})`);
        e.settle?.resolve();
        break;
      default:
        e.task.output = line;
    }
  };

  onLog: EngineObserver['onLog'] = (step, line) => {
    const t = this.entries.get(step)?.task;
    if (t) t.output = line;
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
    const task = this.entries.get(step.id)?.task;
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
