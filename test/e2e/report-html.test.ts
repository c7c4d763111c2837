import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReportModel, loadReportModel, renderReport } from '../../src/report/index.js';
import { makeTempDir, removeDir, requireBinary } from '../harness/process.js';
import { generatedEvents, writeGeneratedRun } from '../fixtures/report-generated.js';
import { ROOT, drctl } from './cli-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, 'docs/report-screenshot.png');

/** The few DOM members used in the page (tsconfig has no DOM lib). */
interface DomElement {
  getBoundingClientRect(): { width: number };
  getAttribute(name: string): string | null;
}

let tmp: string;
let browser: Browser;

beforeAll(async () => {
  requireBinary(CHROMIUM, 'apt-get install -y chromium');
  tmp = makeTempDir('report-html');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  removeDir(tmp);
});

/** Opens a report file and records every request that is not the file itself. */
async function openReport(path: string, viewport = { width: 1200, height: 1500 }) {
  const page = await browser.newPage({ viewport });
  const url = pathToFileURL(path).href;
  const foreign: string[] = [];
  const failed: string[] = [];
  page.on('request', (req) => {
    if (req.url() !== url) foreign.push(req.url());
  });
  page.on('requestfailed', (req) => failed.push(`${req.url()}: ${req.failure()?.errorText ?? ''}`));
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url, { waitUntil: 'load' });
  return { page, foreign, failed, errors };
}

describe('HTML report in headless Chromium', () => {
  it('renders the Gantt timeline of a 40-step run with no network requests, and keeps a screenshot', async () => {
    const runId = '20261121T160000000Z-html';
    const runs = join(tmp, 'runs');
    writeGeneratedRun(runs, runId, { steps: 40 });
    const out = join(tmp, 'night.html');
    const r = await drctl(['report', runId, '--format', 'html', '-o', out, '--runs-dir', runs]);
    expect(r.code, r.stderr).toBe(0);
    const model = loadReportModel({
      id: runId,
      dir: join(runs, runId),
      journalPath: join(runs, runId, 'journal.jsonl'),
    });

    const { page, foreign, failed, errors } = await openReport(out);
    expect(foreign).toEqual([]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
    expect(await page.locator('svg.gantt rect.bar').count()).toBe(40);
    expect(await page.locator('svg.gantt rect.bar.critical').count()).toBe(model.criticalPath.steps.length);
    // Both objectives are shown: as a line when near the run's end, else marked at the right edge.
    expect(
      (await page.locator('svg.gantt line.objective').count()) +
        (await page.locator('svg.gantt text.objective-beyond').count()),
    ).toBe(2);
    expect(await page.locator('.integrity').innerText()).toContain('hash chain verified');
    // Bars sit inside the chart and are wide enough to see.
    const box = await page.locator('svg.gantt').boundingBox();
    expect(box!.width).toBeGreaterThan(900);
    const widths = await page
      .locator('svg.gantt rect.bar')
      .evaluateAll((els: unknown[]) => els.map((e) => (e as DomElement).getBoundingClientRect().width));
    expect(Math.min(...widths)).toBeGreaterThan(1);
    // Each role has its own colour.
    const fills = await page
      .locator('svg.gantt rect.bar')
      .evaluateAll((els: unknown[]) => [...new Set(els.map((e) => (e as DomElement).getAttribute('fill')))]);
    expect(fills).toHaveLength(model.roles.length);

    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect(readFileSync(SCREENSHOT).length).toBeGreaterThan(20_000);

    // Prints: an A4 landscape PDF; in print media the timeline shrinks to the page width.
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4', landscape: true, printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.setViewportSize({ width: 1000, height: 700 });
    const printedWidth = await page
      .locator('svg.gantt')
      .evaluate((e: unknown) => (e as DomElement).getBoundingClientRect().width);
    expect(printedWidth).toBeLessThanOrEqual(1000);
    expect(printedWidth).toBeGreaterThan(900);
    await page.close();
  });

  it('renders a 2,000-step timeline: one bar per step', async () => {
    const model = buildReportModel({
      runId: 'big',
      events: generatedEvents('big', { steps: 2000, concurrency: 16 }),
      integrity: { verified: true, events: 0, breakAt: undefined, tornTail: false, corruptLines: [] },
    });
    const path = join(tmp, 'big.html');
    writeFileSync(path, renderReport(model, 'html'));
    const t0 = performance.now();
    const { page, foreign, failed } = await openReport(path);
    const loadMs = performance.now() - t0;
    expect(foreign).toEqual([]);
    expect(failed).toEqual([]);
    expect(await page.locator('svg.gantt rect.bar').count()).toBe(2000);
    expect(await page.locator('table tbody tr').count()).toBeGreaterThan(2000);
    expect(loadMs).toBeLessThan(30_000);
    await page.close();
  });
});
