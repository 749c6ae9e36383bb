/**
 * Page reads and seals in a thread of the worker's own. Parsing a 14 MB page
 * makes some 40 MB of garbage, and sealing streams every page again; in the
 * main thread V8 collects that garbage in a heap that also holds Temporal's
 * SDK (about 40 MB live), and under `npm run worker`'s memory settings it
 * marks that heap about once a page: V8's helper threads then used 8.3 s of
 * CPU over a 40-page run against 2.2 s for the plain loop. In a thread of its
 * own the heap being collected is the reader's (about 14 MB). Only small
 * messages cross: the request, progress, the page's summary, the blob's key;
 * the bytes go from the socket to the staged blob inside the thread.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BlobStat } from '../evidence/blob-store.js';
import type { QualysAnswer } from '../qualys/client.js';
import type { QualysLimits } from '../qualys/limits.js';
import type { QualysConnectionSettings } from '../qualys/settings.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { bundledModule } from '../runtime/module-bundle.js';
import type { BlobStoreConfig } from '../runtime/configured-blob-store.js';
import { fromPlainError, type PlainError } from './cross-thread-error.js';
import type { LimitsSource, PageConnection, PageRead, PageBytes, PageSeal, PageSource } from './page-bytes.js';

export interface ThreadData {
  blobStore: BlobStoreConfig;
}

export type ToThread =
  | { type: 'read'; id: number; settings: QualysConnectionSettings; source: PageSource }
  | { type: 'seal'; id: number; seal: PageSeal }
  | { type: 'abort'; id: number }
  | { type: 'commit' | 'discard'; id: number };

export type FromThread =
  | { type: 'progress'; id: number; bytes: number }
  | { type: 'answer'; answer: QualysAnswer }
  | { type: 'read'; id: number; ok: true; answer: PageRead['answer']; hostIds: string | null; limits: QualysLimits }
  | { type: 'read'; id: number; ok: false; error: PlainError; limits: QualysLimits | null }
  | { type: 'commit'; id: number; ok: true; blob: BlobStat }
  | { type: 'discard'; id: number; ok: true }
  | { type: 'seal'; id: number; ok: true; blob: BlobStat }
  | { type: 'seal'; id: number; ok: false; error: PlainError }
  | { type: 'commit' | 'discard'; id: number; ok: false; error: PlainError };

const ENTRY = fileURLToPath(new URL('./page-bytes-thread-entry.ts', import.meta.url));

interface Pending {
  resolve(message: FromThread): void;
  reject(err: Error): void;
  onProgress?: (bytes: number) => void;
}

export interface ThreadPageBytesOptions {
  blobStore: BlobStoreConfig;
  logger: Logger;
  metrics?: Pick<Metrics, 'qualysAnswer'>;
  /** The thread ends after this long without work (its memory goes back), and starts again for the next page. */
  idleMs?: number;
}

/**
 * Between schedules a worker has nothing to read for hours; a thread costs
 * tens of megabytes, and starting one from the built bundle takes about
 * 0.3 s (its modules load again), small beside a page of real Qualys.
 */
const DEFAULT_IDLE_MS = 30_000;

/** Reads and seals in one thread, started when first needed, again after it dies, and ended when idle. */
export function threadPageBytes(options: ThreadPageBytesOptions): PageBytes & { readonly running: boolean } {
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const pending = new Map<number, Pending>();
  // Pages read and staged in the thread, not yet committed or discarded: the thread must live until they are.
  const staged = new Set<number>();
  // The limits each subscription's last answer reported, as the thread's clients saw them.
  const limits = new Map<string, QualysLimits>();
  let nextId = 1;
  let thread: Promise<Worker> | null = null;
  let live: Worker | null = null;
  let idleTimer: NodeJS.Timeout | undefined;

  /** Fails the pages the thread had: the activity's attempt fails and Temporal retries it. */
  const failPending = (why: string) => {
    if (pending.size > 0) options.logger.error({ pages: pending.size, reason: why }, 'the page-bytes thread stopped; its pages fail and are asked for again');
    for (const waiting of pending.values()) waiting.reject(new Error(`the page-bytes thread stopped: ${why}`));
    pending.clear();
  };

  const stop = async (why: string) => {
    const running = thread;
    thread = null;
    live = null;
    staged.clear();
    failPending(why);
    if (running) await (await running.catch(() => null))?.terminate();
  };

  const whenIdle = () => {
    clearTimeout(idleTimer);
    if (pending.size > 0 || staged.size > 0 || !thread) return;
    idleTimer = setTimeout(() => void stop('idle'), idleMs);
    idleTimer.unref();
  };

  const start = async (): Promise<Worker> => {
    const worker = new Worker(await bundledModule(ENTRY), { workerData: { blobStore: options.blobStore } satisfies ThreadData });
    live = worker;
    // Pages in flight keep the process busy anyway; an idle thread must not keep it alive.
    worker.unref();
    worker.on('message', (message: FromThread) => {
      if (message.type === 'answer') return options.metrics?.qualysAnswer(message.answer);
      const waiting = pending.get(message.id);
      if (message.type === 'progress') return waiting?.onProgress?.(message.bytes);
      pending.delete(message.id);
      waiting?.resolve(message);
    });
    const stopped = (why: string) => {
      // Ended by stop(), which has done the rest; else it died and takes its pages with it.
      if (live !== worker) return;
      thread = null;
      live = null;
      staged.clear();
      failPending(why);
    };
    worker.once('error', (err) => stopped(err.message));
    worker.once('exit', (code) => stopped(`it exited with code ${code}`));
    return worker;
  };

  const ask = async (message: ToThread, onProgress?: (bytes: number) => void): Promise<FromThread> => {
    clearTimeout(idleTimer);
    thread ??= start().catch((err: unknown) => {
      thread = null;
      throw err;
    });
    const worker = await thread;
    return new Promise((resolve, reject) => {
      pending.set(message.id, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      worker.postMessage(message);
    });
  };

  /** Asks the thread, then lets it end if that left it nothing to do (after `settled` has counted what it keeps staged). */
  const askThenIdle = async (message: ToThread, onProgress?: (bytes: number) => void, settled?: (reply: FromThread) => void): Promise<FromThread> => {
    try {
      const reply = await ask(message, onProgress);
      settled?.(reply);
      return reply;
    } finally {
      whenIdle();
    }
  };

  const settle = async (id: number, type: 'commit' | 'discard'): Promise<BlobStat | null> => {
    // Kept, thrown away, or lost with a thread that stopped: nothing to ask a thread (or start one) for.
    if (!staged.delete(id)) {
      if (type === 'discard') return null;
      throw new Error('the page-bytes thread that held this page stopped before it was kept; the page is asked for again');
    }
    const reply = await askThenIdle({ type, id });
    if (reply.type !== 'commit' && reply.type !== 'discard') throw new Error(`the page-bytes thread answered a ${type} with ${reply.type}`);
    if (!reply.ok) throw fromPlainError(reply.error);
    return 'blob' in reply ? reply.blob : null;
  };

  /** Runs a request under `signal`: aborting it tells the thread to stop that request. */
  const cancellable = async <T>(signal: AbortSignal, request: (id: number) => Promise<T>): Promise<T> => {
    signal.throwIfAborted();
    const id = nextId++;
    const cancel = () => void thread?.then((worker) => worker.postMessage({ type: 'abort', id } satisfies ToThread));
    signal.addEventListener('abort', cancel, { once: true });
    try {
      return await request(id);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  };

  const subscriptionOf = (connection: PageConnection) => `${connection.client.apiBaseUrl}\n${connection.client.username}`;

  return {
    limitsOf(connection): LimitsSource {
      const { client } = connection;
      return { apiBaseUrl: client.apiBaseUrl, username: client.username, get lastLimits() { return limits.get(subscriptionOf(connection)) ?? client.lastLimits; } };
    },

    read: (connection, source, signal, onProgress) =>
      cancellable(signal, async (id) => {
        const reply = await askThenIdle({ type: 'read', id, settings: connection.settings, source }, onProgress, (r) => {
          if (r.type === 'read' && r.ok) staged.add(id);
        });
        if (reply.type !== 'read') throw new Error(`the page-bytes thread answered a read with ${reply.type}`);
        if (reply.limits) limits.set(subscriptionOf(connection), reply.limits);
        if (!reply.ok) throw signal.aborted ? (signal.reason as Error) : fromPlainError(reply.error);
        return {
          answer: reply.answer,
          hostIds: reply.hostIds,
          commit: async () => (await settle(id, 'commit'))!,
          abort: async () => {
            await settle(id, 'discard');
          },
        };
      }),

    seal: (seal, signal) =>
      cancellable(signal, async (id) => {
        const reply = await askThenIdle({ type: 'seal', id, seal });
        if (reply.type !== 'seal') throw new Error(`the page-bytes thread answered a seal with ${reply.type}`);
        if (!reply.ok) throw signal.aborted ? (signal.reason as Error) : fromPlainError(reply.error);
        return reply.blob;
      }),

    close: async () => {
      clearTimeout(idleTimer);
      await stop('the worker is closing');
    },

    get running() {
      return live !== null;
    },
  };
}
