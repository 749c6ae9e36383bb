import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { spawnSimulator } from '../simulator/spawn.js';
import { HLD_PATH, basic, call, readHldXml } from './simulator-support.js';

const MB = 1024 * 1024;

describe('simulator: streaming', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 100_000, now: '2026-01-10T00:00:00Z' });
  });
  afterAll(() => sim.close());

  /** GETs a big answer with node:http, discarding it; `pauseMs` stalls the reader first. */
  function read(query: string, pauseMs = 0): Promise<{ bytes: number; peakRssGrowth: number; status: number }> {
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
    return new Promise((resolve, reject) => {
      http
        .get(`${sim.url}${HLD_PATH}?${query}`, { headers: { Authorization: basic(), 'X-Requested-With': 't' } }, (res) => {
          let bytes = 0;
          if (pauseMs > 0) {
            res.pause();
            setTimeout(() => res.resume(), pauseMs);
          }
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => {
            clearInterval(timer);
            resolve({ bytes, status: res.statusCode!, peakRssGrowth: (Math.max(peak, process.memoryUsage.rss()) - baseline) / MB });
          });
        })
        .on('error', reject);
    });
  }

  it('streams a large answer over 100k hosts with flat memory', async () => {
    // Every host is visited; severity 5 keeps the answer at a few hundred MB so the test stays quick.
    const result = await read('action=list&truncation_limit=0&severities=5');
    expect(result.status).toBe(200);
    expect(result.bytes).toBeGreaterThan(150 * MB);
    expect(result.peakRssGrowth).toBeLessThan(100);
  });

  it('waits for a stalled reader instead of buffering the answer', async () => {
    // Unthrottled, the simulator would render hundreds of MB during the pause.
    const result = await read('action=list&truncation_limit=6000', 800);
    expect(result.peakRssGrowth).toBeLessThan(60);
    expect(result.bytes).toBeGreaterThan(150 * MB);
  });

  it('lets the client abandon an answer mid-stream without leaking the call', async () => {
    const controller = new AbortController();
    const res = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '0' }, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => sim.stats().inFlight).toBe(0);
    expect(sim.stats().log.at(-1)).toMatchObject({ aborted: true });
    expect(readHldXml(await (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '2' })).text()).hosts).toHaveLength(2);
  });
});

describe('simulator: command line', () => {
  const cli = (args: string[]) =>
    spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), [path.join(PROJECT_ROOT, 'simulator', 'main.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('starts, prints its base URL and accounts, serves the API, and stops on SIGTERM', async () => {
    const child = cli(['--port', '0', '--hosts', '40', '--seed', '9', '--user', 'alice', '--password', 'alice-pass', '--now', '2026-01-01T00:00:00Z']);
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m && out.includes('Control')) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      expect(out).toContain('alice / alice-pass (Manager)');
      expect(out).toContain('40 hosts, seed 9');
      const res = await fetch(`${url}${HLD_PATH}?action=list&truncation_limit=3`, {
        headers: { Authorization: basic('alice', 'alice-pass'), 'X-Requested-With': 'cli-test' },
      });
      expect(res.status).toBe(200);
      expect(readHldXml(await res.text()).hosts).toHaveLength(3);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('runs in its own process with spawnSimulator, controlled over /__sim/ and mirrored by a local dataset', async () => {
    const sim = await spawnSimulator({ hosts: 120, seed: 4, now: '2026-02-02T00:00:00Z', limits: { concurrencyLimit: 4 } });
    try {
      expect(sim.pid).not.toBe(process.pid);
      const params = { truncation_limit: '0', severities: '3-5' };
      const page = readHldXml(await (await call(sim, HLD_PATH, { action: 'list', ...params })).text());
      expect(page.hosts.map((h) => h.id)).toEqual(sim.dataset.expected(params).hostIds);
      await sim.configure({ faults: { failNext: { count: 1, status: 503 } } });
      const failed = await call(sim, HLD_PATH, { action: 'list' });
      expect(failed.status).toBe(503);
      expect(failed.headers.get('x-concurrency-limit-limit')).toBe('4');
      await failed.arrayBuffer();
      expect((await sim.stats()).byStatus).toMatchObject({ '200': 1, '503': 1 });
      await expect(sim.configure({ faults: { errorRate: 5 } })).rejects.toThrow(/faults.errorRate/);
    } finally {
      await sim.close();
    }
    await expect(fetch(sim.url)).rejects.toThrow();
  });

  it('rejects a bad flag with a message naming it', async () => {
    const child = cli(['--hosts', 'lots']);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('--hosts: expected a non-negative integer, got "lots"');
  });
});
