/**
 * undici's agents, loaded from their own modules. The package's index loads
 * all of undici (fetch, WebSocket, caches, mocks): 6.8 MB of heap in every
 * thread that imports it, against 2.4 MB for the agent, and the worker has
 * two such threads. The transport needs only `dispatch`, which an agent has
 * without the index. Same module instances as the index's, so `instanceof`
 * still holds.
 */
import { createRequire } from 'node:module';
import type * as undici from 'undici';

const require = createRequire(import.meta.url);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof undici.Agent;

/**
 * A proxy tunnels with the `connect` method the index adds to every
 * dispatcher, so the whole of undici is loaded, and only when a connection
 * names a proxy.
 */
export function loadProxyAgent(): typeof undici.ProxyAgent {
  return (require('undici') as typeof undici).ProxyAgent;
}
