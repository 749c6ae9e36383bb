/**
 * Qualys clients for the connections activities work with. A client keeps
 * its HTTP connections open between pages, so it is reused while the stored
 * connection is unchanged; a rotated password or a new URL makes a new one.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ActivityDeps } from './deps.js';
import { invalidState, notFound } from './failures.js';
import { ConnectionDisconnectedError } from '../db/errors.js';
import { getConnectionCredentials, type Connection } from '../db/connections.js';
import { createQualysClient, type QualysClient } from '../qualys/client.js';
import type { QualysApiVersion, QualysConnectionSettings } from '../qualys/settings.js';

/** Enough for every connection a worker serves at once; the least recently used beyond it is closed. */
const MAX_CLIENTS = 32;

export interface ConnectedClient {
  connection: Connection;
  client: QualysClient;
  /** What the client was made from, password included: for a page-bytes thread's own client. Never logged. */
  settings: QualysConnectionSettings;
}

export interface QualysClientPool {
  get(connectionId: string): Promise<ConnectedClient>;
  /** Closes every client; the worker calls it once it has stopped. */
  closeAll(): Promise<void>;
}

export function createQualysClientPool(deps: Pick<ActivityDeps, 'db' | 'secretBox' | 'qualysTimeouts' | 'metrics'>): QualysClientPool {
  const clients = new LRUCache<string, { fingerprint: string; client: QualysClient; settings: QualysConnectionSettings }>({
    max: MAX_CLIENTS,
    // Evicted, or replaced after a password rotation; `closeAll` closes the rest itself.
    dispose: (entry, _id, reason) => {
      if (reason === 'evict' || reason === 'set') void entry.client.close();
    },
  });

  async function get(connectionId: string): Promise<ConnectedClient> {
    let credentials;
    try {
      credentials = await getConnectionCredentials(deps.db, deps.secretBox, connectionId);
    } catch (err) {
      if (err instanceof ConnectionDisconnectedError) throw invalidState(err.message);
      throw err;
    }
    if (!credentials) throw notFound('connection', connectionId);
    const { connection, password } = credentials;
    if (connection.status === 'disconnected') throw invalidState(`connection ${connectionId} is disconnected`);
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([connection.apiBaseUrl, connection.apiVersion, connection.username, connection.proxyUrl, password]))
      .digest('hex');
    const cached = clients.get(connectionId);
    if (cached?.fingerprint === fingerprint) return { connection, client: cached.client, settings: cached.settings };
    const settings: QualysConnectionSettings = {
      apiBaseUrl: connection.apiBaseUrl,
      apiVersion: connection.apiVersion as QualysApiVersion,
      username: connection.username,
      password,
      ...(connection.proxyUrl ? { proxyUrl: connection.proxyUrl } : {}),
      ...(deps.qualysTimeouts ? { timeouts: withDefinedValues(deps.qualysTimeouts) } : {}),
    };
    const client = createQualysClient(settings, { onAnswer: (answer) => deps.metrics?.qualysAnswer(answer) });
    // Replacing an entry disposes (closes) the client made with the old credentials.
    clients.set(connectionId, { fingerprint, client, settings });
    return { connection, client, settings };
  }

  async function closeAll(): Promise<void> {
    const all = [...clients.values()];
    clients.clear();
    await Promise.allSettled(all.map((c) => c.client.close()));
  }

  return { get, closeAll };
}

function withDefinedValues<T extends Record<string, number | undefined>>(timeouts: T) {
  return Object.fromEntries(Object.entries(timeouts).filter(([, v]) => v !== undefined)) as { connectMs: number; firstByteMs: number; idleMs: number };
}
