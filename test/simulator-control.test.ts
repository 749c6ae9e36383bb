import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { HLD_PATH, call } from './simulator-support.js';

describe('simulator: control endpoint and programmatic configuration', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 30, now: '2026-01-10T00:00:00Z', limits: { concurrencyLimit: 3 } });
  });
  afterAll(() => sim.close());

  const post = (path: string, body: unknown) =>
    fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('POST /__sim/config applies faults, limits and the clock, and answers the resulting configuration', async () => {
    const res = await post('/__sim/config', { faults: { failNext: { count: 1, status: 503 } }, limits: { rateLimit: 50 }, now: '2026-05-05T05:05:05Z' });
    expect(res.status).toBe(200);
    const config = (await res.json()) as { faults: { failNext: unknown }; limits: { rateLimit: number; concurrencyLimit: number }; now: string };
    expect(config.faults.failNext).toEqual({ count: 1, status: 503 });
    expect(config.limits).toEqual({ rateLimit: 50, rateWindowSec: 3600, concurrencyLimit: 3 });
    expect(config.now).toBe('2026-05-05T05:05:05.000Z');
    const failed = await call(sim, HLD_PATH, { action: 'list' });
    expect(failed.status).toBe(503);
    expect(await failed.text()).toContain('<DATETIME>2026-05-05T05:05:05Z</DATETIME>');
    expect((await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' })).headers.get('x-ratelimit-limit')).toBe('50');
  });

  it('rejects bad configuration with 400, naming each field and the reason', async () => {
    const res = await post('/__sim/config', { faults: { errorRate: 2, failNext: { status: 503 }, surprise: true }, now: 'tomorrow' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: Array<{ field: string; reason: string }> };
    const fields = body.issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['faults.errorRate', 'faults.failNext.count', 'faults', 'now']));
    expect(body.issues.every((i) => i.reason.length > 0)).toBe(true);
    const broken = await post('/__sim/config', '{not json');
    expect(broken.status).toBe(400);
    expect(() => sim.configure({ limits: { concurrencyLimit: 0 } })).toThrow(/limits\.concurrencyLimit/);
    await expect(startSimulator({ hosts: -1 })).rejects.toThrow(/hosts/);
  });

  it('GET /__sim/stats reports requests by endpoint and status, bytes and a timed log; POST /__sim/reset clears it', async () => {
    await post('/__sim/reset', {});
    await (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '2' })).arrayBuffer();
    await (await call(sim, '/api/2.0/fo/asset/group/', { action: 'list' }, { password: 'bad' })).arrayBuffer();
    await expect.poll(async () => ((await (await fetch(`${sim.url}/__sim/stats`)).json()) as { log: unknown[] }).log.length).toBe(2);
    const stats = (await (await fetch(`${sim.url}/__sim/stats`)).json()) as ReturnType<SimulatorHandle['stats']>;
    expect(stats.requests).toBe(2);
    expect(stats.byEndpoint).toEqual({ detection: 1, assetGroups: 1 });
    expect(stats.byStatus).toEqual({ '200': 1, '401': 1 });
    expect(stats.byCode).toEqual({ '2000': 1 });
    expect(stats.bytesSent).toBeGreaterThan(1000);
    expect(stats.log[0]).toMatchObject({ endpoint: 'detection', method: 'POST', user: 'demo', status: 200, aborted: false });
    expect(stats.log[1]!.at).toBeGreaterThanOrEqual(stats.log[0]!.at);
    expect(stats.inFlight).toBe(0);
    const reset = await post('/__sim/reset', {});
    expect(reset.status).toBe(200);
    expect(sim.stats().requests).toBe(0);
    const config = (await (await fetch(`${sim.url}/__sim/config`)).json()) as { faults: { failNext: unknown } };
    expect(config.faults.failNext).toBeNull();
  });

  it('answers 404 naming the control endpoints for an unknown one', async () => {
    const res = await fetch(`${sim.url}/__sim/nothing`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { endpoints: string[] }).endpoints).toContain('POST /__sim/config');
  });
});
