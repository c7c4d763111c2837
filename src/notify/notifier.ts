import type { JournalEvent, JournalEventBody } from '../journal/events.js';
import type { Schedule } from '../plan/scheduler.js';
import type { NotifyConfig, NotifyEventKind, Runbook } from '../runbook/schema.js';
import { formatDuration } from '../util/duration.js';
import { ChannelQueue, type DeliveryOutcome } from './delivery.js';
import { abortNotice, noticeOf, rtoNotice, type Notice, type NoticeContext } from './notices.js';
import { renderPayload, type RunRef } from './payloads.js';
import { RtoWatch } from './rto-watch.js';

export interface NotifierOptions {
  config: NotifyConfig;
  runbook: Runbook;
  runId: string;
  /** The plan's schedule: the RTO forecast reruns it from now. */
  schedule: Schedule;
  /**
   * Journals a delivery or a give-up: the executor's own emit, so the executor stays the
   * journal's one writer. Called later, never from inside `observe`.
   */
  record: (body: JournalEventBody) => void;
  /** A resumed run: its steps so far (for the RTO clocks). */
  resumedSteps?: Parameters<RtoWatch['seed']>[0] | undefined;
}

/** How often the RTO forecast is looked at while steps run, at least (it costs a forecast). */
const RTO_CHECK_MS = 1000;

/**
 * Tells webhooks what happens in a run (docs/notify.md). The executor hands it every journal
 * event (`observe`), says when it stops starting steps (`stopped`) and, after run-finished,
 * gives it a bounded grace to flush (`close`). Nothing here is awaited by a step: a receiver
 * that is down or slow costs the run nothing but the grace at the very end.
 */
export class Notifier {
  private readonly queues: ChannelQueue[];
  private readonly wants: Map<string, Set<NotifyEventKind>>;
  private readonly ctx: NoticeContext;
  private readonly run: RunRef;
  private readonly rto: RtoWatch | undefined;
  private rtoTimer: NodeJS.Timeout | undefined;
  private nextRtoCheck = 0;
  private lastSeq = 0;
  private aborted = false;
  private closed = false;
  /** Ends the grace at once (Ctrl-C while it runs). */
  private endGrace: (() => void) | undefined;
  private graceCut = false;

  constructor(private readonly opts: NotifierOptions) {
    const { config, runbook, runId } = opts;
    this.ctx = { runbook, runId, bridgeUrl: config.bridgeUrl };
    this.run = {
      id: runId,
      runbook: runbook.name,
      environment: runbook.environment,
      direction: runbook.direction,
      drill: runbook.drill,
    };
    this.wants = new Map(config.channels.map((c) => [c.name, new Set(c.events)]));
    this.queues = config.channels.map((c) => new ChannelQueue(c, (o) => this.settled(o)));
    const rtoWanted = config.channels.some((c) => c.events.includes('rto-at-risk'));
    const watch = rtoWanted ? new RtoWatch(runbook, opts.schedule) : undefined;
    if (watch && opts.resumedSteps) watch.seed(opts.resumedSteps);
    this.rto = watch && !watch.idle ? watch : undefined;
    // Node loads its fetch (undici) on first use, blocking the event loop 0.2-0.4 s on a busy
    // host: paid here, before the run starts, rather than at run-started in the middle of it.
    preloadFetch();
  }

  observe(ev: JournalEvent): void {
    if (this.closed || ev.type === 'notify-delivered' || ev.type === 'notify-gave-up') return;
    if (ev.seq >= 0) this.lastSeq = ev.seq;
    const notice = noticeOf(ev, this.ctx);
    if (notice) this.send(notice);
    if (this.rto) {
      this.rto.observe(ev);
      if (ev.type === 'run-started' || ev.type === 'run-resumed') {
        this.checkRto(ev.seq);
        this.rtoTimer = setInterval(() => this.checkRto(this.lastSeq), RTO_CHECK_MS);
        this.rtoTimer.unref();
      } else if (ev.type === 'step-finished' || ev.type === 'step-started') {
        this.checkRto(ev.seq);
      }
    }
  }

  /** The executor stops starting steps: said once per run. */
  stopped(reason: string): void {
    if (this.closed || this.aborted) return;
    this.aborted = true;
    this.send(abortNotice(reason, this.lastSeq, this.ctx));
  }

  /**
   * After run-finished: waits up to the grace for the queues to empty, then gives up whatever is
   * left (journaled, one line per delivery). Returns how long it waited.
   */
  async close(): Promise<number> {
    if (this.closed) return 0;
    this.closed = true;
    if (this.rtoTimer) clearInterval(this.rtoTimer);
    const t0 = performance.now();
    const graceMs = this.opts.config.graceMs;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      this.endGrace = resolve;
    });
    await Promise.race([Promise.all(this.queues.map((q) => q.drain())), grace]);
    clearTimeout(timer);
    const reason = this.graceCut
      ? 'the run ended and drctl was interrupted during the grace'
      : `the run ended: not delivered within the ${formatDuration(graceMs)} grace`;
    await Promise.all(this.queues.map((q) => q.close(reason)));
    return Math.round(performance.now() - t0);
  }

  /** Ctrl-C / SIGTERM: if the end-of-run grace is running, it ends now (true). */
  interrupted(): boolean {
    if (this.endGrace === undefined) return false;
    this.graceCut = true;
    this.endGrace();
    return true;
  }

  private send(notice: Notice): void {
    const bodies = new Map<string, string>();
    for (const q of this.queues) {
      if (!this.wants.get(q.name)?.has(notice.kind)) continue;
      const format = this.opts.config.channels.find((c) => c.name === q.name)!.format;
      let body = bodies.get(format);
      if (body === undefined) {
        body = renderPayload(format, notice, this.run);
        bodies.set(format, body);
      }
      q.push({ channel: q.name, notice: notice.kind, about: notice.about, cause: notice.cause, body });
    }
  }

  private checkRto(seq: number): void {
    const now = Date.now();
    if (!this.rto || now < this.nextRtoCheck) return;
    const t0 = performance.now();
    for (const risk of this.rto.check(now)) this.send(rtoNotice(risk, seq, this.ctx));
    // A forecast of a very large runbook costs milliseconds: never more than ~2% of the time.
    const cost = performance.now() - t0;
    this.nextRtoCheck = now + cost * 50;
    if (this.rto.idle && this.rtoTimer) clearInterval(this.rtoTimer);
  }

  private settled(o: DeliveryOutcome): void {
    const d = o.delivery;
    const common = {
      notice: d.notice,
      ...(d.about === undefined ? {} : { about: d.about }),
      cause: d.cause,
      attempts: o.attempts,
    };
    // Journaled from a later tick: never inside the executor's own emit of another event.
    queueMicrotask(() =>
      this.opts.record(
        o.ok
          ? {
              type: 'notify-delivered',
              channel: d.channel,
              ...common,
              httpStatus: o.httpStatus,
              durationMs: o.durationMs,
            }
          : { type: 'notify-gave-up', channel: d.channel, ...common, reason: o.reason },
      ),
    );
  }
}

function preloadFetch(): Headers {
  return new Headers();
}
