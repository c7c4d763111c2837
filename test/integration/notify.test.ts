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
import type { JournalEvent } from '../../src/journal/events.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { execRunbook, type ExecRun } from '../fixtures/engine-exec.js';
import { makeTempDir } from '../harness/process.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { closedPort, startReceiver, type Receiver } from '../harness/webhook.js';

type Ev<T extends JournalEvent['type']> = Extract<JournalEvent, { type: T }>;
type Delivered = Ev<'notify-delivered'>;
type GaveUp = Ev<'notify-gave-up'>;

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
    stringify({ apiVersion: 'drctl/v1', kind: 'Runbook', name: 'notify-test', roles: { SRE: {}, QA: {} }, ...doc }),
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
            ops: { format: 'slack', url: '${env:NOTIFY_TEST_SLACK_URL}', events: ['approval-needed', 'run-finished'] },
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
          { id: 'gate', owner: 'SRE', needs: ['prepare'], onFailure: 'continue', check: { kind: 'redis', resource: 'cfg', waitMs: 0 } },
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
    const run = await execRunbook(rb, {
      runId: 'run-notify-1',
      observer: {
        onEvent: (ev) => {
          if (ev.type === 'approval-requested')
            submitApproval(run_dir(), { step: ev.step, decision: 'approved', by: 'alice', comment: 'ok' });
        },
      },
      dir: (dirHolder.dir = makeTempDir('notify-run')),
    });
    expect(run.result.status).toBe('failed');

    // The gate's step fails too (step-failed for gate and for finish).
    const all = ['run-started', 'rto-at-risk', 'gate-failed', 'approval-needed', 'step-failed', 'step-failed', 'run-aborted', 'run-finished'];
    // Each channel gets what it asked for, once, in the order it happened.
    const jsonKinds = kinds(json, (j) => j.event);
    expect([...jsonKinds].sort()).toEqual([...all].sort());
    expect(jsonKinds[0]).toBe('run-started');
    expect(jsonKinds.at(-1)).toBe('run-finished');
    expect(kinds(teams, (j) => j.type)).toHaveLength(all.length);
    expect(slack.requests).toHaveLength(2);

    // Generic JSON: the stable document, the step and its bridge link, the run.
    const byEvent = new Map(json.requests.map((q) => [(q.json as { event: string }).event, q.json as Record<string, any>]));
    const approval = byEvent.get('approval-needed')!;
    expect(approval).toMatchObject({
      source: 'drctl',
      schema: 'drctl.notify/v1',
      step: 'qa',
      link: `${BRIDGE}/runs/run-notify-1/steps/qa`,
      run: { id: 'run-notify-1', runbook: 'notify-test', direction: 'switchover', drill: false },
      data: { role: 'QA', instructions: 'Run the payment test cases' },
    });
    expect(byEvent.get('gate-failed')).toMatchObject({ step: 'gate', data: { checker: 'redis', status: 'different' } });
    const failed = json.requests.map((q) => q.json as Record<string, any>).filter((j) => j.event === 'step-failed');
    expect(failed.map((j) => j.step).sort()).toEqual(['finish', 'gate']);
    const finish = failed.find((j) => j.step === 'finish')!;
    expect(finish).toMatchObject({ data: { exitCode: 3, owner: 'SRE' }, link: `${BRIDGE}/runs/run-notify-1/steps/finish` });
    expect(finish.text).toContain('calling with ***');
    expect(byEvent.get('rto-at-risk')).toMatchObject({ data: { clock: 'technical', objectiveMs: 1000, missed: false } });
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
    const cards = teams.requests.map((q) => (q.json as any).attachments[0]);
    expect(cards.every((a: any) => a.contentType === 'application/vnd.microsoft.card.adaptive')).toBe(true);
    const qaCard = cards.find((a: any) => a.content.body[0].text.includes('Approval needed'))!;
    expect(qaCard.content.type).toBe('AdaptiveCard');
    expect(qaCard.content.actions[0]).toEqual({
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
    const everything = [journalText(run), ...[slack, teams, json].flatMap((r) => r.requests.map((q) => q.text))];
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
});

const dirHolder: { dir: string } = { dir: '' };
const run_dir = (): string => dirHolder.dir;
