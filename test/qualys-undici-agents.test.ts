/**
 * The worker loads undici's agent, not its index: the index brings fetch,
 * WebSocket, caches and mocks, 4.4 MB more heap in each thread that loads
 * it (the worker's main thread and its page-bytes thread). Connections
 * through a proxy load it whole (qualys-client.test.ts covers that path).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../runtime/paths.js';

/** The undici files a fresh process has loaded once it imported `modules`, and whether our agents are undici's own. */
async function undiciLoadedBy(modules: string[]): Promise<{ files: string[]; sameClasses: boolean }> {
  const urls = modules.map((m) => pathToFileURL(path.join(PROJECT_ROOT, m)).href);
  const code = `
    import { createRequire } from 'node:module';
    for (const url of ${JSON.stringify(urls)}) await import(url);
    const require = createRequire(import.meta.url);
    const files = Object.keys(require.cache).filter((f) => f.includes('/node_modules/undici/')).map((f) => f.slice(f.indexOf('/node_modules/undici/') + 21));
    const ours = await import(${JSON.stringify(pathToFileURL(path.join(PROJECT_ROOT, 'qualys/undici-agents.ts')).href)});
    const undici = await import('undici');
    console.log(JSON.stringify({ files, sameClasses: ours.Agent === undici.Agent && ours.loadProxyAgent() === undici.ProxyAgent }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: PROJECT_ROOT });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { files: string[]; sameClasses: boolean };
}

describe("undici's agents", () => {
  it('are all the worker and the page-bytes thread load of undici (a proxy loads the rest), and are the very classes of its index', async () => {
    // The thread's entry runs only inside its thread; these are the modules it is made of.
    const { files, sameClasses } = await undiciLoadedBy(['worker.ts', 'qualys/client.ts', 'activities/page-bytes.ts', 'runtime/configured-blob-store.ts']);
    expect(files).toContain('lib/dispatcher/agent.js');
    expect(files).not.toContain('index.js');
    expect(files.some((f) => f.startsWith('lib/web/fetch/'))).toBe(false);
    // instanceof and undici's own checks hold for agents made either way.
    expect(sameClasses).toBe(true);
  });
});
