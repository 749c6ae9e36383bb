/**
 * The page-bytes thread: reads pages from Qualys into staged blobs and seals
 * stored pages for the worker's activities (page-bytes-thread.ts is the other
 * side). It holds a Qualys client per connection and the configured blob
 * store; pages stay staged here until the activity commits or discards them.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { createQualysClient, type QualysClient } from '../qualys/client.js';
import { createConfiguredBlobStore } from '../runtime/configured-blob-store.js';
import { toPlainError } from './cross-thread-error.js';
import { inlinePageBytes, type PageRead } from './page-bytes.js';
import type { FromThread, ThreadData, ToThread } from './page-bytes-thread.js';

/** Progress is told in steps this large: heartbeats need a recent figure, not every chunk. */
const PROGRESS_STEP_BYTES = 1024 * 1024;
const MAX_CLIENTS = 32;

const port = parentPort!;
const post = (message: FromThread) => port.postMessage(message);
const { blobStore: blobStoreConfig } = workerData as ThreadData;
const blobStore = await createConfiguredBlobStore(blobStoreConfig);
const pageBytes = inlinePageBytes(blobStore);

const clients = new LRUCache<string, QualysClient>({ max: MAX_CLIENTS, dispose: (client) => void client.close() });
/** Reads and seals in progress (their abort), and pages read and staged (their blob), by request id. */
const running = new Map<number, AbortController>();
const staged = new Map<number, PageRead>();

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'read':
      void read(message);
      return;
    case 'seal':
      void seal(message);
      return;
    case 'abort':
      running.get(message.id)?.abort(new DOMException('cancelled by the activity', 'AbortError'));
      return;
    case 'commit':
    case 'discard':
      void settle(message.id, message.type);
      return;
  }
});

function clientFor(settings: Extract<ToThread, { type: 'read' }>['settings']): QualysClient {
  // Keyed by every setting, the password included, so a rotated password gets a client of its own.
  const key = createHash('sha256').update(JSON.stringify(settings)).digest('hex');
  let client = clients.get(key);
  if (!client) {
    client = createQualysClient(settings, { onAnswer: (answer) => post({ type: 'answer', answer }) });
    clients.set(key, client);
  }
  return client;
}

/** Runs a read or seal under an abort the activity can trigger by its id. */
async function abortable(id: number, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  running.set(id, abort);
  try {
    await run(abort.signal);
  } finally {
    running.delete(id);
  }
}

function read({ id, settings, source }: Extract<ToThread, { type: 'read' }>): Promise<void> {
  return abortable(id, async (signal) => {
    let client: QualysClient | null = null;
    let told = 0;
    try {
      client = clientFor(settings);
      const onProgress = (bytes: number) => {
        if (bytes - told < PROGRESS_STEP_BYTES) return;
        told = bytes;
        post({ type: 'progress', id, bytes });
      };
      const page = await pageBytes.read({ client, settings }, source, signal, onProgress);
      staged.set(id, page);
      post({ type: 'read', id, ok: true, answer: page.answer, hostIds: page.hostIds, limits: client.lastLimits });
    } catch (err) {
      post({ type: 'read', id, ok: false, error: toPlainError(err), limits: client?.lastLimits ?? null });
    }
  });
}

function seal({ id, seal: input }: Extract<ToThread, { type: 'seal' }>): Promise<void> {
  return abortable(id, async (signal) => {
    try {
      post({ type: 'seal', id, ok: true, blob: await pageBytes.seal(input, signal) });
    } catch (err) {
      post({ type: 'seal', id, ok: false, error: toPlainError(err) });
    }
  });
}

async function settle(id: number, how: 'commit' | 'discard'): Promise<void> {
  const page = staged.get(id);
  staged.delete(id);
  try {
    if (how === 'discard') {
      await page?.abort();
      post({ type: 'discard', id, ok: true });
      return;
    }
    if (!page) throw new Error(`page read ${id} is not staged in the page-bytes thread`);
    post({ type: 'commit', id, ok: true, blob: await page.commit() });
  } catch (err) {
    post({ type: how, id, ok: false, error: toPlainError(err) });
  }
}
