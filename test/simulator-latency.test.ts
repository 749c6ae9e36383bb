/**
 * Qualys's speed: a time to first byte growing with the page's host count, a
 * body rate, the per-subscription limits of the named profiles with their
 * headers, a time scale over all of it, and seeded jitter. Timings over HTTP
 * are only checked as lower bounds the simulator must wait at least; the
 * body's pacing is checked on a clock that moves only when it waits.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BodySink } from '../simulator/body-sink.js';
import { Latency, NO_LATENCY, PROFILES } from '../simulator/latency.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { spawnSimulator } from '../simulator/spawn.js';
import { HLD_PATH, call, readHldXml, simpleReturn } from './simulator-support.js';

describe('latency model', () => {
  it('grows the time to first byte with the hosts on the page, divided by the time scale; deterministic without jitter', () => {
    const latency = new Latency(7);
    latency.reset({ ...PROFILES['qualys-standard'].latency, timeScale: 10 });
    expect(latency.firstByteMs(0)).toBe(200);
    expect(latency.firstByteMs(1000)).toBe((2000 + 40 * 1000) / 10);
    expect(latency.bodyBytesPerSec()).toBe(1024 * 1024 * 10);
    expect(latency.firstByteMs(1000)).toBe(latency.firstByteMs(1000));
  });

  it('spreads waits by the jitter, the same sequence for the same seed after a reset', () => {
    const config = { ...NO_LATENCY, firstByteBaseMs: 1000, jitter: 0.5 };
    const a = new Latency(3);
    a.reset(config);
    const first = Array.from({ length: 20 }, () => a.firstByteMs(0));
    for (const wait of first) {
      expect(wait).toBeGreaterThanOrEqual(500);
      expect(wait).toBeLessThanOrEqual(1500);
    }
    expect(new Set(first).size).toBeGreaterThan(10);
    a.reset(config);
    expect(Array.from({ length: 20 }, () => a.firstByteMs(0))).toEqual(first);
  });

  it('keeps a body to its rate, whatever the size of the chunks it is made in', async () => {
    // A clock that moves only when the sink waits: the time a body takes is then exactly its pacing.
    const paced = async (chunkBytes: number, totalBytes: number, rate: number) => {
      let now = 0;
      const res = Object.assign(new EventEmitter(), { write: () => true, end() {} }) as unknown as ServerResponse;
      const faults = { dropAfterBytes: null, malformed: false, hostile: null, latencyPerMbMs: 0, slowBodyBytesPerSec: rate };
      const sink = new BodySink(res, faults, { now: () => now, sleep: async (ms) => void (now += ms) });
      for (let sent = 0; sent < totalBytes; sent += chunkBytes) await sink.write(Buffer.alloc(Math.min(chunkBytes, totalBytes - sent)));
      return now;
    };
    const MB = 1024 * 1024;
    // Waits under 2 ms are left to add up, so a body may end up to 2 ms early, never late.
    const about = (ms: number) => expect.toSatisfy((took: number) => took > ms - 2 && took <= ms);
    // 8 MB at 32 MB/s: a quarter of a second, in chunks smaller and larger than a slice.
    for (const chunk of [16 * 1024, 256 * 1024, 4 * MB]) expect(await paced(chunk, 8 * MB, 32 * MB)).toEqual(about(250));
    // A trickle: 1,000 bytes at 100 bytes a second take ten seconds, sent in slices of five bytes.
    expect(await paced(1000, 1000, 100)).toEqual(about(10_000));
  });
});

describe('simulator: latency profiles over HTTP', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 200, now: '2026-06-01T00:00:00Z' });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  it('waits before the headers in proportion to the hosts on the page', async () => {
    sim.configure({ latency: { firstBytePerHostMs: 600, timeScale: 60 } });
    const started = Date.now();
    const res = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '30' });
    const waited = Date.now() - started;
    expect(readHldXml(await res.text()).hosts).toHaveLength(30);
    expect(waited).toBeGreaterThanOrEqual(300);
  });

  it('applies a named profile: Qualys limits and headers, the window scaled by the time scale', async () => {
    sim.configure({ profile: 'qualys-standard', latency: { timeScale: 3600, firstByteBaseMs: 0, firstBytePerHostMs: 0, bodyBytesPerSec: 0 } });
    const res = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' });
    expect(res.headers.get('x-ratelimit-limit')).toBe('300');
    expect(res.headers.get('x-concurrency-limit-limit')).toBe('2');
    expect(res.headers.get('x-ratelimit-window-sec')).toBe('1');
    await res.arrayBuffer();
    const config = (await (await fetch(`${sim.url}/__sim/config`)).json()) as { limits: { rateLimit: number }; latency: { timeScale: number } };
    expect(config).toMatchObject({ limits: { rateLimit: 300 }, latency: { timeScale: 3600 } });
  });

  it('answers 1960 (HTTP 409) to calls above the profile’s concurrency limit while slow bodies stream', async () => {
    sim.configure({ profile: 'qualys-standard', latency: { firstByteBaseMs: 0, firstBytePerHostMs: 0, bodyBytesPerSec: 20_000, timeScale: 1 } });
    const controllers = [new AbortController(), new AbortController()];
    const slow = await Promise.all(controllers.map((c) => call(sim, HLD_PATH, { action: 'list' }, { signal: c.signal })));
    expect(slow.map((r) => r.status)).toEqual([200, 200]);
    const blocked = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' });
    expect(blocked.status).toBe(409);
    expect(simpleReturn(await blocked.text())).toMatchObject({ code: 1960, items: { CALLS_TO_FINISH: '1' } });
    for (const c of controllers) c.abort();
    await expect.poll(() => sim.stats().inFlight).toBe(0);
  });

  it('counts the rolling rate window in scaled time', async () => {
    sim.configure({ limits: { rateLimit: 2, rateWindowSec: 3600 }, latency: { timeScale: 3600 } });
    for (let i = 0; i < 2; i++) await (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' })).arrayBuffer();
    const blocked = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' });
    expect(blocked.status).toBe(409);
    expect(Number(blocked.headers.get('x-ratelimit-towait-sec'))).toBeLessThanOrEqual(1);
    expect(simpleReturn(await blocked.text()).code).toBe(1965);
    await expect.poll(async () => (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' })).status, { timeout: 5000, interval: 200 }).toBe(200);
  });

  it('refuses a bad latency setting naming the field', async () => {
    const res = await fetch(`${sim.url}/__sim/config`, { method: 'POST', body: JSON.stringify({ profile: 'qualys-gold' }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: Array<{ field: string }> }).issues[0]!.field).toBe('profile');
  });
});

describe('simulator: profile on the command line', () => {
  it('takes --profile and --time-scale, and reports them in /__sim/config', async () => {
    const sim = await spawnSimulator({ hosts: 20, now: '2026-06-01T00:00:00Z', profile: 'qualys-premium', latency: { timeScale: 1000, jitter: 0 } });
    try {
      const config = await (await fetch(`${sim.url}/__sim/config`)).json();
      expect(config).toMatchObject({ limits: { rateLimit: 2000, concurrencyLimit: 10 }, latency: { timeScale: 1000, firstBytePerHostMs: 40 } });
      const res = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '5' });
      expect(res.headers.get('x-concurrency-limit-limit')).toBe('10');
      expect(readHldXml(await res.text()).hosts).toHaveLength(5);
    } finally {
      await sim.close();
    }
  });
});
