import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { HLD_PATH, call, simpleReturn } from './simulator-support.js';

const LIMIT_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-window-sec',
  'x-ratelimit-remaining',
  'x-ratelimit-towait-sec',
  'x-concurrency-limit-limit',
  'x-concurrency-limit-running',
];

describe('simulator: subscription limits', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 100, now: '2026-01-10T00:00:00Z', limits: { rateLimit: 5, rateWindowSec: 2, concurrencyLimit: 2 } });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  it('puts the limit headers on data and parameter errors, but not on login and account errors', async () => {
    const answers = [
      await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' }),
      await call(sim, '/api/2.0/fo/asset/group/', { action: 'list' }),
      await call(sim, HLD_PATH, { action: 'list', bogus: '1' }),
    ];
    for (const res of answers) {
      for (const h of LIMIT_HEADERS) expect(res.headers.get(h), h).toMatch(/^\d+$/);
      await res.arrayBuffer();
    }
    for (const [user, password] of [['demo', 'wrong'], ['expired', 'expired-pass'], ['inactive', 'inactive-pass']]) {
      const refused = await call(sim, HLD_PATH, { action: 'list' }, { user, password });
      for (const h of LIMIT_HEADERS) expect(refused.headers.get(h), `${user} ${h}`).toBeNull();
      await refused.arrayBuffer();
    }
    expect(answers[0]!.headers.get('x-ratelimit-limit')).toBe('5');
    expect(answers[0]!.headers.get('x-ratelimit-window-sec')).toBe('2');
    expect(answers[0]!.headers.get('x-concurrency-limit-limit')).toBe('2');
    expect(answers.slice(0, 3).map((r) => r.headers.get('x-ratelimit-remaining'))).toEqual(['4', '3', '2']);
  });

  it('answers 409 / 1965 with SECONDS_TO_WAIT and X-RateLimit-ToWait-Sec once the window is used up, then recovers', async () => {
    for (let i = 0; i < 5; i++) {
      const ok = await call(sim, '/api/2.0/fo/asset/group/', { action: 'list' });
      expect(ok.status).toBe(200);
      await ok.arrayBuffer();
    }
    const blocked = await call(sim, HLD_PATH, { action: 'list' });
    expect(blocked.status).toBe(409);
    const wait = Number(blocked.headers.get('x-ratelimit-towait-sec'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(2);
    expect(blocked.headers.get('x-ratelimit-remaining')).toBe('0');
    const body = simpleReturn(await blocked.text());
    expect(body.code).toBe(1965);
    expect(body.items['SECONDS_TO_WAIT']).toBe(String(wait));
    await new Promise((r) => setTimeout(r, wait * 1000 + 50));
    const after = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' });
    expect(after.status).toBe(200);
    await after.arrayBuffer();
  });

  it('answers 409 / 1960 with CALLS_TO_FINISH while too many calls are in flight', async () => {
    sim.configure({ faults: { slowBodyBytesPerSec: 20_000, endpoints: ['detection'] } });
    const controllers = [new AbortController(), new AbortController()];
    const slow = await Promise.all(controllers.map((c) => call(sim, HLD_PATH, { action: 'list' }, { signal: c.signal })));
    expect(slow.map((r) => r.status)).toEqual([200, 200]);
    expect(slow[1]!.headers.get('x-concurrency-limit-running')).toBe('1');
    const blocked = await call(sim, '/api/2.0/fo/asset/group/', { action: 'list' });
    expect(blocked.status).toBe(409);
    expect(blocked.headers.get('x-concurrency-limit-running')).toBe('2');
    const body = simpleReturn(await blocked.text());
    expect(body.code).toBe(1960);
    expect(body.items['CALLS_TO_FINISH']).toBe('1');
    for (const c of controllers) c.abort();
    await expect.poll(() => sim.stats().inFlight).toBe(0);
    const free = await call(sim, '/api/2.0/fo/asset/group/', { action: 'list' });
    expect(free.status).toBe(200);
    await free.arrayBuffer();
  });

  it('frees the concurrency slot of every call, whatever its answer', async () => {
    sim.configure({ limits: { rateLimit: 1000 }, faults: { failNext: { count: 3, status: 500 } } });
    const calls = [
      () => call(sim, HLD_PATH, { action: 'list' }),
      () => call(sim, HLD_PATH, { action: 'list', bogus: '1' }),
      () => call(sim, HLD_PATH, { action: 'list' }, { user: 'auditor', password: 'auditor-pass' }),
      () => call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' }),
    ];
    for (let round = 0; round < 3; round++) {
      for (const f of calls) await (await f()).arrayBuffer();
    }
    await expect.poll(() => sim.stats().inFlight).toBe(0);
    const res = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-concurrency-limit-running')).toBe('0');
    await res.arrayBuffer();
  });

  it('does not count refused calls against the window', async () => {
    const bad = await call(sim, HLD_PATH, { action: 'list' }, { password: 'nope' });
    await bad.arrayBuffer();
    const ok = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' });
    expect(ok.headers.get('x-ratelimit-remaining')).toBe('4');
    await ok.arrayBuffer();
  });
});
