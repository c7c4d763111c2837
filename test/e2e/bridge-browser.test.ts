import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type StartedBridge } from '../../src/bridge/server.js';
import { hashPassword, writeUsers } from '../../src/engine/users.js';
import { readJournal } from '../../src/journal/journal.js';
import { spawnCli, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir, requireBinary } from '../harness/process.js';
import { ROOT } from './cli-helpers.js';

/**
 * The bridge in a real headless Chromium against a real `drctl switch`: three people log in from
 * their own browser contexts; the one without the role is refused; the four-eyes step passes
 * only after two different people approve; the pages follow the run live, without a reload.
 */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, 'docs/bridge.png');
const PASSWORDS = { alice: 'alice-password-1', bob: 'bob-password-22', mallory: 'mallory-password-3' };

let dir: string;
let runs: string;
let browser: Browser;
let bridge: StartedBridge;
let switching: ReturnType<typeof spawnCli>;

beforeAll(async () => {
  requireBinary(CHROMIUM, 'apt-get install -y chromium');
  dir = makeTempDir('bridge-browser');
  runs = join(dir, 'runs');
  const usersFile = join(dir, 'users.yaml');
  writeUsers(
    usersFile,
    new Map(
      (['alice', 'bob', 'mallory'] as const).map((n) => [
        n,
        { roles: n === 'mallory' ? ['DBA'] : ['QA'], password: hashPassword(PASSWORDS[n]) },
      ]),
    ),
  );
  const file = writeRunbook(dir, 'bridge-night', {
    environment: 'bridge-browser-env',
    roles: { SRE: { description: 'switches' }, QA: {}, DBA: {} },
    objectives: { rto: { technical: '10m', compliance: '30m' } },
    rto: {
      technical: { from: 'freeze', to: 'open-traffic' },
      compliance: { from: 'freeze', to: 'open-traffic' },
    },
    steps: [
      { id: 'freeze', owner: 'SRE', estimate: '1s', run: ['sh', '-c', 'echo freezing; sleep 0.3'] },
      {
        id: 'qa-four-eyes',
        owner: 'QA',
        needs: ['freeze'],
        estimate: '2m',
        manual: { instructions: 'Two QA engineers run the cases on DR', minApprovals: 2 },
      },
      {
        id: 'promote',
        owner: 'SRE',
        needs: ['qa-four-eyes'],
        estimate: '5s',
        // Output over time: the page shows each running step's last lines as they come.
        run: [
          'sh',
          '-c',
          'echo promoting line 1; sleep 2.5; echo promoting line 2; sleep 2.5; echo promoted',
        ],
      },
      { id: 'flip-dns', owner: 'SRE', needs: ['promote'], estimate: '1m', run: ['sh', '-c', 'sleep 1.5'] },
      { id: 'open-traffic', owner: 'SRE', needs: ['flip-dns'], estimate: '1s', run: ['sh', '-c', 'sleep 1'] },
    ],
  });
  switching = spawnCli(['switch', file, '--yes', '--runs-dir', runs, '--users', usersFile]);
  bridge = await startBridge({
    runsDir: runs,
    usersFile,
    host: '127.0.0.1',
    port: 0,
    secure: false,
    pollMs: 100,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  switching?.kill('SIGTERM');
  await browser?.close();
  await bridge?.close();
  removeDir(dir);
});

async function loggedIn(user: keyof typeof PASSWORDS): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${bridge.url}/runs/whatever`);
  // Not logged in: the login page, with 401.
  await page.goto(`${bridge.url}/login`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', PASSWORDS[user]);
  await Promise.all([page.waitForURL(`${bridge.url}/`), page.click('button[type=submit]')]);
  return page;
}

describe('the bridge in a browser', () => {
  it('roles, four eyes and live updates on a real switch', { timeout: 120_000 }, async () => {
    const errors: string[] = [];
    const [mallory, alice, bob] = await Promise.all([
      loggedIn('mallory'),
      loggedIn('alice'),
      loggedIn('bob'),
    ]);
    for (const p of [mallory, alice, bob]) p.on('pageerror', (e) => errors.push(e.message));
    // The run appears in the list (which refreshes itself) and is opened from there.
    await alice.waitForSelector('tr[data-run] a', { timeout: 60_000 });
    const runId = (await alice.textContent('tr[data-run] a'))!.trim();
    // What bob's page asks the server for while it follows the run.
    const requests: string[] = [];
    bob.on('request', (r) => requests.push(new URL(r.url()).pathname));
    for (const p of [mallory, alice, bob]) await p.goto(`${bridge.url}/runs/${runId}`);
    for (const p of [mallory, alice, bob]) await p.evaluate('window.__noReload = 1');
    const waiting = '[data-waiting="qa-four-eyes"]';
    await bob.waitForSelector(waiting, { timeout: 60_000 });
    expect(await bob.textContent(waiting)).toMatch(/May approve: QA \(alice, bob\)/);
    // One page for everyone, personalised by its script: the name, and the Approve button.
    await bob.locator(`${waiting} button[data-decide=approve]`, { hasText: 'Approve as bob' }).waitFor();
    expect(await bob.textContent('header .me')).toBe('bob');
    expect(await bob.getAttribute(`${waiting} button[data-decide=approve]`, 'title')).toBeNull();
    const malloryApprove = mallory.locator(`${waiting} button[data-decide=approve]`, {
      hasText: 'Approve as mallory',
    });
    await malloryApprove.waitFor({ timeout: 30_000 });
    expect(await malloryApprove.getAttribute('title')).toMatch(/not a member of an allowed role/);

    // The RTO clocks tick against their objectives, with the forecast of the remaining critical
    // path: qa-four-eyes (2m) + promote (5s) + flip-dns (1m) + open-traffic (1s) from now.
    const tech = '[data-clock="technical"]';
    await bob.waitForSelector(`${tech} .forecast[data-forecast-ms]`, { timeout: 30_000 });
    expect(await bob.textContent(tech)).toMatch(/objective 10m00s/);
    expect(await bob.textContent(`${tech} .forecast`)).toMatch(
      /^forecast 3m\d\ds \((2|3)m\d\ds of critical path to go until open-traffic ends\): on track, 6m\d\ds to spare$/,
    );
    const forecastMs = async (): Promise<number> =>
      Number(await bob.getAttribute(`${tech} .forecast`, 'data-forecast-ms'));
    const waitingForecast = await forecastMs();
    const elapsed = async (): Promise<string> => (await bob.textContent(`${tech} .elapsed`))!;
    const e1 = await elapsed();
    // The elapsed time ticks between refreshes (the page's script, on the server's clock).
    await expect.poll(elapsed, { timeout: 5_000, interval: 200 }).not.toBe(e1);
    expect(await elapsed()).toMatch(/^\d+s$/);

    // mallory (DBA) is refused, and the refusal is journaled.
    await mallory.waitForSelector(waiting);
    await mallory.click(`${waiting} button[data-decide=approve]`);
    await mallory.waitForSelector('#flash.err');
    expect(await mallory.textContent('#flash')).toMatch(/mallory is not a member of QA/);

    // alice approves: one of two; the step keeps waiting and bob's page shows it live.
    await alice.fill(`${waiting} input[data-comment]`, '120 cases passed');
    await alice.click(`${waiting} button[data-decide=approve]`);
    await alice.waitForSelector('#flash.ok');
    expect(await alice.textContent('#flash')).toMatch(/1 of 2/);
    await bob.locator(waiting, { hasText: /Approvals: 1 of 2 \(alice\)/ }).waitFor({ timeout: 30_000 });
    // alice again does not count twice.
    await alice.locator(waiting, { hasText: /1 of 2/ }).waitFor({ timeout: 30_000 });
    await alice.click(`${waiting} button[data-decide=approve]`);
    await alice.locator('#flash', { hasText: /already approved/ }).waitFor({ timeout: 30_000 });
    const runDir = join(runs, runId);
    const stateOf = (id: string) =>
      readJournal(join(runDir, 'journal.jsonl'))
        .events.filter((e) => 'step' in e && e.step === id)
        .map((e) => e.type);
    expect(stateOf('qa-four-eyes')).not.toContain('step-finished');

    // bob is the second person: the step passes, and the pages follow the next steps live.
    await bob.click(`${waiting} button[data-decide=approve]`);
    await bob.waitForSelector('#flash.ok');
    await bob.waitForSelector('tr[data-step="qa-four-eyes"][data-state="succeeded"]', { timeout: 30_000 });
    await bob.waitForSelector(
      'tr[data-step="promote"][data-state="running"], tr[data-step="promote"][data-state="succeeded"]',
      {
        timeout: 30_000,
      },
    );
    await mallory.waitForSelector('tr[data-step="qa-four-eyes"][data-state="succeeded"]', {
      timeout: 30_000,
    });
    // The running step's last output lines, live: the first, then the next, without a reload.
    const promoteTail = bob.locator('tr[data-step="promote"][data-state="running"] pre.tail');
    await promoteTail.filter({ hasText: 'promoting line 1' }).waitFor({ timeout: 30_000 });
    await promoteTail.filter({ hasText: 'promoting line 2' }).waitFor({ timeout: 30_000 });
    expect(await promoteTail.textContent()).toBe('promoting line 1\npromoting line 2');
    // The forecast follows: the 2m approval estimate is gone once two people approved early.
    const runningForecast = await forecastMs();
    expect(runningForecast).toBeLessThan(waitingForecast - 30_000);
    expect(runningForecast).toBeGreaterThan(60_000); // flip-dns (1m) is still ahead
    await bob.screenshot({ path: SCREENSHOT, fullPage: true });
    // Still the same documents: nothing was reloaded to get here.
    for (const p of [mallory, alice, bob]) expect(await p.evaluate('window.__noReload')).toBe(1);
    // All of it came from the event stream: the steps' states changed on the page without one
    // fetch of the live fragment, and nothing was fetched on a timer (at most the Gantt chart,
    // when a summary named a new one).
    expect(requests.filter((p) => p.endsWith('/live'))).toEqual([]);
    expect(requests.filter((p) => p.endsWith('/events')).length).toBeGreaterThanOrEqual(1);
    expect(
      requests.filter(
        (p) => !/\/(events|gantt|approve|reject)$|^\/api\/me$|^\/runs\/[^/]+$|^\/static\//.test(p),
      ),
    ).toEqual([]);

    const done = await switching;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    const approvals = readJournal(join(runDir, 'journal.jsonl')).events.filter((e) => e.type === 'approval');
    expect(approvals.map((e) => e.type === 'approval' && e.by)).toEqual(['alice', 'bob']);
    expect(
      readJournal(join(runDir, 'journal.jsonl')).events.some(
        (e) => e.type === 'approval-refused' && e.by === 'mallory' && e.code === 'not-allowed',
      ),
    ).toBe(true);
    // At the end the page turns into the run's HTML report, approvers listed.
    await bob.locator('footer', { hasText: /journal/ }).waitFor({ timeout: 30_000 });
    expect(await bob.textContent('body')).toMatch(/approved by alice via bridge: 120 cases passed/);
    expect(await bob.textContent('body')).toMatch(/approved by bob via bridge/);
    expect(errors).toEqual([]);
    expect(existsSync(SCREENSHOT)).toBe(true);
    await sleep(0);
  });
});
