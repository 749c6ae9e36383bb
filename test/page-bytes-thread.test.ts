/**
 * Page reads and seals in the worker's page-bytes thread, against the
 * simulator over real HTTP and a local blob store: the same bytes, summary,
 * host IDs and sealed evidence as on the calling thread; Qualys's refusals
 * arrive as their own error classes with their fields, and their limits
 * reach the call slots; cancelling stops the read and leaves nothing staged;
 * a thread that stops fails its pages and the next read gets a new one.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inlinePageBytes, type PageConnection, type PageSource } from '../activities/page-bytes.js';
import { threadPageBytes } from '../activities/page-bytes-thread.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import { createQualysClient } from '../qualys/client.js';
import { QualysAuthError, QualysRateLimitError } from '../qualys/errors.js';
import type { QualysConnectionSettings } from '../qualys/settings.js';
import type { BlobStoreConfig } from '../runtime/configured-blob-store.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';

let sim: SimulatorHandle;
let dir: string;
let blobStore: BlobStoreConfig;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  sim = await startSimulator({ hosts: 300, seed: 5, now: '2026-11-01T00:00:00Z' });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-page-bytes-'));
  blobStore = { blobDir: path.join(dir, 'blobs'), s3: null, staging: { graceMs: 60_000, sweepMs: 60_000 } };
});
afterEach(async () => {
  sim.reset();
  await Promise.all(opened.splice(0).map((o) => o.close()));
});
afterAll(async () => {
  await sim?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function connection(password = 'demo-pass'): PageConnection {
  const settings: QualysConnectionSettings = { apiBaseUrl: sim.url, username: 'demo', password };
  const client = createQualysClient(settings);
  opened.push(client);
  return { client, settings };
}

function inThread(answers: unknown[] = [], idleMs?: number) {
  const pageBytes = threadPageBytes({ blobStore, logger: pino({ level: 'silent' }), metrics: { qualysAnswer: (a) => void answers.push(a) }, ...(idleMs ? { idleMs } : {}) });
  opened.push(pageBytes);
  return pageBytes;
}

/** A page of 100 hosts with results is over a megabyte; all 300 hosts, over three. */
const detectionPage = (hosts = 100): PageSource => ({
  kind: 'host_list_detection',
  params: { action: 'list', truncation_limit: String(hosts), show_results: '1' },
  idMin: null,
  postFilter: null,
});
/** Slow enough that a read of the whole subscription is still going seconds after its first megabyte. */
const SLOW = { latency: { bodyBytesPerSec: 500_000 } };

async function stagingFiles(): Promise<string[]> {
  return (await fs.readdir(path.join(blobStore.blobDir, 'tmp')).catch(() => [])).filter((name) => name !== 'owners');
}

describe('the page-bytes thread', () => {
  it('reads and stores a page exactly as a read on the calling thread does', async () => {
    const answers: unknown[] = [];
    const pageBytes = inThread(answers);
    const inline = inlinePageBytes(createLocalBlobStore(path.join(dir, 'inline')));
    const progress: number[] = [];
    const threaded = await pageBytes.read(connection(), detectionPage(), new AbortController().signal, (bytes) => progress.push(bytes));
    const local = await inline.read(connection(), detectionPage(), new AbortController().signal, () => {});
    expect(threaded.answer.summary).toEqual(local.answer.summary);
    expect(threaded.answer.sha256).toBe(local.answer.sha256);
    expect(threaded.hostIds).toBe(local.hostIds);
    expect(threaded.hostIds).toMatch(/^\d+/);
    const blob = await threaded.commit();
    expect(blob).toEqual(await local.commit());
    expect(blob.bytes).toBe(threaded.answer.bytes);
    await expect(fs.stat(path.join(blobStore.blobDir, ...blob.key.split('/')))).resolves.toMatchObject({ size: blob.bytes });
    // Progress was told on the way.
    expect(progress.length).toBeGreaterThan(0);
    expect(answers).toMatchObject([{ httpStatus: 200, result: 'ok' }]);
  });

  it('seals stored pages exactly as the calling thread does, and says why it cannot', async () => {
    const pageBytes = inThread();
    const conn = connection();
    const first = await pageBytes.read(conn, detectionPage(), new AbortController().signal, () => {});
    const second = await pageBytes.read(conn, { ...detectionPage(), idMin: first.answer.summary.nextIdMin }, new AbortController().signal, () => {});
    const pages = [first, second];
    const stored = await Promise.all(pages.map((p) => p.commit()));
    const seal = { format: 'XML' as const, pages: stored.map((blob, i) => ({ blobKey: blob.key, layout: pages[i]!.answer.summary.layout })) };
    const sealed = await pageBytes.seal(seal, new AbortController().signal);
    expect(sealed).toEqual(await inlinePageBytes(createLocalBlobStore(blobStore.blobDir)).seal(seal, new AbortController().signal));
    expect(sealed.bytes).toBeGreaterThan(stored[0]!.bytes);
    const missing = { ...seal, pages: [{ ...seal.pages[0]!, blobKey: `sha256/00/${'0'.repeat(64)}` }] };
    await expect(pageBytes.seal(missing, new AbortController().signal)).rejects.toMatchObject({ name: 'SealError', message: expect.stringContaining('is not in the store') });
  });

  it('reads the answers of other endpoints as they come', async () => {
    const pageBytes = inThread();
    const page = await pageBytes.read(connection(), { kind: 'raw', method: 'GET', path: '/api/2.0/fo/asset/group/', params: { action: 'list' }, idMin: null }, new AbortController().signal, () => {});
    expect(page.hostIds).toBeNull();
    expect(page.answer.bytes).toBeGreaterThan(0);
    expect((await page.commit()).bytes).toBe(page.answer.bytes);
  });

  it("gives Qualys's refusals back as their own classes, fields and limits", async () => {
    const pageBytes = inThread();
    const conn = connection();
    sim.configure({ faults: { rateLimitNext: { count: 1, secondsToWait: 7, endpoint: 'detection' } } });
    const refused = await pageBytes.read(conn, detectionPage(), new AbortController().signal, () => {}).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(QualysRateLimitError);
    expect(refused).toMatchObject({ name: 'QualysRateLimitError', kind: 'rate_limit', retryable: true, retryAfterSeconds: 7, httpStatus: 409 });
    // What the thread's client saw is what the call slots learn from.
    expect(pageBytes.limitsOf(conn).lastLimits.toWaitSec).toBe(7);
    await expect(pageBytes.read(connection('wrong'), detectionPage(), new AbortController().signal, () => {})).rejects.toBeInstanceOf(QualysAuthError);
    expect(await stagingFiles()).toEqual([]);
  });

  it('stops a read that is cancelled and leaves nothing staged, and discards a page it is told to', async () => {
    const pageBytes = inThread();
    sim.configure(SLOW);
    const cancel = new AbortController();
    let told = 0;
    const reading = pageBytes.read(connection(), detectionPage(300), cancel.signal, (bytes) => {
      told = bytes;
      cancel.abort(new Error('cancelled by the test'));
    });
    await expect(reading).rejects.toThrow('cancelled by the test');
    expect(told).toBeGreaterThan(0);
    await expect.poll(stagingFiles).toEqual([]);

    sim.configure({ latency: { bodyBytesPerSec: 0 } });
    const page = await pageBytes.read(connection(), detectionPage(), new AbortController().signal, () => {});
    expect(await stagingFiles()).toHaveLength(1);
    await page.abort();
    expect(await stagingFiles()).toEqual([]);
  });

  it('ends the thread once it has nothing to do, not while a read page waits to be kept, and starts another for the next page', async () => {
    const pageBytes = inThread([], 300);
    // Its twin keeps what it reads at once: once the twin's thread has ended, an idle period has passed.
    const twin = inThread([], 300);
    expect(pageBytes.running).toBe(false);
    const page = await pageBytes.read(connection(), detectionPage(), new AbortController().signal, () => {});
    await (await twin.read(connection(), detectionPage(), new AbortController().signal, () => {})).commit();
    expect(pageBytes.running).toBe(true);
    await expect.poll(() => twin.running, { timeout: 5_000 }).toBe(false);
    // The staged page kept its thread.
    expect(pageBytes.running).toBe(true);
    const blob = await page.commit();
    await expect.poll(() => pageBytes.running, { timeout: 5_000 }).toBe(false);
    const again = await pageBytes.read(connection(), detectionPage(), new AbortController().signal, () => {});
    expect(pageBytes.running).toBe(true);
    expect(await again.commit()).toEqual(blob);
  });

  it('fails the pages of a thread that stopped and starts another for the next read', async () => {
    const pageBytes = inThread();
    sim.configure(SLOW);
    let told = 0;
    const reading = pageBytes.read(connection(), detectionPage(300), new AbortController().signal, (bytes) => (told = bytes));
    reading.catch(() => {});
    await expect.poll(() => told, { timeout: 15_000 }).toBeGreaterThan(0);
    // Terminating the thread mid-page is what a crash of its code looks like to the activity.
    await pageBytes.close();
    await expect(reading).rejects.toThrow(/page-bytes thread stopped/);
    sim.configure({ latency: { bodyBytesPerSec: 0 } });
    const page = await pageBytes.read(connection(), detectionPage(), new AbortController().signal, () => {});
    // A page read but not kept goes with its thread: keeping it fails (the page is asked for again), throwing it away is nothing to do.
    const lost = await pageBytes.read(connection(), detectionPage(), new AbortController().signal, () => {});
    expect((await page.commit()).bytes).toBe(page.answer.bytes);
    await pageBytes.close();
    await expect(lost.commit()).rejects.toThrow(/stopped before it was kept/);
    await expect(lost.abort()).resolves.toBeUndefined();
    expect(pageBytes.running).toBe(false);
  });
});
