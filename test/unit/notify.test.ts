import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/errors.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { renderPayload } from '../../src/notify/payloads.js';
import { RtoWatch } from '../../src/notify/rto-watch.js';
import type { Notice } from '../../src/notify/notices.js';
import { buildPlan } from '../../src/plan/plan.js';
import { redact, registerSecret } from '../../src/util/redact.js';
import { makeRunbook, makeStep, runAction } from '../fixtures/engine-runbook.js';
import { HEADER, loadErrors, loadOk, writeTree } from './runbook-helpers.js';

const STEPS = `steps:
  - { id: a, owner: SRE, run: ['true'] }
`;

function notifyRunbook(notify: string, extra: Record<string, string> = {}): string {
  const dir = writeTree({ 'rb.yaml': `${HEADER}notify:\n${notify}\n${STEPS}`, ...extra });
  return join(dir, 'rb.yaml');
}

afterEach(() => {
  delete process.env.NOTIFY_UNIT_URL;
  delete process.env.NOTIFY_UNIT_TOKEN;
});

describe('notify: in a runbook', () => {
  it('resolves channels with their defaults and secrets', () => {
    process.env.NOTIFY_UNIT_URL = 'https://hooks.slack.test/services/T1/B2/abcdef123';
    process.env.NOTIFY_UNIT_TOKEN = 'unit-token-77c1';
    const rb = loadOk(
      notifyRunbook(`  bridgeUrl: https://bridge.test:8443/
  channels:
    ops: { format: slack, url: '\${env:NOTIFY_UNIT_URL}' }
    siem:
      format: json
      url: https://siem.test/hook
      headers: { Authorization: 'Bearer \${env:NOTIFY_UNIT_TOKEN}', X-Env: prod }
      events: [step-failed, run-finished, step-failed]
      timeout: 2s
      retries: { count: 5, backoff: 1s, max: 4s }
      queue: 7`),
    );
    expect(rb.notify).toEqual({
      bridgeUrl: 'https://bridge.test:8443',
      graceMs: 5000,
      channels: [
        {
          name: 'ops',
          format: 'slack',
          url: 'https://hooks.slack.test/services/T1/B2/abcdef123',
          headers: {},
          events: [
            'run-started',
            'run-finished',
            'run-aborted',
            'step-failed',
            'approval-needed',
            'gate-failed',
            'rto-at-risk',
          ],
          timeoutMs: 5000,
          retry: { count: 3, backoffMs: 500, factor: 2, maxMs: 10_000 },
          queue: 100,
        },
        {
          name: 'siem',
          format: 'json',
          url: 'https://siem.test/hook',
          headers: { Authorization: 'Bearer unit-token-77c1', 'X-Env': 'prod' },
          events: ['step-failed', 'run-finished'],
          timeoutMs: 2000,
          retry: { count: 5, backoffMs: 1000, factor: 2, maxMs: 4000 },
          queue: 7,
        },
      ],
    });
    // Webhook URLs are credentials; a header's secret is masked alone and in its header.
    expect(redact('POST https://hooks.slack.test/services/T1/B2/abcdef123 failed')).toBe('POST *** failed');
    expect(redact('POST https://siem.test/hook')).toBe('POST ***');
    expect(redact('token unit-token-77c1')).toBe('token ***');
    expect(redact('prod')).toBe('prod');
  });

  it('says where and what for each bad field, in one pass, never showing a URL', () => {
    const errors = loadErrors(
      notifyRunbook(`  bridgeUrl: bridge.test
  channels:
    a: { format: discord, url: https://x.test }
    b: { format: json, url: 'ftp://user:hunter22@files.test/drop', events: [step-fail] }
    c: { format: teams, url: https://x.test, evnets: [run-started] }`),
    );
    const text = errors.join('\n');
    expect(text).toMatch(/rb\.yaml:\d+:\d+ notify\.channels\.a\.format: .*slack.*teams.*json/);
    expect(text).toMatch(/notify\.channels\.b\.events\[0\]: .*run-started/);
    expect(text).toMatch(
      /notify\.channels\.c\.evnets: unknown field "evnets"\n\s*hint: did you mean "events"\?/,
    );
    expect(text).not.toContain('hunter22');
  });

  it('checks resolved URLs and header values', () => {
    const errors = loadErrors(
      notifyRunbook(
        `  bridgeUrl: ftp://bridge.test
  channels:
    b: { format: json, url: 'ftp://user:hunter22@files.test/drop' }
    c: { format: json, url: '\${file:hook.yaml}' }
    d: { format: json, url: https://x.test, headers: { X-Token: '\${file:token.txt}', 'Bad Header': v } }`,
        { 'hook.yaml': 'url: https://x.test\n', 'token.txt': 'line1\nline2\n' },
      ),
    );
    const text = errors.join('\n');
    expect(text).toMatch(/notify\.bridgeUrl: expected an http:\/\/ or https:\/\/ URL, got ftp:\/\//);
    expect(text).toMatch(/notify\.channels\.b\.url: expected an http:\/\/ or https:\/\/ URL, got ftp:\/\//);
    expect(text).toMatch(/notify\.channels\.c\.url: expected text, got a object/);
    expect(text).toMatch(/notify\.channels\.d\.headers\.X-Token: a header value cannot hold a line break/);
    expect(text).toMatch(/notify\.channels\.d\.headers\.Bad Header: "Bad Header" is not a header name/);
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain('line1');
  });

  it('needs a channel; a missing secret is an error for a switch and a warning for validate', () => {
    expect(loadErrors(notifyRunbook('  channels: {}')).join('\n')).toMatch(
      /notify\.channels: give at least one channel/,
    );
    const file = notifyRunbook('  channels:\n    ops: { format: slack, url: "${env:NOTIFY_UNIT_URL}" }');
    expect(loadErrors(file).join('\n')).toMatch(
      /notify\.channels\.ops\.url: environment variable NOTIFY_UNIT_URL is not set/,
    );
    const lenient = loadOk(file, { lenientSecrets: true });
    expect(lenient.notify?.channels[0]?.url).toBe('<unset:env:NOTIFY_UNIT_URL>');
  });

  it('warns about a credential header written in the runbook', () => {
    const rb = loadOk(
      notifyRunbook(
        '  channels:\n    s: { format: json, url: https://x.test, headers: { Authorization: Bearer abc123xyz } }',
      ),
    );
    const warnings = rb.warnings.map(formatDiagnostic).join('\n');
    expect(warnings).toMatch(
      /notify\.channels\.s\.headers\.Authorization: the Authorization header is written in the runbook/,
    );
    expect(redact('Bearer abc123xyz')).toBe('***');
  });
});

describe('payloads', () => {
  const notice = (text: string): Notice => ({
    kind: 'step-failed',
    cause: 12,
    at: '2026-11-29T18:00:00.000Z',
    about: 'db',
    severity: 'error',
    title: 'Step db failed: <Promote> & check',
    text,
    facts: [['Step', 'db']],
    link: 'https://bridge.test/runs/r1/steps/db',
    data: { step: 'db', error: text },
  });
  const run = { id: 'r1', runbook: 'rb', environment: 'prod', direction: 'switchover', drill: false };

  it('masks a secret before Slack escapes & < > (escaping first would hide it from the mask)', () => {
    registerSecret('p&ss<w>rd-991');
    for (const format of ['slack', 'teams', 'json'] as const) {
      const body = renderPayload(format, notice('login with p&ss<w>rd-991 refused'), run);
      expect(body).not.toContain('p&ss<w>rd-991');
      expect(body).not.toContain('p&amp;ss&lt;w&gt;rd-991');
      expect(body).toContain('***');
    }
    const slack = JSON.parse(renderPayload('slack', notice('x'), run)) as {
      text: string;
      blocks: { text?: { text: string } }[];
    };
    expect(slack.blocks[0]!.text!.text).toContain('<Promote> & check'); // plain_text header: as is
    // mrkdwn: & < > escaped, so a title cannot forge a link; the bridge link is Slack's <url|label>.
    expect(slack.text).toContain('&lt;Promote&gt; &amp; check');
    expect(slack.text).toContain('<https://bridge.test/runs/r1/steps/db|open on the bridge>');
  });
});

describe('RtoWatch: the forecast of the RTO clocks while the run goes', () => {
  const rb = makeRunbook(
    [
      makeStep('a', runAction(['true']), { estimateMs: 100 }),
      makeStep('b', runAction(['true']), { estimateMs: 100, needs: ['a'] }),
    ],
    { objectives: { technicalMs: 1000 }, rto: { technical: { from: 'a', to: 'b' } } },
  );
  const t0 = Date.parse('2026-11-29T18:00:00.000Z');
  let seq = 0;
  const ev = (at: number, body: Record<string, unknown>): JournalEvent =>
    ({ seq: seq++, ts: new Date(at).toISOString(), mono: 0, prev: '', ...body }) as JournalEvent;

  it('says nothing while the forecast fits, then once when a slow step pushes it over', () => {
    const w = new RtoWatch(rb, buildPlan(rb).schedule);
    expect(w.check(t0)).toEqual([]);
    w.observe(ev(t0, { type: 'step-started', step: 'a', attempt: 1 }));
    // 500 ms into a (estimate 100 ms): a is taken to end now, b takes 100 ms: 600 ms < 1 s.
    expect(w.check(t0 + 500)).toEqual([]);
    // 1.2 s into a: at least 1.3 s.
    expect(w.check(t0 + 1200)).toEqual([
      {
        clock: 'technical',
        from: 'a',
        to: 'b',
        forecastMs: 1300,
        objectiveMs: 1000,
        elapsedMs: 1200,
        missed: false,
      },
    ]);
    expect(w.check(t0 + 1500)).toEqual([]);
    expect(w.idle).toBe(true);
  });

  it('forecasts from the plan before the clock starts, and reports a clock that stopped over its objective', () => {
    const slow = makeRunbook(
      [
        makeStep('a', runAction(['true']), { estimateMs: 800 }),
        makeStep('b', runAction(['true']), { estimateMs: 800, needs: ['a'] }),
      ],
      { objectives: { technicalMs: 1000 }, rto: { technical: { from: 'a', to: 'b' } } },
    );
    expect(new RtoWatch(slow, buildPlan(slow).schedule).check(t0)).toMatchObject([
      { forecastMs: 1600, missed: false },
    ]);
    const w = new RtoWatch(rb, buildPlan(rb).schedule);
    w.observe(ev(t0, { type: 'step-started', step: 'a', attempt: 1 }));
    w.observe(
      ev(t0 + 50, { type: 'step-finished', step: 'a', status: 'succeeded', durationMs: 50, attempts: 1 }),
    );
    w.observe(ev(t0 + 50, { type: 'step-started', step: 'b', attempt: 1 }));
    w.observe(
      ev(t0 + 1500, { type: 'step-finished', step: 'b', status: 'succeeded', durationMs: 1450, attempts: 1 }),
    );
    expect(w.check(t0 + 1500)).toEqual([
      { clock: 'technical', from: 'a', to: 'b', forecastMs: 1500, objectiveMs: 1000, missed: true },
    ]);
  });

  it('a clock reached in time is done; a runbook without objectives has nothing to watch', () => {
    const w = new RtoWatch(rb, buildPlan(rb).schedule);
    w.observe(ev(t0, { type: 'step-started', step: 'a', attempt: 1 }));
    w.observe(
      ev(t0 + 300, { type: 'step-finished', step: 'b', status: 'succeeded', durationMs: 1, attempts: 1 }),
    );
    expect(w.check(t0 + 300)).toEqual([]);
    expect(w.idle).toBe(true);
    const none = makeRunbook([makeStep('a', runAction(['true']))]);
    expect(new RtoWatch(none, buildPlan(none).schedule).idle).toBe(true);
  });
});
