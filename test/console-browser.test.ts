/**
 * The console in a real headless Chromium (Debian's) against the real stack:
 * an auditor signs in, runs a PCI DSS 11.2 fetcher with one click (a double
 * click starts one run), watches it succeed, downloads the evidence (the saved
 * file's SHA-256 equals the evidence's), sees the control as fresh, and sees
 * why a run failed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FetcherRow } from '../db/schema.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps dialling Google, which this machine's closed network refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PCI_11_2 = 'pci-dss-v3.2.1:11.2';
const UI_TIMEOUT_MS = 25_000;

let stack: ApiStack;
let fetcher: FetcherRow;
/** A fetcher whose connection has a wrong password: its runs fail at the connection check. */
let failing: FetcherRow;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
/** Console errors and uncaught page errors: CSP violations show up here. */
const browserErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Debian's Chromium is missing at ${CHROMIUM}: install it with "apt-get install -y chromium" (.ci/run does this before the tests)`);
  }
  stack = await startApiStack({ simulator: { hosts: 60 } });
  const connection = await stack.run.addConnection({ name: 'Simulator for the console' });
  fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 25, controls: [['PCI DSS v3.2.1', '11.2']], name: `Console PCI ${randomUUID().slice(0, 8)}` });
  const wrongPassword = await stack.run.addConnection({ name: 'Wrong password', password: 'not-the-password' });
  failing = await stack.run.addHldFetcher(wrongPassword, {}, { name: `Console failing ${randomUUID().slice(0, 8)}` });
  userDataDir = await mkdtemp(path.join(os.tmpdir(), 'qec-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, acceptDownloads: true });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on('console', (message) => {
    if (message.type() === 'error') browserErrors.push(message.text());
  });
  page.on('pageerror', (error) => browserErrors.push(error.message));
});

afterAll(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await stack?.close();
});

const fetcherCard = (f: FetcherRow = fetcher) => page.locator(`article[data-fetcher-id="${f.id}"]`);

describe('the auditors console in a browser', () => {
  it('signs in with an auditor key kept in sessionStorage only', async () => {
    await page.goto(`${stack.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await page.getByLabel('API key').fill(stack.auditorToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => fetcherCard().count(), { timeout: UI_TIMEOUT_MS }).toBe(1);
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([stack.auditorToken]);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await context.cookies()).toEqual([]);
    const card = await fetcherCard().innerText();
    expect(card).toContain('Host List Detection');
    expect(card).toContain('Simulator for the console');
    expect(card).toContain('PCI DSS v3.2.1 11.2');
  });

  it('runs the fetcher once on a double click, follows it to success and downloads verified evidence', async () => {
    await fetcherCard().getByRole('button', { name: 'Run' }).dblclick();
    await fetcherCard().getByText('succeeded', { exact: true }).waitFor();

    const runs = await stack.request('GET', `/v1/runs?fetcherId=${fetcher.id}`, { token: stack.auditorToken });
    expect(runs.body.items).toHaveLength(1);
    const run = runs.body.items[0];
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'api', triggeredBy: 'test-auditor' });
    const evidence = (await stack.request('GET', `/v1/evidence/${run.evidenceId}`, { token: stack.auditorToken })).body;

    const card = fetcherCard();
    const cardText = await card.innerText();
    expect(cardText).toContain(`${run.progress.hosts} host(s), ${run.progress.detections} detection(s)`);
    expect(cardText).not.toMatch(/null|undefined|NaN/);
    expect(await card.locator('.evidence-result').innerText()).toContain('Filed under controls: PCI DSS v3.2.1 11.2');

    const downloading = page.waitForEvent('download');
    await card.getByRole('button', { name: 'Download' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe(evidence.filename);
    const saved = await readFile((await download.path())!);
    expect(createHash('sha256').update(saved).digest('hex')).toBe(evidence.sha256);
    expect(saved.length).toBe(evidence.bytes);
    await card.getByText(`verified SHA-256 ${evidence.sha256}`).waitFor();
  });

  it('shows PCI DSS 11.2 as fresh, with the new evidence, on the Controls screen', async () => {
    await page.getByRole('button', { name: 'Controls' }).click();
    const row = page.locator(`tr[data-control-id="${PCI_11_2}"]`);
    await row.waitFor();
    expect(await row.locator('.freshness .badge').innerText()).toBe('fresh');
    expect(await row.innerText()).toMatch(/due \S+/);
    expect(await page.getByRole('heading', { name: 'PCI DSS v3.2.1' }).count()).toBe(1);
  });

  it('lists the evidence with its controls and the run with its status', async () => {
    const run = (await stack.request('GET', `/v1/runs?fetcherId=${fetcher.id}`, { token: stack.auditorToken })).body.items[0];
    await page.getByRole('button', { name: 'Evidence' }).click();
    const evidenceRow = page.locator(`tr[data-evidence-id="${run.evidenceId}"]`);
    await evidenceRow.waitFor();
    expect(await evidenceRow.innerText()).toContain('PCI DSS v3.2.1 11.2');

    await page.getByRole('button', { name: 'Runs' }).click();
    const runRow = page.locator(`tr[data-run-id="${run.id}"]`);
    await runRow.waitFor();
    expect(await runRow.locator('.badge').innerText()).toBe('succeeded');
    expect(await runRow.innerText()).toContain(fetcher.name);
  });

  it("shows a failed run with the API's reason", async () => {
    await page.getByRole('button', { name: 'Fetchers' }).click();
    const card = fetcherCard(failing);
    await card.getByRole('button', { name: 'Run' }).click();
    await card.getByText('failed', { exact: true }).waitFor();
    const run = (await stack.request('GET', `/v1/runs?fetcherId=${failing.id}`, { token: stack.auditorToken })).body.items[0];
    expect(run.status).toBe('failed');
    expect(run.error.message).not.toBe('');
    expect(await card.locator('.run .problem').innerText()).toContain(`Failed: ${run.error.message}`);
    expect(await card.getByRole('button', { name: 'Download' }).count()).toBe(0);
    expect(await card.getByRole('button', { name: 'Run' }).isEnabled()).toBe(true);
  });

  it('broke no content-security rule and threw no error on the way', () => {
    expect(browserErrors).toEqual([]);
  });

  it('signs out, forgetting the key, and sends a refused key back to sign in with the reason', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await page.locator('.screen .content *').count()).toBe(0);

    await page.getByLabel('API key').fill('not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'the API key is unknown or revoked' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });
});
