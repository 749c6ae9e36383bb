/**
 * The API on a Postgres database of its own, next to an API stack (whose
 * simulator and Temporal it shares). For tests that count rows or need a
 * state of the whole database, like "no admin key left", which other test
 * files running at the same time would disturb in the shared database.
 */
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { serve, type ServerType } from '@hono/node-server';
import { createScratchDatabase } from '../../db/scratch-database.js';
import { createApp } from '../../api/app.js';
import { createApiKey } from '../../db/api-keys.js';
import { openDatabase, type DatabaseHandle } from '../../db/database.js';
import { jsonRequester, type ApiStack } from './api-stack.js';

export interface ScratchApi {
  baseUrl: string;
  database: DatabaseHandle;
  adminToken: string;
  auditorToken: string;
  request: ApiStack['request'];
  close(): Promise<void>;
}

export async function startScratchApi(stack: ApiStack): Promise<ScratchApi> {
  const scratch = await createScratchDatabase(inject('databaseUrl'), 'qec_scratch');
  const database = await openDatabase({ url: scratch.url, max: 4 });
  const app = createApp({ ...stack.deps, db: database.db });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = await createApiKey(database.db, { name: 'scratch-admin', role: 'admin' });
  const auditor = await createApiKey(database.db, { name: 'scratch-auditor', role: 'auditor' });

  return {
    baseUrl,
    database,
    adminToken: admin.token,
    auditorToken: auditor.token,
    request: jsonRequester(baseUrl, admin.token),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
      await scratch.drop();
    },
  };
}
