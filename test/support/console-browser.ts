/**
 * Debian's headless Chromium driven by playwright-core for the console
 * tests: a fresh profile per launch, every console error and page error
 * collected (CSP violations show up there), axe-core run inside the page,
 * and screenshots under test-results/console/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
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

/** Why the browser suites cannot run here, or null when they can. */
export const chromiumUnavailable: string | null = existsSync(CHROMIUM)
  ? null
  : `Debian's Chromium is missing at ${CHROMIUM}: install it with "apt-get install -y chromium" (.ci/run does this before the tests)`;

export const SCREENSHOT_DIR = path.resolve('test-results/console');
export const UI_TIMEOUT_MS = 15_000;

export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

export async function launchConsoleBrowser(viewport = { width: 1280, height: 800 }): Promise<ConsoleBrowser> {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'qec-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, acceptDownloads: true, viewport });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const errors: string[] = [];
  page.on('console', (message) => {
    // Chromium logs every 4xx answer; the tests provoke those on purpose, and the page shows them.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded with a status of 4')) errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in on the console's page with a key and waits for the first screen. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('API key').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view[data-ready="true"]').waitFor();
}

/** Opens a screen by its address and waits until it has drawn. */
export async function openScreen(page: Page, hash: string): Promise<void> {
  await page.evaluate(`(() => {
    document.querySelector('#view').removeAttribute('data-ready');
    const target = ${JSON.stringify(hash)};
    // The same address again fires no hashchange by itself.
    if (window.location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else window.location.hash = target;
  })()`);
  await page.locator('#view[data-ready="true"]').waitFor();
}

let axeSource: string | null = null;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, which
 * the page's CSP does not govern) and returns the serious and critical
 * violations.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded) await page.evaluate(axeSource);
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
  })))`)) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.jpeg`), fullPage: true, type: 'jpeg', quality: 60 });
}

/** The error shown beside a field (input, select, textarea or fieldset): the text of its `…-error` description. */
export async function fieldError(field: Locator): Promise<string> {
  const ids = (await field.getAttribute('aria-describedby'))?.split(' ') ?? [];
  const errorId = ids.find((id) => id.endsWith('-error'));
  if (!errorId) return '';
  const error = field.page().locator(`[id="${errorId}"]`);
  return (await error.isVisible()) ? error.innerText() : '';
}
