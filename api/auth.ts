/**
 * Bearer API keys with two roles. `admin` manages what runs (connections,
 * fetchers, mappings, schedules, keys, webhooks); `auditor` runs fetchers and
 * reads runs, evidence, controls and requests. Admin includes auditor.
 */
import type { MiddlewareHandler } from 'hono';
import { verifyApiKey, type ApiKey } from '../db/api-keys.js';
import type { AppDatabase } from '../db/database.js';
import { ApiError } from './problem.js';

export type Role = 'admin' | 'auditor';

export interface AuthVariables {
  apiKey: ApiKey;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function authenticate(db: AppDatabase): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const token = header ? BEARER.exec(header)?.[1] : undefined;
    if (!token) {
      throw new ApiError('unauthenticated', 'send an API key as "Authorization: Bearer <token>"', {
        headers: { 'www-authenticate': 'Bearer realm="qualys-connector"' },
      });
    }
    const apiKey = await verifyApiKey(db, token);
    if (!apiKey) {
      throw new ApiError('unauthenticated', 'the API key is unknown or revoked', {
        headers: { 'www-authenticate': 'Bearer realm="qualys-connector", error="invalid_token"' },
      });
    }
    c.set('apiKey', apiKey);
    await next();
  };
}

export function requireRole(role: Role): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const key = c.get('apiKey');
    if (role === 'admin' && key.role !== 'admin') {
      throw new ApiError('forbidden', `this needs an admin API key; "${key.name}" is an ${key.role} key`);
    }
    await next();
  };
}
