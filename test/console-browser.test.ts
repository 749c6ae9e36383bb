/**
 * The product's flows in headless Chromium against the real API, worker,
 * Temporal and the Qualys simulator, by an administrator who never reads the
 * API: connect Qualys (a wrong password shows Qualys's reason), create a Host
 * List Detection fetcher with both pickers and every field and a custom
 * fetcher, map controls and an audit request, schedule it PCI quarterly, run
 * it and watch it to the end, verify and download the evidence, see the
 * control turn fresh, create an audit request, disconnect; API keys and
 * webhooks. Bad input in every form shows the field's error and stores
 * nothing. Each test sets up what it needs through the API, so each stands alone.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { blobKeyFor } from '../evidence/blob-key.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import { FAST_TUNING } from './support/run-stack.js';
import { chromiumUnavailable, fieldError, launchConsoleBrowser, openScreen, screenshot, signIn, UI_TIMEOUT_MS, type ConsoleBrowser } from './support/console-browser.js';
import { describeWhenAvailable } from './support/unavailable.js';
import { unzipTo } from './support/unzip.js';

const PCI_11_2 = 'pci-dss-v3.2.1:11.2';

let stack: ApiStack;
let browser: ConsoleBrowser;
let page: Page;

const count = async (path: string) => (await stack.request('GET', path)).body.items.length as number;
const view = () => page.locator('#view');
const byLabel = (label: string) => view().getByLabel(label, { exact: true });
const group = (legend: string) => view().getByRole('group', { name: legend });
/** The fields of the fetcher form's tab on show. */
const inTab = (label: string) => view().locator('[role="tabpanel"]:not([hidden])').getByLabel(label, { exact: true });

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The bytes the browser saved for a download started by `click`. */
async function downloaded(click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const downloading = page.waitForEvent('download');
  await click();
  const download = await downloading;
  return { name: download.suggestedFilename(), bytes: await readFile((await download.path())!) };
}

interface CatalogControl {
  id: string;
  framework: string;
  code: string;
  succeeds: string | null;
}
const catalog = async () => (await stack.request('GET', '/v1/controls')).body.items as CatalogControl[];

async function newConnection(name = `Simulator ${Math.random().toString(36).slice(2, 7)}`) {
  return stack.run.addConnection({ name });
}

describeWhenAvailable('the console in Chromium: every flow of the product', chromiumUnavailable, () => {
  beforeAll(async () => {
    // The console adds a webhook on loopback, which only an allow-listed range may be.
    stack = await startApiStack({ simulator: { hosts: 60 }, webhookAllowedCidrs: ['127.0.0.1/32'] });
    browser = await launchConsoleBrowser();
    page = browser.page;
    await signIn(page, stack.baseUrl, stack.adminToken);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  beforeEach(() => {
    // Each test names its own dialogs; none may be left open by another.
    page.removeAllListeners('dialog');
  });

  it("connects Qualys: bad input and a wrong password show the field's error or Qualys's reason and store nothing; the right one is checked, then saved", async () => {
    await openScreen(page, '#/connections');
    const before = await count('/v1/connections?limit=100');
    const form = view().locator('#connect-form');
    if (!(await form.isVisible())) await view().getByText('Connect Qualys').click();
    expect(await form.locator('.note').first().innerText()).toContain('"Scanner" role or higher');

    await form.getByRole('button', { name: 'Next: save the connection' }).click();
    await expect.poll(() => fieldError(byLabel('Connection name'))).toBe('must not be empty');
    expect(await fieldError(byLabel('Qualys username'))).toBe('must not be empty');
    expect(await fieldError(byLabel('Qualys password'))).toBe('must not be empty');

    await byLabel('Connection name').fill('Simulator from the console');
    await byLabel('Qualys platform').selectOption('private');
    await expect.poll(() => form.locator('.note', { hasText: 'allow-list' }).isVisible()).toBe(true);
    await byLabel('Qualys API server URL').fill('http://qualys.example.com');
    await byLabel('Qualys username').fill('demo');
    await byLabel('Qualys password').fill('not-the-password');
    await form.getByRole('button', { name: 'Check connection' }).click();
    await expect.poll(() => fieldError(byLabel('Qualys API server URL'))).toContain('plain http:// is only allowed for loopback hosts');

    await byLabel('Qualys API server URL').fill(stack.run.sim.url);
    await form.getByRole('button', { name: 'Check connection' }).click();
    const refusal = form.getByRole('alert');
    await expect.poll(() => refusal.innerText()).toContain('Qualys code 2000: Bad Login/Password');
    await form.getByRole('button', { name: 'Next: save the connection' }).click();
    await expect.poll(() => refusal.innerText()).toContain('Bad Login/Password');
    expect(await count('/v1/connections?limit=100')).toBe(before);
    await screenshot(page, 'flow-connect-refused');

    await byLabel('Qualys password').fill('demo-pass');
    await form.getByRole('button', { name: 'Check connection' }).click();
    await expect.poll(() => form.locator('.check-result').innerText()).toContain(`Qualys accepted demo on ${stack.run.sim.url} (API 5.0). Nothing is saved yet.`);
    expect(await count('/v1/connections?limit=100')).toBe(before);
    await form.getByRole('button', { name: 'Next: save the connection' }).click();
    const card = view().locator('article', { hasText: 'Simulator from the console' });
    await card.waitFor();
    expect(await card.locator('.badge').innerText()).toBe('valid');
    expect(await card.innerText()).toContain('calls per');
    const saved = (await stack.request('GET', '/v1/connections?limit=100')).body.items.find((c: { name: string }) => c.name === 'Simulator from the console');
    expect(saved).toMatchObject({ status: 'valid', apiBaseUrl: stack.run.sim.url, username: 'demo', platform: null });
    // The call budget in use now, as GET /v1/connections/{id}/limits reports it.
    const budget = (await stack.request('GET', `/v1/connections/${saved.id}/limits`)).body;
    await expect.poll(() => card.locator('.budget').innerText()).toContain('Call budget now');
    const shown = await card.locator('.budget').innerText();
    expect(shown).toMatch(new RegExp(`Calls running\\s+${budget.concurrency.inUse} of ${budget.concurrency.slots} slot`));
    expect(shown).toMatch(new RegExp(`Waiting for a slot\\s+${budget.concurrency.waiting}\\b`));
  });

  it('creates a Host List Detection fetcher with both pickers and every field; each bad field shows its error and nothing is stored', async () => {
    const connection = await newConnection();
    const groups = (await stack.request('GET', `/v1/connections/${connection.id}/asset-groups`)).body.items as Array<{ id: number; title: string }>;
    const lists = (await stack.request('GET', `/v1/connections/${connection.id}/search-lists`)).body.items as Array<{ id: number; title: string }>;
    await openScreen(page, `#/fetchers/new?connection=${connection.id}`);
    const pickers = group('Asset groups');
    await pickers.waitFor();
    expect(await view().getByRole('tab', { name: 'Host List Detection' }).getAttribute('aria-selected')).toBe('true');
    // Titles such as "<Legacy> Windows Servers" arrive as text, never as markup.
    await pickers.getByLabel('Filter asset groups').fill('legacy');
    await pickers.getByLabel(groups[4]!.title, { exact: false }).first().check();
    await pickers.getByLabel('Filter asset groups').fill('');
    await pickers.getByLabel(groups[0]!.title, { exact: false }).first().check();
    await expect.poll(() => pickers.getByText('2 selected').count()).toBe(1);
    await byLabel('Dynamic search list').selectOption(String(lists[0]!.id));
    await group('Format').getByLabel('CSV').check();
    expect(await group('Vulnerability status').getByLabel('Fixed').isChecked()).toBe(false);
    await group('Vulnerability status').getByLabel('Fixed').check();
    await group('Severities').getByLabel('5 (urgent)').check();
    await group('Severities').getByLabel('4 (critical)').check();
    // Every option works on API 5.0; the hint says how option 4 is done there.
    expect(await byLabel('Running kernels').locator('option[value="4"]').isDisabled()).toBe(false);
    await expect.poll(() => page.getByText(/option 4 the connector keeps only the kernel-related detections/).count()).toBe(1);
    await byLabel('Running kernels').selectOption('1');
    await byLabel('Name').fill('PCI scope from the console');
    await byLabel('IP addresses').fill('10.0.0.1, 10.0.0.5-10.0.0.300');
    await byLabel('Max days since last scanned').fill('ninety');
    await byLabel('Page size').fill('0');
    const json = inTab('Parameters (JSON)');
    await json.fill('{"show_igs": ');
    await expect.poll(() => view().locator('.json-status').first().innerText()).toContain('Not yet valid');
    await view().getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => fieldError(json)).toContain('not valid JSON');

    await json.fill('{"show_igs": 1}');
    await expect.poll(() => view().locator('.json-status').first().innerText()).toBe('Valid JSON: 1 parameter.');
    await view().getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => fieldError(byLabel('IP addresses'))).toContain('10.0.0.5-10.0.0.300');
    expect(await fieldError(byLabel('Max days since last scanned'))).toBe('must be a number of days');
    expect(await fieldError(byLabel('Page size'))).toBe('must be from 1 to 1000000 hosts');
    expect(await count(`/v1/fetchers?connectionId=${connection.id}`)).toBe(0);
    await screenshot(page, 'flow-fetcher-field-errors');

    await byLabel('IP addresses').fill('10.0.0.1, 10.0.0.5-10.0.0.200');
    await byLabel('Max days since last scanned').fill('90');
    await byLabel('Page size').fill('25');
    await json.fill('{"no_such_parameter": 1}');
    await view().getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => fieldError(json)).toContain('"no_such_parameter" is not a Host List Detection parameter');
    expect(await count(`/v1/fetchers?connectionId=${connection.id}`)).toBe(0);

    await json.fill('{"show_igs": 1}');
    await view().getByRole('button', { name: 'Create' }).click();
    await view().getByRole('heading', { name: 'PCI scope from the console', level: 1 }).waitFor();
    const [created] = (await stack.request('GET', `/v1/fetchers?connectionId=${connection.id}`)).body.items;
    expect(created).toMatchObject({
      kind: 'host_list_detection',
      name: 'PCI scope from the console',
      format: 'CSV',
      pageSize: 25,
      filters: {
        assetGroupIds: [groups[0]!.id, groups[4]!.id],
        searchListId: lists[0]!.id,
        format: 'CSV',
        statuses: ['New', 'Active', 'Re-Opened', 'Fixed'],
        severities: [5, 4],
        runningKernelFilter: 1,
        ips: '10.0.0.1, 10.0.0.5-10.0.0.200',
        maxDaysSinceLastScan: 90,
        extraParams: { show_igs: 1 },
      },
    });
    // The detail screen shows exactly what Qualys will receive, as the API computed it.
    expect(created.qualysParams.ag_ids).toBe([groups[0]!.id, groups[4]!.id].sort((a, b) => a - b).join(','));
    expect(await view().locator('pre', { hasText: '"action"' }).innerText()).toBe(JSON.stringify(created.qualysParams, null, 2));
  });

  it('creates a custom fetcher from its tab, reached with the arrow key; a URL as endpoint is refused beside the field', async () => {
    const connection = await newConnection();
    await openScreen(page, `#/fetchers/new?connection=${connection.id}`);
    await view().getByRole('tab', { name: 'Host List Detection' }).focus();
    await page.keyboard.press('ArrowRight');
    const custom = view().getByRole('tab', { name: 'Custom' });
    expect(await custom.getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Custom');
    await byLabel('Name').fill('Asset groups, as Qualys lists them');
    await byLabel('Method').selectOption('GET');
    await byLabel('Endpoint').fill('https://evil.example.com/api/2.0/fo/asset/group/');
    await inTab('Parameters (JSON)').fill('{"action": "list"}');
    await view().getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => fieldError(byLabel('Endpoint'))).not.toBe('');
    expect(await count(`/v1/fetchers?connectionId=${connection.id}`)).toBe(0);
    await screenshot(page, 'flow-custom-error');

    await byLabel('Endpoint').fill('/api/2.0/fo/asset/group/');
    await view().getByRole('button', { name: 'Create' }).click();
    await view().getByRole('heading', { name: 'Asset groups, as Qualys lists them', level: 1 }).waitFor();
    const [created] = (await stack.request('GET', `/v1/fetchers?connectionId=${connection.id}`)).body.items;
    expect(created).toMatchObject({ kind: 'custom', format: 'RAW', request: { method: 'GET', endpoint: '/api/2.0/fo/asset/group/', params: { action: 'list' } } });
  });

  it('maps controls and an audit request, adds a PCI quarterly schedule with its time zone and next runs, pauses and resumes it', async () => {
    const connection = await newConnection();
    const fetcher = await stack.run.addHldFetcher(connection, {}, { name: 'To be mapped' });
    const request = (await stack.request('POST', '/v1/requests', { body: { title: 'PCI 2026 Q4 scans', periodStart: '2026-10-01', periodEnd: '2026-12-31' } })).body;
    await openScreen(page, `#/fetchers/${fetcher.id}`);
    const controls = group('Controls this fetcher provides evidence for');
    await controls.getByLabel('Search controls').fill('11.2 ');
    await controls.locator(`input[value="${PCI_11_2}"]`).check();
    await controls.getByLabel('Search controls').fill('RA-5');
    await controls.locator('input[value="fedramp-moderate:ra-5"]').check();
    await view().getByRole('button', { name: 'Save controls' }).click();
    await expect.poll(async () => (await stack.request('GET', `/v1/fetchers/${fetcher.id}`)).body.controls.map((c: { id: string }) => c.id).sort()).toEqual(['fedramp-moderate:ra-5', PCI_11_2]);
    await view().getByRole('link', { name: 'PCI DSS v3.2.1 11.2' }).waitFor();

    // FedRAMP Moderate RA-5 has a successor in the current version: one click moves the fetcher to it.
    const successor = (await catalog()).find((c) => c.succeeds === 'fedramp-moderate:ra-5')!;
    const upgrade = view().locator('.upgrade');
    expect(await upgrade.innerText()).toContain(`FedRAMP Moderate RA-5 → ${successor.framework} ${successor.code}`);
    await upgrade.getByRole('button', { name: 'Move to the current versions' }).click();
    await expect.poll(async () => (await stack.request('GET', `/v1/fetchers/${fetcher.id}`)).body.controls.map((c: { id: string }) => c.id).sort()).toEqual([successor.id, PCI_11_2].sort());
    await view().getByRole('listitem').getByRole('link', { name: `${successor.framework} ${successor.code}` }).waitFor();
    expect(await view().locator('.upgrade').count()).toBe(0);

    await group('Audit requests this fetcher provides evidence for').getByLabel('PCI 2026 Q4 scans', { exact: false }).check();
    await view().getByRole('button', { name: 'Save audit requests' }).click();
    await view().getByRole('link', { name: 'PCI 2026 Q4 scans' }).waitFor();
    expect((await stack.request('GET', `/v1/fetchers/${fetcher.id}`)).body.requestIds).toEqual([request.id]);

    await byLabel('Preset').selectOption('pci-quarterly');
    await byLabel('Time zone').fill('Mars/Olympus_Mons');
    await view().getByRole('button', { name: 'Add schedule' }).click();
    await expect.poll(() => fieldError(byLabel('Time zone'))).toContain('must be an IANA time zone name');
    expect(await count(`/v1/fetchers/${fetcher.id}/schedules`)).toBe(0);

    await byLabel('Time zone').fill('Europe/Berlin');
    await view().getByRole('button', { name: 'Add schedule' }).click();
    const card = view().locator('article[data-schedule-id]');
    await card.waitFor();
    const text = await card.innerText();
    expect(text).toContain('PCI quarterly');
    expect(text).toContain('Europe/Berlin');
    expect(await card.locator('.times li').count()).toBeGreaterThanOrEqual(4);
    await screenshot(page, 'flow-fetcher-mapped-scheduled');
    await card.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => view().locator('article[data-schedule-id] .badge').innerText()).toBe('paused');
    await view().locator('article[data-schedule-id]').getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => view().locator('article[data-schedule-id] .badge').innerText()).toBe('active');
  });

  it('runs a fetcher, follows its progress to the end, verifies and downloads the evidence, and the control turns fresh', async () => {
    const connection = await newConnection();
    const fetcher = await stack.run.addHldFetcher(connection, {}, { name: 'Quarterly PCI scan', pageSize: 20, controls: [['PCI DSS v3.2.1', '11.2']] });
    await openScreen(page, `#/fetchers/${fetcher.id}`);
    await view().getByRole('button', { name: 'Run now' }).dblclick();
    await page.waitForURL(/#\/runs\//);
    await page.locator('#view[data-ready="true"]').waitFor();
    await expect.poll(() => view().locator('.run-status').innerText(), { timeout: UI_TIMEOUT_MS }).toContain('succeeded');
    const runs = (await stack.request('GET', `/v1/runs?fetcherId=${fetcher.id}`)).body.items;
    expect(runs).toHaveLength(1);
    const run = runs[0];
    expect(run).toMatchObject({ status: 'succeeded', triggeredBy: 'test-admin' });
    const facts = await view().locator('.counts').innerText();
    expect(facts).toMatch(new RegExp(`Pages\\s+${run.progress.pages}\\b`));
    expect(facts).toMatch(new RegExp(`Hosts\\s+${run.progress.hosts}\\b`));
    expect(await view().getByRole('link', { name: 'Open this run in the Temporal UI' }).getAttribute('href')).toBe(run.links.temporalUi);
    await screenshot(page, 'flow-run-succeeded');

    const evidence = (await stack.request('GET', `/v1/evidence/${run.evidenceId}`)).body;
    await view().getByRole('link', { name: evidence.filename }).click();
    await page.locator('#view[data-ready="true"][data-screen="evidence-item"]').waitFor();
    await view().getByRole('button', { name: 'Verify in this browser' }).click();
    await expect.poll(() => view().locator('.verdict.browser').innerText()).toContain(`all ${run.progress.pages} raw page(s) match the SHA-256 hashes in the manifest`);
    const downloading = page.waitForEvent('download');
    await view().getByRole('button', { name: `Download ${evidence.filename}`, exact: true }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe(evidence.filename);
    const saved = await readFile((await download.path())!);
    expect(createHash('sha256').update(saved).digest('hex')).toBe(evidence.sha256);
    await view().getByText(`verified SHA-256 ${evidence.sha256}`).waitFor();
    expect(await view().locator('figure.severity-chart svg rect').count()).toBeGreaterThan(0);
    await screenshot(page, 'flow-evidence');

    await openScreen(page, '#/controls');
    const row = view().locator(`tr[data-control-id="${PCI_11_2}"]`);
    expect(await row.locator('.badge').innerText()).toBe('fresh');
    expect(await row.innerText()).toMatch(/due \S+/);
  });

  it('verifies evidence on the server and shows its completeness, chain of custody, SLA report and the diff with the previous pull', async () => {
    const connection = await newConnection();
    const fetcher = await stack.run.addHldFetcher(connection, { severities: [5] }, { name: 'Critical first, then wider', pageSize: 25 });
    await stack.run.runToEnd(fetcher);
    expect((await stack.request('PATCH', `/v1/fetchers/${fetcher.id}`, { body: { filters: { severities: [4, 5] } } })).status).toBe(200);
    // A gateway that cuts off pages of more than 12 hosts: pages fail, and are asked for again with fewer hosts.
    stack.run.sim.configure({ faults: { maxHostsPerPage: 12 } });
    try {
      await stack.run.runToEnd(fetcher, { ...FAST_TUNING, pageMaxAttempts: 2, pageAttemptsPerHalving: 1, pageRetryInitialMs: 50 });
    } finally {
      stack.run.sim.reset();
    }
    const [newer, older] = (await stack.request('GET', `/v1/evidence?fetcherId=${fetcher.id}`)).body.items;
    const evidence = (await stack.request('GET', `/v1/evidence/${newer.id}`)).body;
    await openScreen(page, `#/evidence/${newer.id}`);
    const region = (name: string) => view().getByRole('region', { name, exact: true });

    await view().getByRole('button', { name: 'Verify on the server' }).click();
    const verdict = view().locator('.verdict.server');
    const report = (await stack.request('GET', `/v1/evidence/${newer.id}/verification`)).body;
    expect(report.verdict).toBe('verified');
    // All passed: the checks are one click away.
    await verdict.getByText(`The ${report.checks.length} checks, each with its detail`).click();
    await verdict.locator('table.checks').waitFor();
    expect(await verdict.locator('.badge').first().innerText()).toBe('verified');
    expect(await verdict.innerText()).toContain(`${report.checks.length} of ${report.checks.length} checks passed`);
    expect(await verdict.locator('tr[data-check]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-check')))).toEqual(report.checks.map((c: { name: string }) => c.name));

    const completeness = evidence.manifest.completeness;
    expect(completeness.verdict).toBe('complete');
    const complete = region('Completeness');
    expect(await complete.locator('.badge').first().innerText()).toBe('complete');
    const completeText = await complete.innerText();
    expect(completeText).toMatch(new RegExp(`Listed by Qualys\\s+${completeness.reconciliation.listed}\\b`));
    expect(completeText).toMatch(new RegExp(`Listed, not in the evidence\\s+${completeness.reconciliation.absent}\\b`));

    const custodyPart = region('Chain of custody');
    const custody = await custodyPart.innerText();
    const { workers, retries, pageSizeChanges } = evidence.manifest.custody;
    expect(custody).toContain(workers[0]);
    expect(custody).toMatch(/Backfill\s+no/);
    expect(custody).toContain(`${stack.run.sim.url}, API 5.0`);
    // Every failed attempt with its cause, every page asked for again with fewer hosts.
    expect(retries.length).toBeGreaterThan(0);
    const attempts = custodyPart.getByRole('region', { name: 'Failed attempts' }).locator('tbody tr');
    expect(await attempts.count()).toBe(retries.length);
    expect(await attempts.first().innerText()).toContain(`${retries[0].errorType}: ${retries[0].message}`);
    expect(pageSizeChanges.length).toBeGreaterThan(0);
    const smaller = custodyPart.getByRole('region', { name: 'Pages asked for again with fewer hosts' }).locator('tbody tr');
    expect(await smaller.count()).toBe(pageSizeChanges.length);
    expect((await smaller.first().locator('td').allInnerTexts()).slice(2, 4)).toEqual([String(pageSizeChanges[0].truncationLimit), '25']);
    expect(evidence.manifest.ranges.length).toBeGreaterThan(1);
    expect(await region('Manifest').innerText()).toContain(`Host ID ranges (${evidence.manifest.ranges.length}, pulled in parallel)`);

    // The SLA report: a date that is not a date and a policy that is not JSON are refused beside their fields.
    const sla = region('SLA report');
    const asOf = sla.getByLabel('As of', { exact: true });
    await asOf.fill('');
    await asOf.focus();
    await page.keyboard.type('02302026');
    await sla.getByRole('button', { name: 'Show SLA report' }).click();
    await expect.poll(() => fieldError(asOf)).toBe('must be a date like 2026-03-31');
    const day = evidence.collectedAt.slice(0, 10);
    await asOf.fill(day);
    await sla.getByLabel('Policy', { exact: true }).selectOption('custom');
    await sla.getByLabel('Policy (JSON)').fill('{"days": ');
    await sla.getByRole('button', { name: 'Show SLA report' }).click();
    await expect.poll(() => fieldError(sla.getByLabel('Policy (JSON)'))).toContain('not JSON');
    expect(await sla.locator('.sla-report').count()).toBe(0);

    await sla.getByLabel('Policy', { exact: true }).selectOption('fedramp');
    await sla.getByRole('button', { name: 'Show SLA report' }).click();
    await sla.locator('.sla-report').waitFor();
    const slaReport = (await stack.request('GET', `/v1/evidence/${newer.id}/sla?asOf=${day}&policy=fedramp`)).body;
    const slaText = await sla.locator('.sla-report').innerText();
    expect(slaText).toContain(`${slaReport.withinSlaPercent}% within SLA as of the end of ${day} (UTC), policy fedramp`);
    expect(slaText).toContain('The fetcher did not ask for Fixed detections');
    expect(slaText).toContain(`Exceptions (${slaReport.exceptions.length})`);
    const total = slaReport.counts.total;
    expect(await sla.locator('table.sla-counts tbody tr').last().locator('td').allInnerTexts()).toEqual(
      [total['on-time'], total['fixed-late'], total.overdue, total['open-within-sla'], total['on-time'] + total['fixed-late'] + total.overdue + total['open-within-sla']].map(String),
    );
    const slaCsv = await downloaded(() => sla.getByRole('button', { name: 'Download the SLA report as CSV' }).click());
    expect(slaCsv.name).toBe(`sla-${newer.id}-${day}.csv`);
    expect(slaCsv.bytes.toString('utf8')).toBe((await stack.request('GET', `/v1/evidence/${newer.id}/sla?asOf=${day}&policy=fedramp&format=csv`)).text);

    // The diff with the previous pull of the same fetcher, which asked for severity 5 only.
    const changes = region('Changes since another pull');
    const other = changes.getByLabel('Compare with');
    expect(await other.inputValue()).toBe(older.id);
    expect(await other.locator('option:checked').innerText()).toContain('(the previous pull)');
    await changes.getByRole('button', { name: 'Compare' }).click();
    await changes.locator('table.diff-counts').waitFor();
    const diff = (await stack.request('GET', `/v1/evidence/${older.id}/diff/${newer.id}`)).body;
    expect(diff.detections.new.total).toBeGreaterThan(0);
    for (const change of ['new', 'still-open', 'fixed']) {
      expect(await changes.locator(`tr[data-change="${change}"] td`).allInnerTexts(), change).toEqual(
        [diff.detections[change].total, ...['5', '4', '3', '2', '1'].map((s) => diff.detections[change].bySeverity[s] ?? 0)].map(String),
      );
    }
    expect(await changes.innerText()).toContain("The fetcher's filters changed between the two pulls");
    const diffCsv = await downloaded(() => changes.getByRole('button', { name: 'Download the changed detections as CSV' }).click());
    expect(diffCsv.bytes.toString('utf8')).toBe((await stack.request('GET', `/v1/evidence/${older.id}/diff/${newer.id}?format=csv`)).text);
    await screenshot(page, 'flow-evidence-audit');
  });

  it("shows a control's coverage for a period (a period ending before it starts is refused), and taking its evidence off and filing it again by hand turns the quarter missing and covered", async () => {
    const control = (await catalog()).find((c) => c.framework === 'PCI DSS v4.0.1' && c.code === '11.3.2')!;
    const connection = await newConnection();
    const fetcher = await stack.run.addHldFetcher(connection, { severities: [5] }, { name: 'Quarterly internal scan', pageSize: 30, controls: [['PCI DSS v4.0.1', '11.3.2']] });
    await stack.run.runToEnd(fetcher);
    const [evidence] = (await stack.request('GET', `/v1/evidence?fetcherId=${fetcher.id}`)).body.items;
    const year = evidence.collectedAt.slice(0, 4);
    const quarter = `${year}-Q${Math.ceil(Number(evidence.collectedAt.slice(5, 7)) / 3)}`;
    await openScreen(page, `#/controls/${control.id}`);
    const coverage = view().getByRole('region', { name: 'Coverage', exact: true });
    const windows = () => coverage.locator('tr[data-window]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-window'), r.querySelector('.badge')?.textContent]));
    const api = (await stack.request('GET', `/v1/controls/${control.id}/coverage?from=${year}-01-01&to=${year}-12-31`)).body;
    expect(await windows()).toEqual(api.windows.map((w: { label: string; status: string }) => [w.label, w.status]));
    expect(await windows()).toContainEqual([quarter, 'covered']);
    expect(await coverage.innerText()).toContain(`without complete evidence: ${api.windowsWithoutCompleteEvidence.join(', ')}`);

    const from = coverage.getByLabel('From', { exact: true });
    const to = coverage.getByLabel('To', { exact: true });
    await from.fill(`${year}-12-31`);
    await to.fill(`${year}-01-01`);
    await coverage.getByRole('button', { name: 'Show coverage' }).click();
    await expect.poll(() => fieldError(to)).toBe('must not be before from');
    expect(await coverage.locator('tr[data-window]').count()).toBe(0);
    await from.fill(`${year}-01-01`);
    await to.fill(`${year}-12-31`);

    const filed = view().locator(`table.attached tr[data-evidence-id="${evidence.id}"]`);
    await filed.getByRole('button', { name: `Take off ${evidence.filename}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason (optional)').fill('wrong scope');
    await dialog.getByRole('button', { name: 'Take off' }).click();
    await expect.poll(() => filed.count()).toBe(0);
    const events = view().locator('table.events tbody tr');
    await expect.poll(async () => (await events.first().innerText()).replace(/\s+/g, ' ')).toMatch(/taken off .* test-admin wrong scope$/);
    await coverage.getByRole('button', { name: 'Show coverage' }).click();
    await expect.poll(windows).toContainEqual([quarter, 'missing']);

    const picker = view().getByLabel('Evidence file', { exact: true });
    await view().getByRole('button', { name: 'File evidence' }).click();
    await expect.poll(() => fieldError(picker)).toBe('choose the evidence to file');
    expect(await count(`/v1/controls/${control.id}/attachment-events`)).toBe(2);
    await picker.selectOption(evidence.id);
    await view().getByRole('button', { name: 'File evidence' }).click();
    await filed.waitFor();
    await expect.poll(async () => (await events.first().innerText()).replace(/\s+/g, ' ')).toMatch(/filed .* test-admin —$/);
    await coverage.getByRole('button', { name: 'Show coverage' }).click();
    await expect.poll(windows).toContainEqual([quarter, 'covered']);
    const history = (await stack.request('GET', `/v1/controls/${control.id}/attachment-events`)).body.items;
    expect(history.map((e: { action: string; source: string; actor: string; reason: string | null }) => [e.action, e.source, e.reason])).toEqual([
      ['attach', 'api', null],
      ['detach', 'api', 'wrong scope'],
      ['attach', 'run', null],
    ]);
    await screenshot(page, 'flow-control-coverage');
  });

  it('files evidence on a request by hand and takes it off, with the events; evidence from outside the period is refused; exports the request as a zip holding the evidence with its SHA-256', async () => {
    const connection = await newConnection();
    const fetcher = await stack.run.addHldFetcher(connection, { severities: [5] }, { name: 'For the auditor', pageSize: 30 });
    await stack.run.runToEnd(fetcher);
    const [evidence] = (await stack.request('GET', `/v1/evidence?fetcherId=${fetcher.id}`)).body.items;
    const year = evidence.collectedAt.slice(0, 4);

    const past = (await stack.request('POST', '/v1/requests', { body: { title: 'SOC 2 2020', periodStart: '2020-01-01', periodEnd: '2020-12-31' } })).body;
    await openScreen(page, `#/requests/${past.id}`);
    await byLabel('Evidence file').selectOption(evidence.id);
    await view().getByRole('button', { name: 'File evidence' }).click();
    await expect.poll(() => fieldError(byLabel('Evidence file'))).toContain("outside the request's period 2020-01-01 to 2020-12-31");
    expect(await count(`/v1/requests/${past.id}/attachment-events`)).toBe(0);
    expect(await count(`/v1/requests/${past.id}/evidence`)).toBe(0);

    const request = (await stack.request('POST', '/v1/requests', { body: { title: `SOC 2 ${year}: filed by hand`, periodStart: `${year}-01-01`, periodEnd: `${year}-12-31` } })).body;
    await openScreen(page, `#/requests/${request.id}`);
    const filed = view().locator(`table.attached tr[data-evidence-id="${evidence.id}"]`);
    const events = view().locator('table.events tbody tr');
    const latestEvent = async () => (await events.first().innerText()).replace(/\s+/g, ' ');
    await byLabel('Evidence file').selectOption(evidence.id);
    await byLabel('Reason (optional)').fill('asked by the QSA');
    await view().getByRole('button', { name: 'File evidence' }).click();
    await filed.waitFor();
    await expect.poll(latestEvent).toMatch(new RegExp(`filed ${evidence.filename} test-admin asked by the QSA$`));

    await filed.getByRole('button', { name: `Take off ${evidence.filename}` }).click();
    await page.getByRole('dialog').getByLabel('Reason (optional)').fill('wrong scope');
    await page.getByRole('dialog').getByRole('button', { name: 'Take off' }).click();
    await expect.poll(() => filed.count()).toBe(0);
    await expect.poll(latestEvent).toMatch(new RegExp(`taken off ${evidence.filename} test-admin wrong scope$`));
    expect(await events.count()).toBe(2);

    await byLabel('Evidence file').selectOption(evidence.id);
    await view().getByRole('button', { name: 'File evidence' }).click();
    await filed.waitFor();
    await expect.poll(() => events.count()).toBe(3);
    const history = (await stack.request('GET', `/v1/requests/${request.id}/attachment-events`)).body.items;
    expect(history.map((e: { action: string; actor: string; reason: string | null }) => [e.action, e.actor, e.reason])).toEqual([
      ['attach', 'test-admin', null],
      ['detach', 'test-admin', 'wrong scope'],
      ['attach', 'test-admin', 'asked by the QSA'],
    ]);
    await screenshot(page, 'flow-request-filed-by-hand');

    // Export: the zip holds the file with the SHA-256 the API reports, verified, with its raw pages unless left out.
    await expect.poll(() => view().getByRole('region', { name: 'Export', exact: true }).innerText()).toContain('One zip of the 1 file(s) filed here');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'qec-export-'));
    try {
      const zip = await downloaded(() => view().getByRole('button', { name: 'Export as zip' }).click());
      expect(zip.name).toMatch(/^evidence-soc-2-\d{4}-filed-by-hand-\d{4}-\d{2}-\d{2}\.zip$/);
      await view().getByText(`Saved ${zip.name}`).waitFor();
      const names = await unzipTo(zip.bytes, path.join(dir, 'with-pages'));
      const index = JSON.parse(await readFile(path.join(dir, 'with-pages', 'index.json'), 'utf8'));
      expect(index.evidence).toHaveLength(1);
      const [record] = index.evidence;
      expect(record).toMatchObject({ id: evidence.id, verification: 'verified', completeness: evidence.completeness, file: { path: `${evidence.id}/${evidence.filename}`, sha256: evidence.sha256 } });
      expect(sha256(await readFile(path.join(dir, 'with-pages', record.file.path)))).toBe(evidence.sha256);
      expect(record.pages.length).toBeGreaterThan(0);
      for (const p of record.pages) expect(sha256(await readFile(path.join(dir, 'with-pages', p.path))), p.path).toBe(p.sha256);
      expect(names).toEqual(expect.arrayContaining(['README.txt', 'index.json', `${evidence.id}/manifest.json`]));

      await view().getByLabel('The raw Qualys pages of each file (pages/)').uncheck();
      const bare = await downloaded(() => view().getByRole('button', { name: 'Export as zip' }).click());
      const bareNames = await unzipTo(bare.bytes, path.join(dir, 'without-pages'));
      expect(bareNames.filter((n) => n.includes('/pages/'))).toEqual([]);
      expect(sha256(await readFile(path.join(dir, 'without-pages', record.file.path)))).toBe(evidence.sha256);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('streams a large download into a file and commits it only when the SHA-256 matches; a damaged file is never saved', async () => {
    const connection = await newConnection();
    const fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 30 });
    const { run } = await stack.run.runToEnd(fetcher);
    const evidence = (await stack.request('GET', `/v1/evidence/${(await stack.request('GET', `/v1/runs/${run.id}`)).body.evidenceId}`)).body;
    await openScreen(page, `#/evidence/${evidence.id}`);
    // The browser's own private file system stands in for the save dialog a headless browser cannot show.
    const streamed = async () =>
      page.evaluate(`(async () => {
        const { streamToWritable } = await import('/console/download.js');
        const { send } = await import('/console/api.js');
        const dir = await navigator.storage.getDirectory();
        const handle = await dir.getFileHandle('evidence.bin', { create: true });
        let outcome;
        try {
          outcome = await streamToWritable(await send('GET', '/v1/evidence/${evidence.id}/content'), await handle.createWritable(), '${evidence.sha256}');
        } catch (err) {
          outcome = { error: err.message };
        }
        const file = await handle.getFile();
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
        await dir.removeEntry('evidence.bin');
        return { outcome, size: file.size, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
      })()`);
    const good = (await streamed()) as { outcome: { sha256: string; bytes: number }; size: number; sha256: string };
    expect(good.outcome).toMatchObject({ sha256: evidence.sha256, bytes: evidence.bytes });
    expect(good).toMatchObject({ size: evidence.bytes, sha256: evidence.sha256 });

    const file = path.join(stack.run.blobDir, ...blobKeyFor(evidence.sha256).split('/'));
    const original = await readFile(file);
    try {
      const damaged = Buffer.from(original);
      damaged[Math.floor(damaged.length / 2)] ^= 0xff;
      await writeFile(file, damaged);
      const bad = (await streamed()) as { outcome: { error: string }; size: number };
      expect(bad.outcome.error).toContain('the file arrived damaged');
      expect(bad.size).toBe(0);

      let downloads = 0;
      page.on('download', () => downloads++);
      await view().getByRole('button', { name: `Download ${evidence.filename}`, exact: true }).click();
      await view().getByText('the file arrived damaged').waitFor();
      expect(downloads).toBe(0);
    } finally {
      await writeFile(file, original);
    }
  });

  it('creates an audit request with its controls; a period that ends before it starts is refused beside the field', async () => {
    await openScreen(page, '#/requests');
    const before = await count('/v1/requests?limit=500');
    await byLabel('Title').fill('FedRAMP 2026 annual assessment');
    await byLabel('Period start').fill('2026-12-31');
    await byLabel('Period end').fill('2026-01-01');
    await group('Controls whose evidence is requested').getByLabel('Search controls').fill('RA-5');
    await group('Controls whose evidence is requested').locator('input[value="fedramp-moderate:ra-5"]').check();
    await view().getByRole('button', { name: 'Create audit request' }).click();
    await expect.poll(() => fieldError(byLabel('Period end'))).toBe('must not be before periodStart');
    expect(await count('/v1/requests?limit=500')).toBe(before);

    await byLabel('Period start').fill('2026-01-01');
    await byLabel('Period end').fill('2026-12-31');
    await byLabel('Due date (optional)').fill('2027-01-31');
    await view().getByRole('button', { name: 'Create audit request' }).click();
    await view().getByRole('heading', { name: 'FedRAMP 2026 annual assessment', level: 1 }).waitFor();
    expect(await view().innerText()).toContain('FedRAMP Moderate RA-5');
    const created = (await stack.request('GET', '/v1/requests?limit=500')).body.items.find((r: { title: string }) => r.title === 'FedRAMP 2026 annual assessment');
    expect(created).toMatchObject({ periodStart: '2026-01-01', periodEnd: '2026-12-31', dueDate: '2027-01-31', status: 'open' });
    expect(created.controls.map((c: { id: string }) => c.id)).toEqual(['fedramp-moderate:ra-5']);
  });

  it("rotates a connection's password only after Qualys accepted it, and backfills a schedule only for a period that makes sense", async () => {
    const connection = await newConnection('To be rotated');
    const fetcher = await stack.run.addHldFetcher(connection, {});
    const schedule = (await stack.request('POST', `/v1/fetchers/${fetcher.id}/schedules`, { body: { preset: 'weekly' } })).body;
    await openScreen(page, '#/connections');
    const card = view().locator(`article[data-connection-id="${connection.id}"]`);
    await card.getByRole('button', { name: 'Rotate password' }).click();
    await card.getByLabel('New Qualys password').fill('not-the-password');
    await card.getByRole('button', { name: 'Check and save' }).click();
    await expect.poll(() => card.getByRole('alert').innerText()).toContain('Qualys code 2000: Bad Login/Password');
    const unchanged = await stack.request('GET', `/v1/connections/${connection.id}`);
    expect(unchanged.body.updatedAt).toBe(new Date(connection.updatedAt).toISOString());
    await card.getByLabel('New Qualys password').fill('demo-pass');
    await card.getByRole('button', { name: 'Check and save' }).click();
    await expect.poll(async () => (await stack.request('GET', `/v1/connections/${connection.id}`)).body.status).toBe('valid');

    await openScreen(page, `#/fetchers/${fetcher.id}`);
    const scheduled = view().locator(`article[data-schedule-id="${schedule.id}"]`);
    await scheduled.getByRole('button', { name: 'Backfill…' }).click();
    await scheduled.getByLabel('From').fill('2026-10-01T00:00');
    await scheduled.getByLabel('To').fill('2026-09-01T00:00');
    await scheduled.getByRole('button', { name: 'Run the missed times' }).click();
    await expect.poll(() => fieldError(scheduled.getByLabel('To'))).toBe('must be after start');
    expect(await count(`/v1/runs?fetcherId=${fetcher.id}`)).toBe(0);
  });

  it('disconnects after a confirmation that says what happens: fetchers disabled, schedules paused, evidence kept', async () => {
    const connection = await newConnection('To be disconnected');
    const fetcher = await stack.run.addHldFetcher(connection, {});
    const schedule = (await stack.request('POST', `/v1/fetchers/${fetcher.id}/schedules`, { body: { preset: 'weekly' } })).body;
    await openScreen(page, '#/connections');
    const card = view().locator(`article[data-connection-id="${connection.id}"]`);
    await card.getByRole('button', { name: 'Disconnect' }).click();
    const dialog = page.getByRole('dialog', { name: 'Disconnect To be disconnected?' });
    const said = await dialog.innerText();
    expect(said).toContain('1 fetcher of this connection is disabled and their schedules paused');
    expect(said).toContain('Past runs and evidence are kept');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect((await stack.request('GET', `/v1/connections/${connection.id}`)).body.status).not.toBe('disconnected');

    await card.getByRole('button', { name: 'Disconnect' }).click();
    await screenshot(page, 'flow-disconnect-confirm');
    await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
    await expect.poll(() => view().locator(`article[data-connection-id="${connection.id}"] .badge`).innerText()).toBe('disconnected');
    expect((await stack.request('GET', `/v1/fetchers/${fetcher.id}`)).body.enabled).toBe(false);
    expect((await stack.request('GET', `/v1/schedules/${schedule.id}`)).body.paused).toBe(true);
    expect(await view().locator(`article[data-connection-id="${connection.id}"]`).getByRole('button', { name: 'Reconnect' }).count()).toBe(1);
  });

  it('creates an API key whose token is shown once, revokes it, and adds a webhook whose secret is shown once', async () => {
    await openScreen(page, '#/access');
    await view().getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => fieldError(byLabel('Key name'))).toBe('must not be empty');
    await byLabel('Key name').fill('alice');
    await byLabel('Role').selectOption('auditor');
    await view().getByRole('button', { name: 'Create key' }).click();
    const token = await view().getByLabel('Token of alice (auditor)').inputValue();
    expect((await stack.request('GET', '/v1/me', { token })).body).toMatchObject({ name: 'alice', role: 'auditor' });

    await openScreen(page, '#/access');
    expect(await view().innerText()).not.toContain(token);
    await view().getByRole('button', { name: 'Revoke alice' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(async () => (await stack.request('GET', '/v1/me', { token })).status).toBe(401);

    await openScreen(page, '#/access');
    await byLabel('Receiver URL').fill('ftp://grc.example.com/hook');
    await view().getByRole('button', { name: 'Add webhook' }).click();
    await expect.poll(() => fieldError(byLabel('Receiver URL'))).toBe('must use http or https, not ftp');
    expect(await count('/v1/webhooks')).toBe(0);
    await byLabel('Receiver URL').fill('http://127.0.0.1:9/hook');
    await view().getByRole('button', { name: 'Add webhook' }).click();
    const secret = await view().getByLabel('Signing secret of http://127.0.0.1:9/hook').inputValue();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    await openScreen(page, '#/access');
    const card = view().locator('article[data-webhook-id]');
    await card.getByRole('button', { name: 'Delivery log' }).click();
    await card.getByText('No deliveries yet.').waitFor();
    expect(await view().innerText()).not.toContain(secret);
  });

  it('broke no content-security rule and threw no script error on the way', () => {
    expect(browser.errors).toEqual([]);
  });
});
