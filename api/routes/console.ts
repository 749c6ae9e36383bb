/**
 * The web console: static files served without a key, since the page itself
 * holds no data; every call it makes goes to /v1 with the key the user
 * pastes into it, so the API alone decides what a key may see and do. Only
 * the files named below are served, looked up by exact name, so no request
 * path can reach anything else on disk. Kept out of the OpenAPI document: it
 * is a page, not part of the API.
 */
import { readFile } from 'node:fs/promises';
import type { Context } from 'hono';
import { etag } from 'hono/etag';
import type { ApiApp } from '../app.js';
import { ApiError } from '../problem.js';

const CONSOLE_DIR = new URL('../../console/', import.meta.url);
/** The SHA-256 the browser computes while a download streams (Web Crypto cannot hash incrementally), from the npm package as published. */
const NOBLE_HASHES_DIR = new URL('../../node_modules/@noble/hashes/', import.meta.url);

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

const CONSOLE_MODULES = [
  'app.js',
  'api.js',
  'dom.js',
  'forms.js',
  'router.js',
  'download.js',
  'chart.js',
  'pickers.js',
  'connections.js',
  'fetchers.js',
  'fetcher-form.js',
  'fetcher-detail.js',
  'schedules.js',
  'runs.js',
  'evidence.js',
  'evidence-checks.js',
  'custody.js',
  'sla.js',
  'diff.js',
  'json-stream.js',
  'controls.js',
  'coverage.js',
  'attachments.js',
  'requests.js',
  'access.js',
  'platforms.js',
];

/** Every file of the console, with its content type and where it lives; nothing else under /console/ exists. */
export const CONSOLE_FILES: ReadonlyMap<string, { type: string; source: URL }> = new Map([
  ['index.html', { type: HTML, source: new URL('index.html', CONSOLE_DIR) }],
  ['console.css', { type: CSS, source: new URL('console.css', CONSOLE_DIR) }],
  ...CONSOLE_MODULES.map((name) => [name, { type: JS, source: new URL(name, CONSOLE_DIR) }] as const),
  // sha2.js imports its three siblings by relative path, so they sit side by side under vendor/.
  ...['sha2.js', '_md.js', '_u64.js', 'utils.js'].map((name) => [`vendor/${name}`, { type: JS, source: new URL(name, NOBLE_HASHES_DIR) }] as const),
]);

/** The page loads only its own scripts and styles and talks only to this server. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async function serveConsoleFile(c: Context, name: string): Promise<Response> {
  const file = CONSOLE_FILES.get(name);
  if (!file) throw new ApiError('not-found', 'the console has no such file');
  const body = await readFile(file.source);
  return c.body(body, 200, {
    'content-type': file.type,
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    // Revalidated on every load (the ETag makes that cheap), so an upgrade is never half-applied from a stale cache.
    'cache-control': 'no-cache',
  });
}

export function registerConsoleRoutes(app: ApiApp): void {
  app.get('/', (c) => c.redirect('/console/', 302));
  // The page's relative asset URLs need the trailing slash.
  app.get('/console', (c) => c.redirect('/console/', 301));
  app.use('/console/*', etag());
  app.get('/console/', (c) => serveConsoleFile(c, 'index.html'));
  app.get('/console/:file', (c) => serveConsoleFile(c, c.req.param('file')));
  app.get('/console/vendor/:file', (c) => serveConsoleFile(c, `vendor/${c.req.param('file')}`));
}
