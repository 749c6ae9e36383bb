/**
 * The API on a Postgres database of its own, next to an API stack (whose
 * simulator and Temporal it shares). For tests that count rows or need a
 * state of the whole database, like "no admin key left", which other test
 * files running at the same time would disturb in the shared database.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { serve, type ServerType } from '@hono/node-server';
import postgres from 'postgres';
import { createApp } from '../../api/app.js';
import { createApiKey } from '../../db/api-keys.js';
import { openDatabase, type DatabaseHandle } from '../../db/database.js';
import type { ApiStack } from './api-stack.js';

export interface ScratchApi {
  baseUrl: string;
  database: DatabaseHandle;
  adminToken: string;
  auditorToken: string;
  request: ApiStack['request'];
  close(): Promise<void>;
}

export async function startScratchApi(stack: ApiStack): Promise<ScratchApi> {
  const shared = new URL(inject('databaseUrl'));
  const adminUrl = new URL(shared);
  adminUrl.pathname = '/postgres';
  const name = `qec_scratch_${randomUUID().replaceAll('-', '')}`;
  const adminSql = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  await adminSql.unsafe(`create database ${name}`);
  const url = new URL(shared);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), max: 4 });
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
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      const token = opts.token === undefined ? admin.token : opts.token;
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = opts.rawBody;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await res.text();
      const parsed: unknown = /json/.test(res.headers.get('content-type') ?? '') && text ? JSON.parse(text) : text;
      return { status: res.status, headers: res.headers, body: parsed as never, text };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
      await adminSql.unsafe(`drop database if exists ${name} with (force)`);
      await adminSql.end();
    },
  };
}
