/**
 * Every console screen in headless Chromium against the real API with 1,000
 * runs and 500 evidence files: no serious or critical axe-core violation, no
 * sideways scrolling at 1280×800 or in a 400 px window, a screenshot of each
 * (test-results/console/), and each screen's load time measured in the page
 * (written to test-results/console/load-times.json, reported, not asserted).
 * Also keyboard-only use, visible focus, and what an auditor key sees.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { eq as eqId } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evidence as evidenceTable, runs as runsTable } from '../db/schema.js';
import type { FetcherRow } from '../db/schema.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import {
  chromiumUnavailable,
  launchConsoleBrowser,
  openScreen,
  screenshot,
  SCREENSHOT_DIR,
  seriousAxeViolations,
  signIn,
  type ConsoleBrowser,
} from './support/console-browser.js';
import { describeWhenAvailable } from './support/unavailable.js';

const SEEDED_RUNS = 1000;
const SEEDED_EVIDENCE = 500;
const WIDTHS = [1280, 400] as const;

let stack: ApiStack;
let browser: ConsoleBrowser;
let page: Page;
let fetcher: FetcherRow;
let runId: string;
let evidenceId: string;
let requestId: string;
const loadTimes: Record<string, Record<string, number>> = {};

/** 999 more runs and 499 more evidence rows cloned from one real run, spread over the past year. */
async function seed(realRunId: string, realEvidenceId: string): Promise<void> {
  const db = stack.run.database.db;
  const [realRun] = await db.select().from(runsTable).where(eqId(runsTable.id, realRunId));
  const [realEvidence] = await db.select().from(evidenceTable).where(eqId(evidenceTable.id, realEvidenceId));
  const day = 86_400_000;
  const base = Date.now() - 400 * day;
  const newRuns = [];
  const newEvidence = [];
  for (let i = 1; i < SEEDED_RUNS; i++) {
    const id = randomUUID();
    const at = new Date(base + i * (365 * day / SEEDED_RUNS));
    const withEvidence = i < SEEDED_EVIDENCE;
    const evidenceRowId = withEvidence ? randomUUID() : null;
    newRuns.push({
      ...realRun!,
      id,
      workflowId: `run-${id}`,
      idempotencyKey: null,
      status: withEvidence ? ('succeeded' as const) : ('failed' as const),
      error: withEvidence ? null : { type: 'QualysAuthError', message: 'Bad Login/Password (seeded)' },
      evidenceId: null,
      createdAt: at,
      startedAt: at,
      finishedAt: new Date(at.getTime() + 60_000),
    });
    if (evidenceRowId) newEvidence.push({ ...realEvidence!, id: evidenceRowId, runId: id, createdAt: at, _run: id });
  }
  for (let i = 0; i < newRuns.length; i += 200) await db.insert(runsTable).values(newRuns.slice(i, i + 200));
  const rows = newEvidence.map(({ _run, ...row }) => row);
  for (let i = 0; i < rows.length; i += 200) await db.insert(evidenceTable).values(rows.slice(i, i + 200));
  for (const row of newEvidence) await db.update(runsTable).set({ evidenceId: row.id }).where(eqId(runsTable.id, row._run));
}

/** Signs in as the administrator unless already signed in so. */
async function asAdmin(): Promise<void> {
  const who = page.locator('#who');
  if ((await who.isVisible()) && (await who.innerText()).includes('(administrator)')) return;
  await signIn(page, stack.baseUrl, stack.adminToken);
}

/** A part of a screen drawn on demand (a button pressed, a form sent), measured as `part:<name>` by the page. */
interface OnDemand {
  part: string;
  show(): Promise<void>;
}

const lastMeasure = async (name: string) => (await page.evaluate(`performance.getEntriesByName(${JSON.stringify(name)}, 'measure').at(-1)?.duration ?? null`)) as number | null;

async function checkScreen(name: string, hash: string, onDemand: OnDemand[] = []): Promise<void> {
  await asAdmin();
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    await openScreen(page, hash).catch(async (err) => {
      throw new Error(`${err.message}\n${await page.locator('body').innerHTML()}\n${browser.errors.join('\n')}`);
    });
    const screen = await page.locator('#view').getAttribute('data-screen');
    const duration = await lastMeasure(`screen:${screen}`);
    expect(duration, `${name} measured its load`).not.toBeNull();
    (loadTimes[name] ??= {})[`${width}px`] = Math.round(duration!);
    for (const part of onDemand) {
      await page.evaluate(`performance.clearMeasures(${JSON.stringify(`part:${part.part}`)})`);
      await part.show();
      await expect.poll(() => lastMeasure(`part:${part.part}`), { message: `${name}: ${part.part} drawn` }).not.toBeNull();
      (loadTimes[`${name}: ${part.part}`] ??= {})[`${width}px`] = Math.round((await lastMeasure(`part:${part.part}`))!);
    }
    expect(await page.locator('#view').innerText(), `${name} at ${width}px`).not.toMatch(/\bundefined\b|\bNaN\b|\[object Object\]|(^|\n)null(\n|$)/);
    expect(await seriousAxeViolations(page), `${name} at ${width}px`).toEqual([]);
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    expect(overflow, `${name} scrolls sideways at ${width}px`).toBeLessThanOrEqual(0);
    await screenshot(page, `${name}-${width}`);
  }
}

describeWhenAvailable('the console in Chromium: accessibility, narrow windows, load times', chromiumUnavailable, () => {
  beforeAll(async () => {
    // A webhook on loopback is registered below, which only an allow-listed range may be.
    stack = await startApiStack({ simulator: { hosts: 120 }, webhookAllowedCidrs: ['127.0.0.1/32'] });
    const connection = await stack.run.addConnection({ name: 'Simulator (US-like)' });
    // 11.2.1 has successors in PCI DSS v4.0.1: the fetcher screen offers the move to them.
    fetcher = await stack.run.addHldFetcher(connection, { severities: [4, 5] }, { pageSize: 40, controls: [['PCI DSS v3.2.1', '11.2'], ['PCI DSS v3.2.1', '11.2.1']], name: 'PCI scope, severity 4–5' });
    const request = await stack.request('POST', '/v1/requests', {
      body: { title: 'PCI DSS 2026 Q4: quarterly scans', periodStart: '2026-10-01', periodEnd: '2026-12-31', dueDate: '2027-01-15', controlIds: ['pci-dss-v3.2.1:11.2'] },
    });
    requestId = request.body.id;
    await stack.request('POST', `/v1/fetchers/${fetcher.id}/schedules`, { body: { preset: 'pci-quarterly', timezone: 'Europe/Berlin' } });
    const { run } = await stack.run.runToEnd(fetcher);
    const done = await stack.request('GET', `/v1/runs/${run.id}`);
    runId = run.id;
    evidenceId = done.body.evidenceId;
    await seed(runId, evidenceId);
    await stack.request('POST', '/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['run.completed'] } });
    browser = await launchConsoleBrowser();
    page = browser.page;
    await signIn(page, stack.baseUrl, stack.adminToken);
  });

  afterAll(async () => {
    if (Object.keys(loadTimes).length) {
      await writeFile(path.join(SCREENSHOT_DIR, 'load-times.json'), `${JSON.stringify({ runs: SEEDED_RUNS, evidence: SEEDED_EVIDENCE, milliseconds: loadTimes }, null, 2)}\n`);
    }
    await browser?.close();
    await stack?.close();
  });

  const screens: Array<[string, () => string]> = [
    ['connections', () => '#/connections'],
    ['fetchers', () => '#/fetchers'],
    ['fetcher-new', () => '#/fetchers/new'],
    ['fetcher', () => `#/fetchers/${fetcher.id}`],
    ['fetcher-edit', () => `#/fetchers/${fetcher.id}/edit`],
    ['runs', () => '#/runs'],
    ['run', () => `#/runs/${runId}`],
    ['evidence', () => '#/evidence'],
    ['evidence-item', () => `#/evidence/${evidenceId}`],
    ['controls', () => '#/controls'],
    ['control', () => '#/controls/pci-dss-v3.2.1:11.2'],
    ['requests', () => '#/requests'],
    ['request', () => `#/requests/${requestId}`],
    ['access', () => '#/access'],
  ];
  for (const [name, hash] of screens) {
    it(`shows the ${name} screen accessibly at 1280 and 400 px`, () => checkScreen(name, hash()));
  }

  const view = () => page.locator('#view');
  const press = (name: string) => view().getByRole('button', { name, exact: true }).click();
  // The auditor's parts of the evidence screen, drawn: the server's verification, the SLA report, the diff with the previous pull.
  it('shows the evidence screen with its verification, SLA report and diff accessibly at 1280 and 400 px', () =>
    checkScreen('evidence-audit', `#/evidence/${evidenceId}`, [
      { part: 'verification', show: () => press('Verify on the server') },
      { part: 'sla', show: () => press('Show SLA report') },
      { part: 'diff', show: () => press('Compare') },
    ]));

  it("shows a control's coverage for another period and a control with successors accessibly at 1280 and 400 px", async () => {
    await checkScreen('control-coverage', '#/controls/pci-dss-v3.2.1:11.2', [
      {
        part: 'coverage',
        show: async () => {
          await view().getByLabel('Cadence', { exact: true }).selectOption('monthly');
          await press('Show coverage');
        },
      },
    ]);
    await checkScreen('control-successors', '#/controls/pci-dss-v3.2.1:11.2.1');
  });

  it('signs in and moves between screens with the keyboard alone, focus always visible', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    // Start signed out, whatever key an earlier screen left in sessionStorage.
    await page.goto(`${stack.baseUrl}/console/`);
    await page.evaluate('sessionStorage.clear()');
    await page.reload();
    await page.locator('#api-key').waitFor();
    const focusedIs = (selector: string) => page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`);
    const outline = () => page.evaluate('(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2; })()');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'sign-in-1280');
    for (let i = 0; i < 5 && !(await focusedIs('#api-key')); i++) await page.keyboard.press('Tab');
    expect(await focusedIs('#api-key')).toBe(true);
    await page.keyboard.type(stack.adminToken);
    await page.keyboard.press('Enter');
    await page.locator('#view[data-ready="true"]').waitFor();
    expect(await focusedIs('#view h1')).toBe(true);
    await page.keyboard.press('Shift+Tab');
    const seen: string[] = [];
    for (let i = 0; i < 15 && !(await focusedIs('nav a[href="#/evidence"]')); i++) {
      expect(await outline(), `focus visible on ${await page.evaluate('document.activeElement.outerHTML.slice(0, 80)')}`).toBe(true);
      seen.push((await page.evaluate('document.activeElement.textContent')) as string);
      await page.keyboard.press('Shift+Tab');
    }
    expect(await focusedIs('nav a[href="#/evidence"]'), `reached by Shift+Tab through ${seen.join(' | ')}`).toBe(true);
    expect(await outline()).toBe(true);
    await page.locator('#view').evaluate((el) => el.removeAttribute('data-ready'));
    await page.keyboard.press('Enter');
    await page.locator('#view[data-ready="true"][data-screen="evidence"]').waitFor();
    expect(await focusedIs('#view h1')).toBe(true);
    await page.keyboard.press('Tab');
    expect(await focusedIs('#view a, #view button, #view [tabindex="0"]')).toBe(true);
    expect(await outline()).toBe(true);
  });

  it('shows an auditor only the auditor screens, and the API refuses the administrator actions to that key', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    // Forget the administrator's key (sessionStorage) before the page can restore it.
    await page.goto(`${stack.baseUrl}/console/`);
    await page.evaluate('sessionStorage.clear()');
    await signIn(page, stack.baseUrl, stack.auditorToken);
    try {
      expect(await page.locator('#who').innerText()).toBe('test-auditor (auditor)');
      expect(await page.locator('#view').getAttribute('data-screen')).toBe('fetchers');
      const visibleLinks = await page.locator('nav a:visible').allInnerTexts();
      expect(visibleLinks).toEqual(['Fetchers', 'Runs', 'Evidence', 'Controls', 'Audit requests']);
      expect(await page.getByRole('link', { name: '+ Add new fetcher' }).count()).toBe(0);

      for (const hash of ['#/connections', '#/access', '#/fetchers/new', `#/fetchers/${fetcher.id}/edit`]) {
        await openScreen(page, hash);
        expect(await page.locator('#view h1').innerText(), hash).toBe('For administrators');
      }
      await openScreen(page, `#/fetchers/${fetcher.id}`);
      const detail = page.locator('#view');
      expect(await detail.getByRole('button', { name: `Run now: ${fetcher.name}` }).isEnabled()).toBe(true);
      for (const name of ['Edit', 'Disable', 'Delete', 'Save controls', 'Save audit requests', 'Add schedule', 'Pause', 'Trigger now', 'Move to the current versions']) {
        expect(await detail.getByRole('button', { name, exact: true }).or(detail.getByRole('link', { name, exact: true })).count(), name).toBe(0);
      }
      expect(await detail.innerText()).toContain('PCI DSS v3.2.1 11.2');
      expect(await seriousAxeViolations(page)).toEqual([]);
      await screenshot(page, 'auditor-fetcher-1280');

      // Any key may file evidence by hand and export; closing a request is for administrators.
      await openScreen(page, `#/requests/${requestId}`);
      expect(await detail.getByRole('button', { name: 'File evidence' }).count()).toBe(1);
      expect(await detail.getByRole('button', { name: 'Export as zip' }).count()).toBe(1);
      expect(await detail.getByRole('button', { name: 'Close request' }).count()).toBe(0);
      expect(await seriousAxeViolations(page)).toEqual([]);

      const refusals = await Promise.all([
        stack.request('POST', '/v1/connections/check', { token: stack.auditorToken, body: { platform: 'US1', username: 'x', password: 'y' } }),
        stack.request('PUT', `/v1/fetchers/${fetcher.id}/controls`, { token: stack.auditorToken, body: { controlIds: [] } }),
        stack.request('GET', '/v1/api-keys', { token: stack.auditorToken }),
        stack.request('POST', `/v1/fetchers/${fetcher.id}/schedules`, { token: stack.auditorToken, body: { preset: 'weekly' } }),
      ]);
      for (const res of refusals) expect(res.body).toMatchObject({ status: 403, type: '/problems/forbidden' });
    } finally {
      await page.locator('#sign-out').click();
    }
  });

  it('has no CSP violation or script error on any screen', () => {
    expect(browser.errors).toEqual([]);
  });
});
