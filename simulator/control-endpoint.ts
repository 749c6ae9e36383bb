/** The simulator's own control endpoint under /__sim/ (no authentication: it is a test double). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, type ConfigPatch } from './control-schema.js';
import { readBody } from './http-body.js';
import type { SimulatorStats } from './stats.js';

export interface ControlActions {
  configure(patch: ConfigPatch): void;
  reset(): void;
  currentConfig(): unknown;
  stats(): SimulatorStats;
}

export async function control(req: IncomingMessage, res: ServerResponse, path: string, actions: ControlActions): Promise<void> {
  const json = (status: number, value: unknown) =>
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
  const route = `${req.method} ${path}`;
  if (route === 'GET /__sim/stats') return void json(200, actions.stats());
  if (route === 'GET /__sim/config') return void json(200, actions.currentConfig());
  if (route === 'POST /__sim/reset') {
    await readBody(req);
    actions.reset();
    return void json(200, actions.currentConfig());
  }
  if (route === 'POST /__sim/config') {
    let input: unknown;
    try {
      const text = await readBody(req);
      input = text.trim() === '' ? {} : JSON.parse(text);
    } catch (err) {
      return void json(400, { error: 'invalid JSON body', issues: [{ field: '(body)', reason: (err as Error).message }] });
    }
    try {
      actions.configure(input as ConfigPatch);
    } catch (err) {
      if (err instanceof ConfigError) return void json(400, { error: 'invalid simulator configuration', issues: err.issues });
      throw err;
    }
    return void json(200, actions.currentConfig());
  }
  json(404, { error: `no control endpoint ${route}`, endpoints: ['GET /__sim/stats', 'GET /__sim/config', 'POST /__sim/config', 'POST /__sim/reset'] });
}
