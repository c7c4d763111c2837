import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridgeApp, startBridge, type StartedBridge } from '../../src/bridge/server.js';
import { hashPassword, writeUsers } from '../../src/engine/users.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { readJournal } from '../../src/journal/journal.js';
import { listRunDirs, runCli, spawnCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir } from '../harness/process.js';

/**
 * The bridge's JSON API against a real `drctl switch` with a four-eyes manual step: every status
 * code, CSRF, the login rate limit, and no secret of the runbook in any page or response.
 */

const SECRET = 'Sup3r-S3cret-Bridge-Value';
const PASSWORDS = { alice: 'alice-password-1', bob: 'bob-password-22', mallory: 'mallory-password-3' };

let dir: string;
let runs: string;
let usersFile: string;
let bridge: StartedBridge;
let runId: string;
let switching: ReturnType<typeof spawnCli>;
/** Every body the bridge sent in this file, checked for the secret at the end. */
const bodies: string[] = [];

async function call(
  path: string,
  init: RequestInit & { cookie?: string | undefined } = {},
): Promise<{ status: number; body: string; json: () => Record<string, unknown>; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set('cookie', init.cookie);
  const res = await fetch(bridge.url + path, { ...init, headers, redirect: 'manual' });
  const body = await res.text();
  bodies.push(body);
  return {
    status: res.status,
    body,
    json: () => JSON.parse(body) as Record<string, unknown>,
    headers: res.headers,
  };
}

async function login(user: keyof typeof PASSWORDS): Promise<string> {
  const r = await call('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password: PASSWORDS[user] }),
  });
  expect(r.status, r.body).toBe(200);
  return r.headers.get('set-cookie')!.split(';')[0]!;
}

const decide = (
  cookie: string,
  step: string,
  action: 'approve' | 'reject',
  extra: Record<string, string> = {},
) =>
  call(`/api/runs/${runId}/steps/${step}/${action}`, {
    method: 'POST',
    cookie,
    headers: { 'content-type': 'application/json', origin: bridge.url, ...extra },
    body: JSON.stringify({ comment: `${action} from the test` }),
  });

function events(): JournalEvent[] {
  return readJournal(join(runs, runId, 'journal.jsonl')).events;
}

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  dir = makeTempDir('bridge-api');
  runs = join(dir, 'runs');
  usersFile = join(dir, 'users.yaml');
  writeUsers(
    usersFile,
    new Map([
      ['alice', { roles: ['QA'], password: hashPassword(PASSWORDS.alice) }],
      ['bob', { roles: ['QA', 'SRE'], password: hashPassword(PASSWORDS.bob) }],
      ['mallory', { roles: ['DBA'], password: hashPassword(PASSWORDS.mallory) }],
    ]),
  );
  const file = writeRunbook(dir, 'bridge-api', {
    environment: 'bridge-api-env',
    roles: { SRE: {}, QA: {}, DBA: {} },
    vars: { api_password: '${env:BRIDGE_TEST_TOKEN}' },
    objectives: { rto: { technical: '10m' } },
    rto: { technical: { from: 'prepare', to: 'open' } },
    steps: [
      { id: 'prepare', owner: 'SRE', run: ['sh', '-c', 'echo "using token ${vars.api_password}"'] },
      {
        id: 'four-eyes',
        owner: 'QA',
        needs: ['prepare'],
        estimate: '2m',
        manual: { instructions: 'Two QA engineers confirm the cases', minApprovals: 2 },
      },
      // Runs beside the approval, printing, until the test lets it end (the file `go`).
      {
        id: 'tail-logs',
        owner: 'SRE',
        needs: ['prepare'],
        estimate: '1m',
        run: [
          'sh',
          '-c',
          `echo "tail one"; echo "tail two with \${vars.api_password}"; while [ ! -e "${join(dir, 'go')}" ]; do sleep 0.1; done`,
        ],
      },
      {
        id: 'open',
        owner: 'SRE',
        needs: ['four-eyes', 'tail-logs'],
        estimate: '1s',
        run: ['sh', '-c', 'echo open'],
      },
    ],
  });
  switching = spawnCli(['switch', file, '--yes', '--runs-dir', runs, '--users', usersFile], {
    BRIDGE_TEST_TOKEN: SECRET,
  });
  bridge = await startBridge({ runsDir: runs, usersFile, host: '127.0.0.1', port: 0, secure: false });
  runId = await until('the approval request', () => {
    const id = listRunDirs(runs)[0];
    if (!id || !existsSync(join(runs, id, 'journal.jsonl'))) return undefined;
    const evs = readJournal(join(runs, id, 'journal.jsonl')).events;
    return evs.some((e) => e.type === 'approval-requested') ? id : undefined;
  });
}, 90_000);

afterAll(async () => {
  switching?.kill('SIGTERM');
  await bridge?.close();
  removeDir(dir);
});

describe('drctl serve: the JSON API', () => {
  it('401 without a session, everywhere but the login page and its script', async () => {
    for (const p of ['/api/runs', `/api/runs/${runId}`, `/api/runs/${runId}/events`, '/', `/runs/${runId}`]) {
      expect((await call(p)).status, p).toBe(401);
    }
    const approve = await call(`/api/runs/${runId}/steps/four-eyes/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: bridge.url },
      body: '{}',
    });
    expect(approve.status).toBe(401);
    expect((await call('/login')).status).toBe(200);
    expect((await call('/static/bridge.js')).status).toBe(200);
  });

  it('login: a wrong password is 401; the right one sets an HttpOnly SameSite=Strict cookie', async () => {
    const bad = await call('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: 'nope' }),
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const ok = await call('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: PASSWORDS.alice }),
    });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ user: 'alice', roles: ['QA'] });
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
  });

  it('security headers: CSP without inline script, no framing', async () => {
    const r = await call('/login');
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.body).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('GET /api/runs lists the run; /api/runs/:run is the status document; 404 for anything else', async () => {
    const cookie = await login('alice');
    const list = (await call('/api/runs', { cookie })).json() as {
      runs: { runId: string; status: string }[];
    };
    expect(list.runs.map((r) => r.runId)).toEqual([runId]);
    expect(list.runs[0]!.status).toBe('in-progress');
    const doc = (await call(`/api/runs/${runId}`, { cookie })).json() as {
      runId: string;
      steps: { id: string; state: string; awaiting?: { minApprovals: number; approvers: string[] } }[];
    };
    expect(doc.runId).toBe(runId);
    const waiting = doc.steps.find((s) => s.id === 'four-eyes')!;
    expect(waiting.state).toBe('waiting-approval');
    expect(waiting.awaiting).toMatchObject({ minApprovals: 2, approvers: ['QA'] });
    for (const bad of [
      'latest',
      runId.slice(0, 8),
      '..',
      '..%2F..%2Fetc',
      '%2Fetc%2Fpasswd',
      `${runId}%2F..`,
    ]) {
      expect((await call(`/api/runs/${bad}`, { cookie })).status, bad).toBe(404);
      expect((await call(`/api/runs/${bad}/events`, { cookie })).status, bad).toBe(404);
    }
    expect((await decide(cookie, 'no-such-step', 'approve')).status).toBe(404);
    expect(
      (
        await call(`/api/runs/nope/steps/four-eyes/approve`, {
          method: 'POST',
          cookie,
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(404);
  });

  it("GET /api/runs/:run of a live run adds the RTO forecast and the running steps' last output lines", async () => {
    try {
      await liveDetails();
    } finally {
      writeFileSync(join(dir, 'go'), ''); // the run goes on to its end whatever happened here
    }
  });

  async function liveDetails(): Promise<void> {
    const cookie = await login('alice');
    type Doc = {
      steps: { id: string; state: string }[];
      forecast: {
        clock: string;
        to: string;
        forecastMs?: number;
        remainingMs?: number;
        objectiveMs: number;
      }[];
      output: Record<string, string[]>;
    };
    const doc = await until("the running step's output lines", async () => {
      const d = (await call(`/api/runs/${runId}`, { cookie })).json() as Doc;
      return d.output['tail-logs']?.length === 2 ? d : undefined;
    });
    // Redacted like every answer: the secret the step printed is masked.
    expect(doc.output['tail-logs']![0]).toBe('tail one');
    expect(doc.output['tail-logs']![1]).toMatch(/^tail two with \S+$/);
    expect(doc.output['tail-logs']![1]).not.toContain(SECRET);
    expect(Object.keys(doc.output)).toEqual(['tail-logs']); // only running steps
    // The technical clock: four-eyes (2m estimate, waiting) then open (1s) still to go.
    const tech = doc.forecast.find((f) => f.clock === 'technical')!;
    expect(tech).toMatchObject({ to: 'open', objectiveMs: 600_000 });
    expect(tech.remainingMs!).toBeGreaterThan(100_000);
    expect(tech.remainingMs!).toBeLessThanOrEqual(121_000);
    expect(tech.forecastMs!).toBeGreaterThanOrEqual(tech.remainingMs!);
    // The status document's own fields are all there, unchanged.
    expect(doc.steps.find((s) => s.id === 'tail-logs')!.state).toBe('running');

    // The same, as the run page gets it: a live summary in the event stream (no fragment fetch),
    // shared by every viewer, naming none, redacted.
    const abort = new AbortController();
    const res = await fetch(`${bridge.url}/api/runs/${runId}/events?after=${events().length - 1}`, {
      headers: { cookie },
      signal: abort.signal,
    });
    let text = '';
    const decoder = new TextDecoder();
    let summary: Record<string, unknown> | undefined;
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      const m = /event: live\ndata: (.*)\n\n/.exec(text);
      if (m) {
        summary = JSON.parse(m[1]!) as Record<string, unknown>;
        break;
      }
    }
    abort.abort();
    bodies.push(text);
    expect(summary).toMatchObject({ status: 'running', finished: false, base: -1 });
    const rows = summary!.rows as Record<string, string>;
    expect(rows['tail-logs']).toMatch(/data-state="running".*<pre class="tail">tail one\ntail two with /s);
    expect(summary!.clocks).toMatch(
      /data-clock="technical".*forecast \dm\d\ds \(\dm\d\ds of critical path to go until open ends\): on track/s,
    );
    expect(summary!.waiting).toMatch(
      /data-waiting="four-eyes" data-people="\[&quot;alice&quot;,&quot;bob&quot;\]"/,
    );
    expect(summary!.waiting).not.toMatch(/Approve as/);
    expect(text).not.toContain(SECRET);
  }

  it('CSRF: a state change from another origin is refused (403) and submits nothing', async () => {
    const cookie = await login('alice');
    const before = events().length;
    const r = await decide(cookie, 'four-eyes', 'approve', { origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/CSRF/);
    const r2 = await decide(cookie, 'four-eyes', 'approve', { origin: '', 'sec-fetch-site': 'cross-site' });
    expect(r2.status).toBe(403);
    // A form post (not JSON) cannot approve either.
    const form = await call(`/api/runs/${runId}/steps/four-eyes/approve`, {
      method: 'POST',
      cookie,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: bridge.url },
      body: 'comment=x',
    });
    expect(form.status).toBe(400);
    await sleep(400);
    expect(
      events()
        .slice(before)
        .filter((e) => e.type.startsWith('approval')),
    ).toEqual([]);
    // A Host this server does not answer to (DNS rebinding) is refused.
    const app = createBridgeApp({ runsDir: runs, usersFile, secure: false });
    expect((await app.request('/login', { headers: { host: 'evil.example:8080' } })).status).toBe(421);
    expect((await app.request('/login', { headers: { host: '127.0.0.1:8080' } })).status).toBe(200);
  });

  it('403 for a user without the role (journaled); 409 for a step not waiting; four eyes need two people', async () => {
    const mallory = await login('mallory');
    const refused = await decide(mallory, 'four-eyes', 'approve');
    expect(refused.status, refused.body).toBe(403);
    expect(refused.json().error).toMatch(/mallory is not a member of QA/);
    const ev = events().find((e) => e.type === 'approval-refused' && e.by === 'mallory');
    expect(ev).toMatchObject({ code: 'not-allowed', via: 'bridge', address: expect.any(String) as unknown });
    expect((await decide(mallory, 'prepare', 'approve')).status).toBe(409);

    const alice = await login('alice');
    const first = await decide(alice, 'four-eyes', 'approve');
    expect(first.status, first.body).toBe(200);
    expect(first.json()).toMatchObject({ count: 1, needed: 2 });
    const again = await decide(alice, 'four-eyes', 'approve');
    expect(again.status).toBe(409);
    expect(again.json()).toMatchObject({ code: 'duplicate' });
    const doc = (await call(`/api/runs/${runId}`, { cookie: alice })).json() as {
      steps: { id: string; state: string }[];
    };
    expect(doc.steps.find((s) => s.id === 'four-eyes')!.state).toBe('waiting-approval');

    const bob = await login('bob');
    const second = await decide(bob, 'four-eyes', 'approve');
    expect(second.status, second.body).toBe(200);
    expect(second.json()).toMatchObject({ count: 2, needed: 2, decision: 'approved' });
    const done = await switching;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    expect((await decide(bob, 'open', 'reject')).status).toBe(409);
    const approvals = events().filter((e) => e.type === 'approval');
    expect(approvals.map((e) => e.type === 'approval' && [e.by, e.via])).toEqual([
      ['alice', 'bridge'],
      ['bob', 'bridge'],
    ]);
  }, 60_000);

  it('the finished run: /api/runs/:run is what drctl status --json prints; the page is the HTML report', async () => {
    const cookie = await login('bob');
    const api = (await call(`/api/runs/${runId}`, { cookie })).json();
    const cli = await runCli(['status', runId, '--json', '--runs-dir', runs]);
    expect(cli.exitCode, cli.stderr).toBe(0);
    const want = JSON.parse(cli.stdout) as Record<string, unknown>;
    // The same document, plus what only a live run has: no forecast, no running step's output.
    expect(api).toMatchObject({ forecast: null, output: {} });
    expect({ ...api, live: undefined, forecast: undefined, output: undefined }).toEqual({
      ...want,
      live: undefined,
    });
    const page = await call(`/runs/${runId}`, { cookie });
    expect(page.status).toBe(200);
    const report = await runCli(['report', runId, '--format', 'html', '--runs-dir', runs]);
    expect(page.body.trimEnd()).toBe(report.stdout.trimEnd());
    const list = await call('/', { cookie });
    expect(list.body).toContain(runId);
  }, 60_000);

  it('SSE: every journal event, redacted, resumable with Last-Event-ID', async () => {
    const cookie = await login('bob');
    const read = async (headers: Record<string, string>): Promise<{ ids: number[]; text: string }> => {
      const res = await fetch(`${bridge.url}/api/runs/${runId}/events`, { headers: { cookie, ...headers } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      const text = await res.text(); // the run has finished: the stream ends after `end`
      bodies.push(text);
      return { ids: [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), text };
    };
    const all = events();
    const full = await read({});
    expect(full.ids).toEqual(all.map((e) => e.seq));
    expect(full.text).toMatch(/event: end/);
    const mid = all[5]!.seq;
    const resumed = await read({ 'last-event-id': String(mid) });
    expect(resumed.ids).toEqual(all.filter((e) => e.seq > mid).map((e) => e.seq));
  });

  it('no secret of the runbook in any page, API response or event', async () => {
    const cookie = await login('alice');
    for (const p of [
      '/',
      `/runs/${runId}`,
      `/runs/${runId}/live`,
      `/runs/${runId}/report`,
      '/api/runs',
      `/api/runs/${runId}`,
    ]) {
      expect((await call(p, { cookie })).status, p).toBe(200);
    }
    // The secret really was used by the run (its step printed it, masked in the journal).
    const journal = readFileSync(join(runs, runId, 'journal.jsonl'), 'utf8');
    expect(journal).not.toContain(SECRET);
    expect(bodies.length).toBeGreaterThan(20);
    for (const b of bodies) expect(b).not.toContain(SECRET);
    for (const b of bodies) expect(b).not.toContain('scrypt$');
  });

  it('login rate limit: per user and per client address, 429 with Retry-After', async () => {
    const app = createBridgeApp({ runsDir: runs, usersFile, secure: false, perUser: 3, perAddress: 5 });
    const post = (user: string, password: string) =>
      app.request('/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', host: '127.0.0.1' },
        body: JSON.stringify({ user, password }),
      });
    for (let i = 0; i < 3; i++) expect((await post('alice', 'wrong')).status).toBe(401);
    const limited = await post('alice', PASSWORDS.alice);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user from the same address still gets in, until the address's limit.
    expect((await post('bob', PASSWORDS.bob)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await post('mallory', 'wrong')).status).toBe(401);
    expect((await post('bob', PASSWORDS.bob)).status).toBe(429);
  }, 30_000);

  it('serve refuses a non-loopback address without TLS', async () => {
    const r = await runCli(['serve', '--listen', '0.0.0.0:0', '--runs-dir', runs, '--users', usersFile]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/refusing to serve plain HTTP on 0\.0\.0\.0/);
  });
});
