/**
 * The README's commands, as a newcomer runs them: `npm start` brings the
 * whole system up on embedded defaults (and back down on Ctrl-C), and
 * `npm run demo` runs a fetcher end to end and prints one JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createScratchDatabase } from '../db/scratch-database.js';
import { freshPgliteDir } from './support/pglite-template.js';
import { freePort, isListening } from '../runtime/free-port.js';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { parseExposition, sumOf } from './support/prometheus-text.js';

const children = new Set<ChildProcess>();
const dirs: string[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

function launch(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, script), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (b) => (out.stdout += b));
  child.stderr!.on('data', (b) => (out.stderr += b));
  const started = new Date();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      // Kept for reading after the run: what each command printed, with how long it lived.
      const lived = ((Date.now() - started.getTime()) / 1000).toFixed(1);
      const record = `== ${started.toISOString()} ${script} ${args.join(' ')} (exit ${code}, ${lived} s)\n${out.stderr}\n`;
      appendFileSync(path.join(PROJECT_ROOT, 'test-results', 'entrypoints.log'), record);
      resolve(code);
    }),
  );
  return { child, out, exited };
}

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-entry-'));
  dirs.push(dir);
  return dir;
}

describe('npm start', () => {
  it('brings up Temporal, the database, the worker and the API, creates the first admin key, and stops on SIGINT', async () => {
    const dataDir = await tempDir();
    const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_DEV_UI_PORT: String(uiPort),
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      LOG_LEVEL: 'warn',
      // The set-up's bundle (a documented setting): bundling on start is the demo's to prove, and takes seconds.
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    };
    // An empty embedded database as a first start leaves it (creating one from nothing is db-schema's to test).
    await freshPgliteDir(path.join(dataDir, 'pglite'));
    const first = launch('scripts/start.ts', [], env);
    await expect.poll(() => first.out.stderr, { timeout: 90_000, interval: 250 }).toContain('Ready.');
    expect(first.out.stderr).toContain(`API:         http://127.0.0.1:${port}/v1`);
    expect(first.out.stderr).toContain(`Temporal UI: http://127.0.0.1:${uiPort}`);
    expect(first.out.stderr).toContain(`Console:     http://127.0.0.1:${port}/console/`);
    const token = first.out.stdout.trim();
    expect(token).toMatch(/^qec_[A-Za-z0-9_-]{43}$/);

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'ok', temporal: 'ok' });
    const controls = await fetch(`http://127.0.0.1:${port}/v1/controls/pci-dss-v3.2.1:11.2`, { headers: { authorization: `Bearer ${token}` } });
    expect(controls.status).toBe(200);
    // One scrape has the whole process: the API's requests by route, and the embedded worker's Temporal SDK metrics.
    expect(first.out.stderr).toContain(`Metrics:     http://127.0.0.1:${port}/metrics`);
    const scrape = async () => parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(sumOf(await scrape(), 'qec_api_requests_total', { method: 'GET', route: '/v1/controls/:id', status: '200' })).toBe(1);
    await expect.poll(async () => sumOf(await scrape(), 'temporal_num_pollers', { task_queue: 'qualys-evidence' }), { timeout: 20_000, interval: 250 }).toBeGreaterThan(0);
    // Everything local stays under DATA_DIR.
    expect((await fs.readdir(dataDir)).sort()).toEqual(expect.arrayContaining(['pglite', 'secrets.key', 'temporal']));
    expect((await fs.stat(path.join(dataDir, 'secrets.key'))).mode & 0o777).toBe(0o600);

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.out.stderr).toContain('stopped');
    expect(await isListening('127.0.0.1', temporalPort)).toBe(false);

    // A second start keeps the data: no new key, and the old one still works.
    const second = launch('scripts/start.ts', [], env);
    await expect.poll(() => second.out.stderr, { timeout: 90_000, interval: 250 }).toContain('Ready.');
    expect(second.out.stdout.trim()).toBe('');
    const again = await fetch(`http://127.0.0.1:${port}/v1/controls`, { headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 240_000);
});

describe('npm run api (the compose api service)', () => {
  it('creates and prints the first admin key on an empty database, and only then', async () => {
    const database = await createScratchDatabase(inject('databaseUrl'), 'qec_entry');
    try {
      const env = {
        DATA_DIR: await tempDir(),
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        SECRETS_KEY: randomBytes(32).toString('base64'),
        PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      };
      const tokens: string[] = [];
      for (let start = 0; start < 2; start++) {
        const api = launch('api/main.ts', [], env);
        await expect.poll(() => api.out.stderr, { timeout: 60_000, interval: 100 }).toContain('API: http');
        tokens.push(api.out.stdout.trim());
        api.child.kill('SIGTERM');
        expect(await api.exited).toBe(0);
      }
      expect(tokens[0]).toMatch(/^qec_[A-Za-z0-9_-]{43}$/);
      expect(tokens[1]).toBe('');
    } finally {
      await database.drop();
    }
  }, 120_000);
});

describe('npm start that cannot finish starting', () => {
  it('says first what is wrong and how to fix it, and leaves nothing it started running', async () => {
    const dataDir = await tempDir();
    await freshPgliteDir(path.join(dataDir, 'pglite'));
    const [temporalPort, uiPort] = [await freePort(), await freePort()];
    // The API's port is taken: everything before it (Temporal, the database, the worker) has started by then.
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const start = launch('scripts/start.ts', [], {
        DATA_DIR: dataDir,
        PORT: String(port),
        TEMPORAL_DEV_PORT: String(temporalPort),
        TEMPORAL_DEV_UI_PORT: String(uiPort),
        DATABASE_URL: '',
        TEMPORAL_ADDRESS: '',
        LOG_LEVEL: 'warn',
        WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      });
      expect(await start.exited).toBe(1);
      expect(start.out.stderr).toContain(`start failed: port ${port} on 127.0.0.1 is in use; set PORT to another port`);
      expect(await isListening('127.0.0.1', temporalPort)).toBe(false);
      expect(await isListening('127.0.0.1', uiPort)).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 120_000);
});

describe('npm run demo', () => {
  it('runs a fetcher through Temporal against the simulator and prints one JSON line', async () => {
    const dataDir = await tempDir();
    const demo = launch('scripts/demo.ts', ['--hosts', '400', '--page-size', '60'], { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    expect(await demo.exited).toBe(0);
    const lines = demo.out.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!);
    expect(result).toMatchObject({ status: 'succeeded', evidence: { format: 'XML' } });
    expect(result.hosts).toBeGreaterThan(0);
    expect(result.detections).toBeGreaterThan(result.hosts);
    expect(result.attachedTo.sort()).toEqual(['11.2', 'RA-5']);
    const file = await fs.readFile(result.evidence.path);
    expect(file.length).toBe(result.evidence.bytes);
    expect(createHash('sha256').update(file).digest('hex')).toBe(result.evidence.sha256);
    expect(demo.out.stderr).toMatch(/pull_pages\s+pages \d+/);
    expect(demo.out.stderr).toContain('demo: done');
  }, 240_000);
});
