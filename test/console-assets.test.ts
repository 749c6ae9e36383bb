/**
 * The console's static files over real HTTP: served without a key, with the
 * right types and strict headers, only from the allow-list (traversal and
 * unknown names get a 404 problem, never a file), while /v1 still needs a key.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, CONSOLE_FILES } from '../api/routes/console.js';
import { QUALYS_PLATFORMS } from '../qualys/platforms.js';
import { QUALYS_API_VERSIONS } from '../qualys/settings.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;

const consoleFile = (name: string) => readFile(CONSOLE_FILES.get(name)!.source, 'utf8');
const ownModules = () => [...CONSOLE_FILES.keys()].filter((n) => n.endsWith('.js') && !n.startsWith('vendor/'));

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends the path exactly as written: fetch() would normalise `..` and `%2e%2e` before sending. */
function rawGet(path: string): Promise<RawResponse> {
  const { hostname, port } = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.get({ hostname, port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  stack = await startApiStack({ startWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

describe('serving the console', () => {
  it('redirects / and /console to /console/', async () => {
    const root = await fetch(`${stack.baseUrl}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const bare = await fetch(`${stack.baseUrl}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');
  });

  it('serves every file of the allow-list without a key, with its type and strict headers', async () => {
    const paths = ['/console/', ...[...CONSOLE_FILES.keys()].map((name) => `/console/${name}`)];
    for (const path of paths) {
      const res = await fetch(`${stack.baseUrl}${path}`);
      const name = path === '/console/' ? 'index.html' : path.slice('/console/'.length);
      expect(res.status, path).toBe(200);
      const expectedType = { html: 'text/html', js: 'text/javascript', css: 'text/css' }[name.split('.').pop()!];
      expect(CONSOLE_FILES.get(name)!.type, path).toBe(`${expectedType}; charset=utf-8`);
      expect(res.headers.get('content-type'), path).toBe(`${expectedType}; charset=utf-8`);
      expect(res.headers.get('content-security-policy'), path).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
      expect(res.headers.get('etag'), path).toMatch(/^"[0-9a-f]+"$/);
      expect(await res.text(), path).toBe(await consoleFile(name));
    }
    expect(CONSOLE_CSP).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  it('answers a revalidation with 304 when the file has not changed', async () => {
    const first = await fetch(`${stack.baseUrl}/console/app.js`);
    const again = await fetch(`${stack.baseUrl}/console/app.js`, { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('lists every file the page loads or imports, and loads nothing from elsewhere', async () => {
    const html = await consoleFile('index.html');
    const referenced = [...html.matchAll(/\b(?:src|href)="([^"#]+)"/g)].map((m) => m[1]!).filter((ref) => !ref.startsWith('data:'));
    for (const name of [...CONSOLE_FILES.keys()].filter((n) => n.endsWith('.js'))) {
      const js = await consoleFile(name);
      const dir = name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '';
      // Static imports (one line or several) and dynamic ones: every specifier is a relative file of the allow-list.
      for (const m of js.matchAll(/(?:^import\b[^;]*?\bfrom|^export\b[^;]*?\bfrom|\bimport\()\s*['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        expect(spec, `${name} imports ${spec}`).toMatch(/^\.\//);
        referenced.push(`${dir}${spec.slice(2)}`);
      }
    }
    for (const name of ownModules()) {
      // Text from the API goes in as text nodes only.
      expect(await consoleFile(name), name).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    }
    expect(referenced).toContain('vendor/sha2.js');
    expect(referenced).toContain('vendor/_md.js');
    for (const ref of referenced) expect([...CONSOLE_FILES.keys()], ref).toContain(ref);
    // The SVG namespace and example addresses shown in empty fields are text, not addresses anything is loaded from.
    const loadable = (js: string) => js.replaceAll("'http://www.w3.org/2000/svg'", '').replace(/placeholder: '[^']*'/g, '');
    for (const name of ownModules()) expect(loadable(await consoleFile(name)), name).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
  });

  it("offers the platforms and API versions the API accepts", async () => {
    const { PLATFORMS, API_VERSIONS } = await import(new URL('../console/platforms.js', import.meta.url).href);
    expect(PLATFORMS).toEqual(QUALYS_PLATFORMS);
    expect([...API_VERSIONS].sort()).toEqual([...QUALYS_API_VERSIONS].sort());
  });

  it('has no inline script or style, which the CSP would block', async () => {
    const html = await consoleFile('index.html');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(1);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle="|\son[a-z]+="/i);
  });
});

describe('what the console does not serve', () => {
  it('answers an unknown file with a 404 problem', async () => {
    for (const path of ['/console/nope.js', '/console/README.md', '/console/constructor', '/console/__proto__', '/console/app.js/x', '/console/vendor/sha512.js', '/console/vendor/package.json', '/console/vendor/app.js', '/console/sha2.js']) {
      const res = await stack.request('GET', path, { token: null });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toBe('application/problem+json');
      expect(res.body, path).toMatchObject({ type: '/problems/not-found', status: 404 });
    }
  });

  it('never lets a traversal escape the console folder', async () => {
    const packageJson = await readFile(new URL('../package.json', import.meta.url), 'utf8');
    const routeSource = await readFile(new URL('../api/routes/console.ts', import.meta.url), 'utf8');
    const attempts = [
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/..%2fpackage.json',
      '/console/%2e%2e%2fpackage.json',
      '/console/..%5cpackage.json',
      '/console/..%2f..%2fetc%2fpasswd',
      '/console/%2e%2e%2fapi%2froutes%2fconsole.ts',
      '/console/./../api/routes/console.ts',
      '/console/vendor/../../package.json',
      '/console/vendor/%2e%2e%2f%2e%2e%2fpackage.json',
      '/console/vendor/..%2f_md.js',
    ];
    for (const path of attempts) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(404);
      expect(res.headers['content-type'], path).toBe('application/problem+json');
      expect(res.body, path).not.toContain('"devDependencies"');
      expect(res.body, path).not.toContain('registerConsoleRoutes');
      expect(res.body, path).not.toContain('root:');
    }
    expect(packageJson).toContain('"devDependencies"');
    expect(routeSource).toContain('registerConsoleRoutes');
  });

  it('needs no key for the console, while /v1 still does', async () => {
    const page = await fetch(`${stack.baseUrl}/console/`);
    expect(page.status).toBe(200);
    const api = await stack.request('GET', '/v1/fetchers', { token: null });
    expect(api.status).toBe(401);
    expect(api.body).toMatchObject({ type: '/problems/unauthenticated' });
    expect(api.headers.get('content-security-policy')).toBeNull();
  });
});
