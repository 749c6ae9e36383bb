/**
 * Calls the API itself makes to Qualys (credential checks, picker lists),
 * with a client built for the one call and closed after it. These run while
 * an HTTP caller waits, so they use timeouts far shorter than a page pull.
 */
import { ConnectionDisconnectedError } from '../db/errors.js';
import { getConnectionCredentials, markConnectionStatus, type Connection } from '../db/connections.js';
import { createQualysClient, type QualysClient } from '../qualys/client.js';
import { QualysAuthError, QualysError } from '../qualys/errors.js';
import type { QualysApiVersion } from '../qualys/settings.js';
import type { ApiDeps } from './deps.js';
import { ApiError, notFound } from './problem.js';
import { qualysProblem } from './qualys-problems.js';

export interface QualysAccess {
  apiBaseUrl: string;
  apiVersion: string;
  username: string;
  password: string;
  proxyUrl: string | null;
}

/** Long enough for a slow Qualys answer to a small list, short enough for someone waiting on a form. */
const API_CALL_TIMEOUTS = { connectMs: 10_000, firstByteMs: 60_000, idleMs: 30_000 };

function timeoutsFor(deps: ApiDeps) {
  const configured = Object.entries(deps.qualys?.timeouts ?? {}).filter(([, ms]) => ms !== undefined);
  return { ...API_CALL_TIMEOUTS, ...Object.fromEntries(configured) };
}

/**
 * One call with a fresh client; Qualys failures become the API's problem
 * documents. `onRefused` runs first when Qualys refuses the account.
 */
export async function withQualysClient<T>(
  deps: ApiDeps,
  access: QualysAccess,
  call: (client: QualysClient) => Promise<T>,
  onRefused?: (err: QualysAuthError) => Promise<void>,
): Promise<T> {
  const client = createQualysClient(
    {
      apiBaseUrl: access.apiBaseUrl,
      apiVersion: access.apiVersion as QualysApiVersion,
      username: access.username,
      password: access.password,
      ...(access.proxyUrl ? { proxyUrl: access.proxyUrl } : {}),
      timeouts: timeoutsFor(deps),
    },
    { onAnswer: (answer) => deps.metrics?.qualysAnswer(answer) },
  );
  try {
    return await call(client);
  } catch (err) {
    if (err instanceof QualysAuthError && onRefused) await onRefused(err);
    throw err instanceof QualysError ? qualysProblem(err) : err;
  } finally {
    await client.close();
  }
}

/** The stored connection's credentials: 404 when it does not exist, 409 once it was disconnected. */
export async function storedQualysAccess(deps: ApiDeps, connectionId: string): Promise<{ connection: Connection; access: QualysAccess }> {
  try {
    const credentials = await getConnectionCredentials(deps.db, deps.secretBox, connectionId);
    if (!credentials) throw notFound('connection', connectionId);
    const { connection, password } = credentials;
    return { connection, access: { ...connection, password } };
  } catch (err) {
    if (err instanceof ConnectionDisconnectedError) {
      throw new ApiError('conflict', `connection ${connectionId} is disconnected; give it credentials again (PATCH with username and password) before using it`);
    }
    throw err;
  }
}

/**
 * A call with a stored connection's credentials. When Qualys refuses the
 * account, the connection is marked invalid, as a fetcher run would do.
 */
export async function withStoredConnection<T>(
  deps: ApiDeps,
  connectionId: string,
  call: (client: QualysClient, connection: Connection) => Promise<T>,
): Promise<T> {
  const { connection, access } = await storedQualysAccess(deps, connectionId);
  return withQualysClient(
    deps,
    access,
    (client) => call(client, connection),
    async (err) => {
      await markConnectionStatus(deps.db, connectionId, 'invalid', `${err.reason}: ${err.message}`);
      deps.logger.warn({ connectionId, reason: err.reason, qualysCode: err.code }, 'Qualys refused a stored connection; marked invalid');
    },
  );
}
