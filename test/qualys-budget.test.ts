/**
 * One Qualys budget per subscription, across processes: callers in two
 * processes never run more calls at once than the subscription allows less
 * the reserve, a SIGKILLed holder's slot comes back when its lease expires,
 * and pacing keeps a burst of calls clear of the rate limit (1965).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCallSlots } from '../activities/call-slots.js';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { readBudget, rateWaitMs } from '../db/qualys-budget.js';
import { createScratchDatabase, type ScratchDatabase } from '../db/scratch-database.js';
import { createQualysClient } from '../qualys/client.js';
import { subscriptionId } from '../qualys/subscription.js';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { runCallers, type CallerReport } from './support/budget-callers.js';

let scratch: ScratchDatabase;
let database: DatabaseHandle;
let sim: SimulatorHandle;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  scratch = await createScratchDatabase(inject('databaseUrl'), 'qec_budget');
  database = await openDatabase({ url: scratch.url, max: 6 });
  sim = await startSimulator({ hosts: 20, seed: 3, now: '2026-11-01T00:00:00Z' });
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  await database?.close();
  await scratch?.drop();
  await sim?.close();
});

/** Callers in a second process, on the same database and subscription (the simulator's user "demo"). */
function spawnCallers(env: Record<string, string>): { child: ChildProcess; output: () => string; done: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test/support/budget-callers.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: scratch.url, SIM_URL: sim.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (b) => (output += b));
  child.stderr!.on('data', (b) => (output += b));
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, done };
}

async function waitForFirstCall(): Promise<void> {
  // One call teaches the budget the subscription's limits (until then a single slot is used).
  await runCallers({ db: database.db, simUrl: sim.url, callers: 1, callsEach: 1, reserve: 0, leaseTtlMs: 60_000 });
}

describe('the shared Qualys budget', () => {
  it('never runs more calls at once than the limit less the reserve, across two processes', async () => {
    sim.reset();
    // Each call's body trickles for a few hundred milliseconds, so calls overlap.
    sim.configure({ limits: { concurrencyLimit: 4 }, faults: { slowBodyBytesPerSec: 8_000, endpoints: ['detection'] } });
    await waitForFirstCall();
    const other = spawnCallers({ BUDGET_CALLERS: '4', BUDGET_CALLS_EACH: '3', BUDGET_RESERVE: '1' });
    const here = runCallers({ db: database.db, simUrl: sim.url, callers: 4, callsEach: 3, reserve: 1, leaseTtlMs: 60_000 });
    const [mine, code] = await Promise.all([here, other.done]);
    expect(code, other.output()).toBe(0);
    const theirs = JSON.parse(other.output().trim().split('\n').at(-1)!) as CallerReport;
    expect(mine).toEqual({ ok: 12, failed: [] });
    expect(theirs).toEqual({ ok: 12, failed: [] });

    const stats = sim.stats();
    // Limit 4, reserve 1: three slots, all used, never a fourth call.
    expect(stats.peakConcurrent).toBe(3);
    expect(stats.byCode['1960'] ?? 0).toBe(0);
    const budget = await readBudget(database.db, subscriptionId(sim.url, 'demo'), 1);
    expect(budget).toMatchObject({ concurrencyLimit: 4, reserve: 1, slots: 3, inUse: 0, waiting: 0 });
  });

  it('gives a SIGKILLed holder\'s slot to the next caller once its lease expires', async () => {
    sim.reset();
    sim.configure({ limits: { concurrencyLimit: 1 }, faults: { slowBodyBytesPerSec: 3_000, endpoints: ['detection'] } });
    await waitForFirstCall();
    // The holder's call trickles for minutes; its lease lives 2 s unless renewed.
    sim.configure({ faults: { slowBodyBytesPerSec: 5, endpoints: ['detection'] } });
    const holder = spawnCallers({ BUDGET_HOLD: '1', BUDGET_LEASE_TTL_MS: '2000' });
    await expect.poll(() => holder.output(), { timeout: 30_000, interval: 50 }).toContain('holding');
    const sub = subscriptionId(sim.url, 'demo');
    expect(await readBudget(database.db, sub, 0)).toMatchObject({ slots: 1, inUse: 1 });

    holder.child.kill('SIGKILL');
    await holder.done;
    const killedAt = Date.now();
    sim.configure({ faults: { slowBodyBytesPerSec: 0 } });
    const waiting = runCallers({ db: database.db, simUrl: sim.url, callers: 1, callsEach: 1, reserve: 0, leaseTtlMs: 2_000 });
    await expect.poll(async () => (await readBudget(database.db, sub, 0)).waiting, { timeout: 5_000, interval: 50 }).toBe(1);
    expect(await waiting).toEqual({ ok: 1, failed: [] });
    // It had to wait for the dead holder's lease to run out, not a moment longer than needed.
    const waited = Date.now() - killedAt;
    expect(waited).toBeGreaterThan(500);
    expect(waited).toBeLessThan(10_000);
    expect(await readBudget(database.db, sub, 0)).toMatchObject({ inUse: 0, waiting: 0 });
  });

  it('lets a caller waiting for a slot heartbeat and give up when cancelled, leaving the queue', async () => {
    sim.reset();
    sim.configure({ limits: { concurrencyLimit: 1 } });
    await waitForFirstCall();
    const slots = createCallSlots({ db: database.db, logger: pino({ level: 'silent' }), qualysBudget: { concurrencyReserve: 0, leaseTtlMs: 60_000 } });
    const client = createQualysClient({ apiBaseUrl: sim.url, username: 'demo', password: 'demo-pass' });
    const sub = subscriptionId(sim.url, 'demo');
    let release!: () => void;
    const held = slots.run(client, { signal: new AbortController().signal, maxWaitMs: 60_000, purpose: 'holder' }, async (signal) => {
      await new Promise<void>((resolve) => (release = resolve));
      return client.checkConnection(signal);
    });
    await expect.poll(async () => (await readBudget(database.db, sub, 0)).inUse, { timeout: 5_000 }).toBe(1);

    const cancel = new AbortController();
    let beats = 0;
    const waiting = slots.run(client, { signal: cancel.signal, onWait: () => beats++, maxWaitMs: 60_000, purpose: 'waiter' }, (signal) => client.checkConnection(signal));
    await expect.poll(() => beats, { timeout: 5_000 }).toBeGreaterThan(2);
    expect(await readBudget(database.db, sub, 0)).toMatchObject({ inUse: 1, waiting: 1 });
    cancel.abort(new Error('run cancelled'));
    await expect(waiting).rejects.toThrow('run cancelled');
    expect(await readBudget(database.db, sub, 0)).toMatchObject({ inUse: 1, waiting: 0 });

    release();
    await held;
    await client.close();
    expect(await readBudget(database.db, sub, 0)).toMatchObject({ inUse: 0, waiting: 0 });
  });

  it('spreads a burst of calls over the rate window so that none is refused with 1965', async () => {
    sim.reset();
    sim.configure({ limits: { rateLimit: 20, rateWindowSec: 2, concurrencyLimit: 10 } });
    // Without the budget, the same burst runs into the rate limit.
    const bare = createQualysClient({ apiBaseUrl: sim.url, username: 'demo', password: 'demo-pass' });
    const refused = await Promise.allSettled(Array.from({ length: 30 }, () => bare.checkConnection()));
    await bare.close();
    expect(refused.filter((r) => r.status === 'rejected').length).toBeGreaterThan(0);
    expect(sim.stats().byCode['1965']).toBeGreaterThan(0);

    sim.reset();
    sim.configure({ limits: { rateLimit: 20, rateWindowSec: 2, concurrencyLimit: 10 } });
    const other = spawnCallers({ BUDGET_CALLERS: '3', BUDGET_CALLS_EACH: '5' });
    const mine = await runCallers({ db: database.db, simUrl: sim.url, callers: 3, callsEach: 5, reserve: 0, leaseTtlMs: 60_000 });
    expect(await other.done, other.output()).toBe(0);
    expect(mine).toEqual({ ok: 15, failed: [] });
    expect(JSON.parse(other.output().trim().split('\n').at(-1)!)).toEqual({ ok: 15, failed: [] });
    expect(sim.stats().byCode['1965'] ?? 0).toBe(0);
    expect(sim.stats().byStatus['200']).toBe(30);
  });
});

describe('rate pacing', () => {
  const base = { limit: 20, windowSec: 60, reportedRemaining: null, waitSec: null, sinceObservedMs: null, oursInWindow: 0, oursAtObservation: 0, oldestLeavesInMs: null };
  it('admits while the calls in the rolling window stay under the limit, then as the oldest leaves it', () => {
    expect(rateWaitMs({ ...base, limit: null, windowSec: null })).toBe(0);
    expect(rateWaitMs({ ...base, oursInWindow: 19, oldestLeavesInMs: 5_000 })).toBe(0);
    expect(rateWaitMs({ ...base, oursInWindow: 20, oldestLeavesInMs: 5_000 })).toBe(5_000);
  });

  it('counts the calls of other tools that the last answer showed until they must have left the window', () => {
    // Qualys counted 15 calls 10 s ago, 5 of them ours: 10 belong to other tools.
    const observed = { ...base, reportedRemaining: 5, sinceObservedMs: 10_000, oursAtObservation: 5 };
    expect(rateWaitMs({ ...observed, oursInWindow: 9, oldestLeavesInMs: 30_000 })).toBe(0);
    expect(rateWaitMs({ ...observed, oursInWindow: 10, oldestLeavesInMs: 30_000 })).toBe(30_000);
    // The other tools' calls leave by a window after the observation, here before our oldest.
    expect(rateWaitMs({ ...observed, oursInWindow: 10, oldestLeavesInMs: 55_000 })).toBe(50_000);
    // An observation older than a window says nothing any more.
    expect(rateWaitMs({ ...observed, sinceObservedMs: 61_000, oursInWindow: 10, oldestLeavesInMs: 30_000 })).toBe(0);
  });

  it('waits for Qualys\'s ToWait when another tool spent the budget, then probes', () => {
    const spent = { ...base, reportedRemaining: 0, waitSec: 30, oursAtObservation: 0 };
    expect(rateWaitMs({ ...spent, sinceObservedMs: 10_000 })).toBe(20_000);
    expect(rateWaitMs({ ...spent, sinceObservedMs: 31_000 })).toBe(0);
  });
});
