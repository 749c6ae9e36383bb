import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { HLD_PATH, basic, call, parseXml, readHldCsv, readHldXml, simpleReturn } from './simulator-support.js';

const GROUPS = '/api/2.0/fo/asset/group/';

/** Reads a body with node:http so a cut connection still reports the bytes that arrived. */
function rawGet(url: string): Promise<{ status: number; bytes: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Authorization: basic(), 'X-Requested-With': 't' } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode!, bytes, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode!, bytes, complete: false }));
    });
    req.on('error', reject);
  });
}

describe('simulator: fault injection', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 200, now: '2026-01-10T00:00:00Z' });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  const hld = (params: Record<string, string> = {}) => call(sim, HLD_PATH, { action: 'list', ...params });
  const groups = () => call(sim, GROUPS, { action: 'list', truncation_limit: '1' });

  it('failNext answers the next N calls of one endpoint with the status, leaving others alone', async () => {
    sim.configure({ faults: { failNext: { count: 2, status: 503, endpoint: 'detection' } } });
    const check = await groups();
    expect(check.status).toBe(200);
    await check.arrayBuffer();
    for (let i = 0; i < 2; i++) {
      const res = await hld();
      expect(res.status).toBe(503);
      expect(simpleReturn(await res.text()).code).toBe(1999);
    }
    const ok = await hld({ truncation_limit: '1' });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    sim.configure({ faults: { failNext: { count: 1, status: 500 } } });
    const internal = await groups();
    expect(internal.status).toBe(500);
    expect(simpleReturn(await internal.text()).code).toBe(999);
  });

  it('errorRate fails a seeded share of calls, the same sequence after every reset', async () => {
    const run = async () => {
      sim.reset();
      sim.configure({ faults: { errorRate: 0.4, errorStatuses: [500, 503] } });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await groups();
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    const failures = first.filter((s) => s !== 200);
    expect(failures.length).toBeGreaterThan(3);
    expect(failures.length).toBeLessThan(27);
    expect(new Set(failures)).toEqual(new Set([500, 503]));
  });

  it('dropNext sends the headers and exactly afterBytes of the body, then cuts the connection', async () => {
    sim.configure({ faults: { dropNext: { count: 1, afterBytes: 100_000, endpoint: 'detection' } } });
    const url = `${sim.url}${HLD_PATH}?action=list&truncation_limit=0`;
    const cut = await rawGet(url);
    expect(cut).toEqual({ status: 200, bytes: 100_000, complete: false });
    const whole = await rawGet(url);
    expect(whole.complete).toBe(true);
    expect(whole.bytes).toBeGreaterThan(100_000);
    sim.configure({ faults: { dropNext: { count: 1, afterBytes: 5000 } } });
    await expect(hld().then((r) => r.text())).rejects.toThrow();
    expect(sim.stats().log.at(-1)).toMatchObject({ status: 200, bytes: 5000, aborted: true });
  });

  it('malformedNext breaks the next XML document mid-body while keeping HTTP 200', async () => {
    sim.configure({ faults: { malformedNext: { count: 1, endpoint: 'detection' } } });
    const bad = await hld({ truncation_limit: '5' });
    expect(bad.status).toBe(200);
    const text = await bad.text();
    expect(text).toContain('</HOST_LIST_VM_DETECTION_OUTPUT>');
    expect(() => parseXml(text)).toThrow();
    expect(readHldXml(await (await hld({ truncation_limit: '5' })).text()).hosts).toHaveLength(5);
  });

  it('malformedAlways breaks CSV answers and every list', async () => {
    sim.configure({ faults: { malformedAlways: true } });
    const csv = await (await hld({ output_format: 'CSV', truncation_limit: '3' })).text();
    expect(() => parseCsv(readHldCsv(csv).sections['RESPONSE_BODY_CSV']!, { columns: true })).toThrow();
    for (const path of [GROUPS, '/api/2.0/fo/qid/search_list/dynamic/', '/api/2.0/fo/asset/host/']) {
      const res = await call(sim, path, path.endsWith('/host/') ? { action: 'list', details: 'None' } : { action: 'list' });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(() => parseXml(text), path).toThrow();
    }
  });

  it('rateLimitNext and concurrencyLimitNext inject 409s with the documented items and headers', async () => {
    sim.configure({ faults: { rateLimitNext: { count: 1, secondsToWait: 7200, endpoint: 'detection' } } });
    const check = await groups();
    expect(check.status).toBe(200);
    await check.arrayBuffer();
    const limited = await hld();
    expect(limited.status).toBe(409);
    expect(limited.headers.get('x-ratelimit-towait-sec')).toBe('7200');
    const rate = simpleReturn(await limited.text());
    expect(rate).toMatchObject({ code: 1965, items: { SECONDS_TO_WAIT: '7200' } });
    expect(rate.text).toBe('This API cannot be run again for another 2 hours, 0 minutes and 0 seconds.');

    sim.configure({ faults: { concurrencyLimitNext: { count: 1, callsToFinish: 3 } } });
    const busy = await hld();
    expect(busy.status).toBe(409);
    expect(simpleReturn(await busy.text())).toMatchObject({ code: 1960, items: { CALLS_TO_FINISH: '3' } });
    const ok = await hld({ truncation_limit: '1' });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  });

  it('adds latency before the headers, per MB of body, and can trickle a slow body', async () => {
    const timed = async (f: () => Promise<Response>) => {
      const t0 = performance.now();
      const res = await f();
      const headersAt = performance.now() - t0;
      const bytes = (await res.arrayBuffer()).byteLength;
      return { headersAt, total: performance.now() - t0, bytes };
    };
    sim.configure({ faults: { latencyMs: 300 } });
    expect((await timed(groups)).headersAt).toBeGreaterThanOrEqual(295);

    sim.reset();
    sim.configure({ faults: { latencyPerMbMs: 100 } });
    const perMb = await timed(() => hld({ truncation_limit: '0', show_igs: '1', status: 'New,Active,Fixed,Re-Opened' }));
    expect(perMb.bytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(perMb.total).toBeGreaterThanOrEqual(Math.floor(perMb.bytes / (1024 * 1024)) * 100 * 0.95);

    sim.reset();
    sim.configure({ faults: { slowBodyBytesPerSec: 20_000, endpoints: ['searchLists'] } });
    const slow = await timed(() => call(sim, '/api/2.0/fo/qid/search_list/dynamic/', { action: 'list' }));
    expect(slow.total).toBeGreaterThanOrEqual((slow.bytes / 20_000) * 1000 * 0.8);
    // Out of scope: a body several times larger comes at full speed.
    const fast = await timed(() => hld({ truncation_limit: '5' }));
    expect(fast.bytes).toBeGreaterThan(3 * slow.bytes);
    expect(fast.total).toBeLessThan((fast.bytes / 20_000) * 1000 * 0.5);
  });
});
