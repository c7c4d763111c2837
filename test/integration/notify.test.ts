/**
 * Notifications (`notify:`) against real HTTP receivers on 127.0.0.1: the right events in each
 * format, retries, give-ups, the end-of-run grace, and that a receiver that is down or slow
 * costs the run nothing. The runs are real executor runs of loaded YAML runbooks (real step
 * processes, a real redis check as the gate, the journal on disk).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { submitApproval } from '../../src/engine/approvals.js';
import { readStatus } from '../../src/cli/commands/status.js';
import type { Executor } from '../../src/engine/executor.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { execRunbook, type ExecRun } from '../fixtures/engine-exec.js';
import { makeTempDir } from '../harness/process.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { closedPort, startReceiver, type Receiver } from '../harness/webhook.js';

type Ev<T extends JournalEvent['type']> = Extract<JournalEvent, { type: T }>;
type Delivered = Ev<'notify-delivered'>;
type GaveUp = Ev<'notify-gave-up'>;
interface JsonDoc {
  event: string;
  step?: string;
  text: string;
  link?: string;
  data: Record<string, unknown> & { forecastMs?: number; reason?: string };
}
interface TeamsMessage {
  type: string;
  attachments: {
    contentType: string;
    content: { type: string; body: { text: string }[]; actions?: unknown[] };
  }[];
}

const TOKEN = 'tok-3f9c1e77aa0b42d5';
const SLACK_PATH = '/services/T000/B000/slack-secret-9d2e';
const TEAMS_PATH = '/workflows/teams-secret-51c7';
const BRIDGE = 'https://bridge.bank.test:8443';

let redis: RedisServer;
const receivers: Receiver[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // The gate compares db 1 (Main) with db 2 (DR): DR lacks a key, so the verdict is "different".
  const c = new Redis(`${redis.url}/1`);
  await c.set('bcf.target', 'live');
  c.disconnect();
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
  await redis?.stop();
});

async function receiver(respond?: Receiver['respond']): Promise<Receiver> {
  const r = await startReceiver(respond);
  receivers.push(r);
  return r;
}

/** Writes a runbook (and its secret files) to a temp dir, loads it as `drctl switch` does. */
function load(doc: Record<string, unknown>, files: Record<string, string> = {}) {
  const dir = makeTempDir('notify');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, 'runbook.yaml');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'drctl/v1',
      kind: 'Runbook',
      name: 'notify-test',
      roles: { SRE: { members: ['alice'] }, QA: { members: ['alice'] } },
      ...doc,
    }),
  );
  return loadRunbook(file);
}

const of = <T extends JournalEvent['type']>(run: ExecRun, type: T): Ev<T>[] =>
  run.events.filter((e): e is Ev<T> => e.type === type);
const journalText = (run: ExecRun): string => readFileSync(join(run.dir, 'journal.jsonl'), 'utf8');
const kinds = (r: Receiver, pick: (j: Record<string, unknown>) => unknown) =>
  r.requests.map((q) => pick(q.json as Record<string, unknown>));

describe('notify', () => {
  it('sends each event to Slack, Teams and JSON receivers in their format, with bridge links, secrets masked', async () => {
    const slack = await receiver();
    const teams = await receiver();
    const json = await receiver();
    process.env.NOTIFY_TEST_SLACK_URL = `${slack.url}${SLACK_PATH}`;
    process.env.NOTIFY_TEST_TOKEN = TOKEN;
    const rb = load(
      {
        objectives: { rto: { technical: '1s' } },
        rto: { technical: { from: 'prepare', to: 'finish' } },
        resources: {
          cfg: { kind: 'redis', source: `${redis.url}/1`, target: `${redis.url}/2` },
        },
        notify: {
          bridgeUrl: `${BRIDGE}/`,
          channels: {
            ops: {
              format: 'slack',
              url: '${env:NOTIFY_TEST_SLACK_URL}',
              events: ['approval-needed', 'run-finished'],
            },
            bridge: { format: 'teams', url: '${file:teams.url}' },
            siem: {
              format: 'json',
              url: `${json.url}/hook`,
              headers: { Authorization: 'Bearer ${env:NOTIFY_TEST_TOKEN}', 'X-Source': 'drctl-test' },
            },
          },
        },
        steps: [
          // Its estimate alone is over the 1s objective: the forecast misses from the start.
          { id: 'prepare', owner: 'SRE', run: ['true'], estimate: '10m' },
          {
            id: 'gate',
            owner: 'SRE',
            needs: ['prepare'],
            onFailure: 'continue',
            check: { kind: 'redis', resource: 'cfg', waitMs: 0 },
          },
          { id: 'qa', owner: 'QA', needs: ['prepare'], manual: 'Run the payment test cases' },
          {
            id: 'finish',
            owner: 'SRE',
            needs: ['qa'],
            // The token in a failed step's output must not reach a receiver.
            run: `echo "calling with ${TOKEN}" >&2; exit 3`,
            shell: true,
          },
        ],
      },
      { 'teams.url': `${teams.url}${TEAMS_PATH}\n` },
    );
    const dir = makeTempDir('notify-run');
    const run = await execRunbook(rb, {
      dir,
      runId: 'run-notify-1',
      observer: {
        onEvent: (ev) => {
          if (ev.type === 'approval-requested')
            submitApproval(dir, { step: ev.step, decision: 'approved', by: 'alice', comment: 'ok' });
        },
      },
    });
    expect(run.result.status).toBe('failed');

    // The gate's step fails too (step-failed for gate and for finish).
    const all = [
      'run-started',
      'rto-at-risk',
      'gate-failed',
      'approval-needed',
      'step-failed',
      'step-failed',
      'run-aborted',
      'run-finished',
    ];
    // Each channel gets what it asked for, once, in the order it happened.
    const jsonKinds = kinds(json, (j) => j.event);
    expect([...jsonKinds].sort()).toEqual([...all].sort());
    expect(jsonKinds[0]).toBe('run-started');
    expect(jsonKinds.at(-1)).toBe('run-finished');
    expect(kinds(teams, (j) => j.type)).toHaveLength(all.length);
    expect(slack.requests).toHaveLength(2);

    // Generic JSON: the stable document, the step and its bridge link, the run.
    const docs = json.requests.map((q) => q.json as JsonDoc);
    const byEvent = new Map(docs.map((d) => [d.event, d]));
    const approval = byEvent.get('approval-needed')!;
    expect(approval).toMatchObject({
      source: 'drctl',
      schema: 'drctl.notify/v1',
      step: 'qa',
      link: `${BRIDGE}/runs/run-notify-1/steps/qa`,
      run: { id: 'run-notify-1', runbook: 'notify-test', direction: 'switchover', drill: false },
      data: { role: 'QA', instructions: 'Run the payment test cases' },
    });
    expect(byEvent.get('gate-failed')).toMatchObject({
      step: 'gate',
      data: { checker: 'redis', status: 'different' },
    });
    const failed = docs.filter((j) => j.event === 'step-failed');
    expect(failed.map((j) => j.step).sort()).toEqual(['finish', 'gate']);
    const finish = failed.find((j) => j.step === 'finish')!;
    expect(finish).toMatchObject({
      data: { exitCode: 3, owner: 'SRE' },
      link: `${BRIDGE}/runs/run-notify-1/steps/finish`,
    });
    expect(finish.text).toContain('calling with ***');
    expect(byEvent.get('rto-at-risk')).toMatchObject({
      data: { clock: 'technical', objectiveMs: 1000, missed: false },
    });
    expect(byEvent.get('rto-at-risk')!.data.forecastMs).toBeGreaterThanOrEqual(600_000);
    expect(byEvent.get('run-aborted')!.data.reason).toContain('step finish failed');
    expect(byEvent.get('run-finished')).toMatchObject({ data: { status: 'failed' } });
    // Headers from secrets arrive, as headers only.
    expect(json.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(json.requests[0]!.headers['x-source']).toBe('drctl-test');
    expect(json.requests[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(json.requests[0]!.path).toBe('/hook');

    // Slack: text + blocks, the link in Slack's <url|label> form.
    const s = slack.requests[0]!.json as { text: string; blocks: { type: string }[] };
    expect(s.text).toContain('Approval needed from QA');
    expect(s.text).toContain(`<${BRIDGE}/runs/run-notify-1/steps/qa|open on the bridge>`);
    expect(s.blocks.map((b) => b.type)).toContain('header');
    expect(slack.requests[0]!.path).toBe(SLACK_PATH);

    // Teams: a message with one Adaptive Card; the approval card opens the step on the bridge.
    const cards = teams.requests.map((q) => (q.json as TeamsMessage).attachments[0]!);
    expect(cards.every((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')).toBe(true);
    const qaCard = cards.find((a) => a.content.body[0]!.text.includes('Approval needed'))!;
    expect(qaCard.content.type).toBe('AdaptiveCard');
    expect(qaCard.content.actions?.[0]).toEqual({
      type: 'Action.OpenUrl',
      title: 'Open on the bridge',
      url: `${BRIDGE}/runs/run-notify-1/steps/qa`,
    });
    expect(teams.requests[0]!.path).toBe(TEAMS_PATH);

    // Every delivery journaled once, none given up; the journal names channels, never URLs.
    const delivered = of(run, 'notify-delivered');
    expect(delivered).toHaveLength(all.length * 2 + 2);
    expect(of(run, 'notify-gave-up')).toEqual([]);
    expect(delivered.filter((d) => d.channel === 'siem').map((d) => d.notice)).toEqual(jsonKinds);
    expect(delivered.every((d) => d.attempts === 1 && d.httpStatus === 200)).toBe(true);
    const gateEv = run.events.find((e) => e.type === 'gate-result')!;
    expect(delivered.find((d) => d.notice === 'gate-failed')!.cause).toBe(gateEv.seq);

    // No secret in any payload or journal line: the token, the webhook URLs.
    const everything = [
      journalText(run),
      ...[slack, teams, json].flatMap((r) => r.requests.map((q) => q.text)),
    ];
    for (const text of everything) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(SLACK_PATH);
      expect(text).not.toContain(TEAMS_PATH);
    }
    // The report's view of the run does not stretch to deliveries journaled after run-finished.
    const finishedAt = Date.parse(run.events.find((e) => e.type === 'run-finished')!.ts);
    expect(run.view.replay.lastEvent).toBe(finishedAt);
    expect(Date.parse(run.view.lastEventAt)).toBeGreaterThanOrEqual(finishedAt);
  });

  it('Ctrl-C during the end-of-run grace ends it at once; what was pending is given up', async () => {
    const stuck = await receiver(() => ({ status: 200, delayMs: 20_000 }));
    const rb = load({
      notify: { grace: '20s', channels: { stuck: { format: 'json', url: stuck.url, timeout: '30s' } } },
      steps: [{ id: 'a', owner: 'SRE', run: ['true'] }],
    });
    let executor: Executor | undefined;
    let finishedAt = 0;
    const run = await execRunbook(rb, {
      onExecutor: (e) => (executor = e),
      observer: {
        onEvent: (ev) => {
          if (ev.type !== 'run-finished') return;
          finishedAt = performance.now();
          setTimeout(() => executor!.interrupt('SIGINT'), 300);
        },
      },
    });
    const afterMs = performance.now() - finishedAt;
    expect(afterMs).toBeLessThan(3000);
    expect(run.result.status).toBe('succeeded');
    const gaveUp = of(run, 'notify-gave-up');
    expect(gaveUp.map((e) => e.notice).sort()).toEqual(['run-finished', 'run-started']);
    for (const e of gaveUp) expect(e.reason).toContain('interrupted during the grace');
  });

  it('warns while a step runs long: the RTO forecast from now goes over the objective before the clock stops', async () => {
    const json = await receiver();
    const rb = load({
      objectives: { rto: { technical: '1s' } },
      rto: { technical: { from: 'a', to: 'b' } },
      notify: { channels: { siem: { format: 'json', url: json.url, events: ['rto-at-risk'] } } },
      steps: [
        // The plan fits (200 ms); a runs 3 s.
        { id: 'a', owner: 'SRE', run: ['sleep', '3'], estimate: '100ms' },
        { id: 'b', owner: 'SRE', needs: ['a'], run: ['true'], estimate: '100ms' },
      ],
    });
    const run = await execRunbook(rb);
    expect(run.result.status).toBe('succeeded');
    expect(json.requests).toHaveLength(1);
    const doc = json.requests[0]!.json as JsonDoc;
    expect(doc).toMatchObject({ event: 'rto-at-risk', data: { clock: 'technical', missed: false } });
    expect(doc.data.elapsedMs).toBeGreaterThanOrEqual(900);
    expect(doc.data.elapsedMs).toBeLessThan(3000);
    // Said while a was still running, not measured afterwards.
    const delivered = of(run, 'notify-delivered')[0]!;
    const aFinished = run.events.find((e) => e.type === 'step-finished' && e.step === 'a')!;
    expect(delivered.seq).toBeLessThan(aFinished.seq);
  });

  it('a receiver that is down and one that is slow do not slow the run; their deliveries are retried, then given up, journaled', async () => {
    const good = await receiver();
    const slow = await receiver(() => ({ status: 200, delayMs: 4000 }));
    const down = await closedPort();
    const steps = [
      ...['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((id, i) => ({
        id,
        owner: 'SRE',
        run: ['sleep', '0.15'],
        ...(i > 0 ? { needs: [`a${i}`] } : {}),
      })),
      // Two failures on the way (onFailure continue): notices while the run goes on.
      { id: 'f1', owner: 'SRE', needs: ['a2'], run: ['false'], onFailure: 'continue' },
      { id: 'f2', owner: 'SRE', needs: ['a4'], run: ['false'], onFailure: 'continue' },
    ];
    const notify = {
      grace: '1s',
      channels: {
        good: { format: 'json', url: `${good.url}/ok` },
        down: {
          format: 'slack',
          url: `http://127.0.0.1:${down}/hook`,
          timeout: '1s',
          retries: { count: 2, backoff: '100ms' },
        },
        slow: {
          format: 'teams',
          url: `${slow.url}/slow`,
          timeout: '800ms',
          retries: { count: 1, backoff: '100ms' },
        },
      },
    };
    const timed = async (doc: Record<string, unknown>) => {
      const t0 = performance.now();
      const run = await execRunbook(load(doc));
      return { run, wallMs: Math.round(performance.now() - t0) };
    };
    // Interleaved, and the better of two runs each way: the machine is shared and its load moves.
    const base1 = await timed({ steps });
    const noisy1 = await timed({ steps, notify });
    const base2 = await timed({ steps });
    const noisy2 = await timed({ steps, notify });
    const baseMs = Math.min(base1.run.result.durationMs, base2.run.result.durationMs);
    const noisy = noisy1.run.result.durationMs <= noisy2.run.result.durationMs ? noisy1 : noisy2;
    const runMs = noisy.run.result.durationMs;
    console.log(
      `notify: run ${noisy1.run.result.durationMs}/${noisy2.run.result.durationMs} ms with a down and a slow receiver, ` +
        `${base1.run.result.durationMs}/${base2.run.result.durationMs} ms without; executor.run() wall ` +
        `${noisy1.wallMs}/${noisy2.wallMs} ms (run + end-of-run grace) vs ${base1.wallMs}/${base2.wallMs} ms`,
    );
    // Had the run waited on the slow receiver it would take >= 3 notices x 1.7 s longer.
    expect(runMs).toBeLessThan(baseMs * 1.5 + 1000);
    // And after run-finished it waits at most the grace (1 s) for the queues, plus the journal.
    expect(noisy.wallMs - runMs).toBeLessThan(1000 + 2000);
    expect(noisy.run.result.status).toBe('failed');

    const notifyEvents = noisy.run.events.filter(
      (e): e is Delivered | GaveUp => e.type === 'notify-delivered' || e.type === 'notify-gave-up',
    );
    // Four notices (run-started, two step-failed, run-finished) per channel, each journaled once.
    const keys = notifyEvents.map((e) => `${e.channel} ${e.notice} ${e.cause}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const ch of ['good', 'down', 'slow'])
      expect(notifyEvents.filter((e) => e.channel === ch)).toHaveLength(4);
    expect(notifyEvents.filter((e) => e.channel === 'good').every((e) => e.type === 'notify-delivered')).toBe(
      true,
    );
    expect(good.requests).toHaveLength(8); // two runs

    const gaveUp = (ch: string) =>
      notifyEvents.filter((e): e is GaveUp => e.type === 'notify-gave-up' && e.channel === ch);
    expect(gaveUp('down')).toHaveLength(4);
    const downFirst = gaveUp('down').find((e) => e.notice === 'run-started')!;
    expect(downFirst).toMatchObject({ attempts: 3 });
    expect(downFirst.reason).toContain('connection refused');
    expect(gaveUp('slow')).toHaveLength(4);
    const slowFirst = gaveUp('slow').find((e) => e.notice === 'run-started')!;
    expect(slowFirst).toMatchObject({ attempts: 2, reason: 'no answer within 800ms' });
    // The slow receiver saw both attempts of the first notice (the same body twice).
    expect(slow.requests.length).toBeGreaterThanOrEqual(2);
    expect(slow.requests[1]!.text).toBe(slow.requests[0]!.text);
    // What was left when the run ended was given up at the end of the grace, and says so.
    expect(gaveUp('slow').some((e) => e.reason.includes('not delivered within the 1.00s grace'))).toBe(true);
    // The report says which channels missed notifications; the run's end is still run-finished.
    const { model } = readStatus(join(noisy.run.dir, 'journal.jsonl'), 'test-run');
    expect(model.warnings.filter((w) => w.startsWith('notify channel'))).toEqual([
      expect.stringMatching(/^notify channel down: 4 notifications not delivered \(last: /),
      expect.stringMatching(/^notify channel slow: 4 notifications not delivered \(last: /),
    ]);
    expect(Date.parse(model.run.endedAt)).toBe(
      Date.parse(noisy.run.events.find((e) => e.type === 'run-finished')!.ts),
    );
  });

  it('a receiver that fails twice then answers gets one delivery, journaled once after its retries; a 404 is not retried; a dry run sends nothing', async () => {
    const flaky = await receiver((n) => ({ status: n < 2 ? 500 : 200 }));
    const gone = await receiver(() => ({ status: 404 }));
    const rb = load({
      notify: {
        channels: {
          flaky: {
            format: 'json',
            url: flaky.url,
            events: ['run-started'],
            retries: { count: 3, backoff: '100ms' },
          },
          gone: {
            format: 'json',
            url: gone.url,
            events: ['run-started'],
            retries: { count: 3, backoff: '100ms' },
          },
        },
      },
      steps: [{ id: 'work', owner: 'SRE', run: ['sleep', '0.1'] }],
    });
    const run = await execRunbook(rb);
    expect(run.result.status).toBe('succeeded');
    expect(flaky.requests).toHaveLength(3);
    expect(new Set(flaky.requests.map((q) => q.text)).size).toBe(1);
    // Backoff 100 ms then 200 ms between the attempts.
    expect(flaky.requests[1]!.at - flaky.requests[0]!.at).toBeGreaterThanOrEqual(90);
    expect(flaky.requests[2]!.at - flaky.requests[1]!.at).toBeGreaterThanOrEqual(190);
    const delivered = of(run, 'notify-delivered');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({
      channel: 'flaky',
      notice: 'run-started',
      attempts: 3,
      httpStatus: 200,
    });
    expect(delivered[0]!.cause).toBe(run.events.find((e) => e.type === 'run-started')!.seq);
    const gaveUp = of(run, 'notify-gave-up');
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatchObject({ channel: 'gone', attempts: 1 });
    expect(gaveUp[0]!.reason).toMatch(/^HTTP 404 \(not retried/);
    expect(gone.requests).toHaveLength(1);

    // A dry run changes nothing: it sends nothing either.
    const dry = await execRunbook(rb, { dryRun: true });
    expect(dry.result.status).toBe('succeeded');
    expect(flaky.requests).toHaveLength(3);
    expect(gone.requests).toHaveLength(1);
    expect(of(dry, 'notify-delivered').length + of(dry, 'notify-gave-up').length).toBe(0);
  });

  it('at the end of the run, queued deliveries get the grace, then are given up; a full queue gives up its oldest', async () => {
    const stuck = await receiver(() => ({ status: 200, delayMs: 5000 }));
    const rb = load({
      notify: {
        grace: '500ms',
        channels: { stuck: { format: 'json', url: stuck.url, timeout: '10s', queue: 2 } },
      },
      steps: ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'].map((id) => ({
        id,
        owner: 'SRE',
        run: ['false'],
        onFailure: 'continue',
      })),
    });
    const t0 = performance.now();
    const run = await execRunbook(rb);
    const wallMs = performance.now() - t0;
    const afterRunMs = wallMs - run.result.durationMs;
    console.log(
      `notify: grace 500 ms; executor.run() returned ${Math.round(afterRunMs)} ms after the run's end`,
    );
    expect(afterRunMs).toBeGreaterThanOrEqual(450);
    expect(afterRunMs).toBeLessThan(2500);

    const gaveUp = of(run, 'notify-gave-up');
    // run-started, six step-failed, run-finished: each given up exactly once.
    expect(gaveUp).toHaveLength(8);
    expect(of(run, 'notify-delivered')).toEqual([]);
    const full = gaveUp.filter((e) => e.reason.startsWith('queue full (2 waiting)'));
    const ended = gaveUp.filter((e) =>
      e.reason.startsWith('the run ended: not delivered within the 500ms grace'),
    );
    expect(full.length + ended.length).toBe(8);
    expect(full.length).toBeGreaterThanOrEqual(4);
    // The one in flight was cut off; the newest (run-finished) was kept and reached the grace.
    expect(ended.find((e) => e.notice === 'run-started')).toMatchObject({ attempts: 1 });
    expect(ended.find((e) => e.notice === 'run-started')!.reason).toContain('last attempt: request cut off');
    expect(ended.find((e) => e.notice === 'run-finished')).toMatchObject({ attempts: 0 });
    // Each give-up follows run-finished only for what was still pending then.
    const finishedSeq = run.events.find((e) => e.type === 'run-finished')!.seq;
    for (const e of ended) expect(e.seq).toBeGreaterThan(finishedSeq);
  });
});
