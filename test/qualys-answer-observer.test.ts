/**
 * The Qualys client's answer observer (what the metrics hang on), over real
 * HTTP against the simulator and a tiny local server: every call is told
 * once, with the path without its query, the HTTP status, Qualys's code and
 * the result, whether Qualys said yes, no in an error status, no inside a
 * 200, or nothing at all.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createQualysClient, type QualysAnswer, type QualysClient } from '../qualys/client.js';
import { QualysAuthError, QualysConcurrencyLimitError, QualysParameterError, QualysTransientError } from '../qualys/errors.js';
import { freePort } from '../runtime/free-port.js';
import { simpleReturnXml } from '../simulator/simple-return.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { CollectingSink } from './fixtures/qualys/helpers.js';

const DETECTION = '/api/5.0/fo/asset/host/vm/detection/';
let sim: SimulatorHandle;
const clients: QualysClient[] = [];

beforeAll(async () => {
  sim = await startSimulator({ hosts: 20, seed: 3, now: '2026-11-01T00:00:00Z' });
});
afterEach(() => sim.reset());
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim?.close();
});

function observed(apiBaseUrl: string, password = 'demo-pass') {
  const answers: QualysAnswer[] = [];
  const client = createQualysClient({ apiBaseUrl, username: 'demo', password }, { onAnswer: (a) => answers.push(a) });
  clients.push(client);
  return { client, answers };
}

describe('Qualys answer observer', () => {
  it('hears successes and error answers once each, with status, code and result', async () => {
    const { client, answers } = observed(sim.url);
    await client.checkConnection();
    sim.configure({ faults: { concurrencyLimitNext: { count: 1, callsToFinish: 1, endpoint: 'detection' } } });
    await expect(client.checkConnection()).rejects.toBeInstanceOf(QualysConcurrencyLimitError);
    await expect(client.fetchDetectionPage({ params: { bogus_param: '1' }, sink: new CollectingSink() })).rejects.toBeInstanceOf(QualysParameterError);
    await client.listAssetGroups();

    expect(answers.map(({ durationMs: _, ...a }) => a)).toEqual([
      { endpoint: DETECTION, httpStatus: 200, qualysCode: null, result: 'ok' },
      { endpoint: DETECTION, httpStatus: 409, qualysCode: 1960, result: 'concurrency_limit' },
      { endpoint: DETECTION, httpStatus: 400, qualysCode: 1901, result: 'parameter' },
      // The query (action=list, id_min=…) never becomes part of the endpoint.
      { endpoint: '/api/2.0/fo/asset/group/', httpStatus: 200, qualysCode: null, result: 'ok' },
    ]);
    for (const a of answers) expect(a.durationMs).toBeGreaterThan(0);
  });

  it('hears refused credentials', async () => {
    const { client, answers } = observed(sim.url, 'wrong-password');
    await expect(client.checkConnection()).rejects.toBeInstanceOf(QualysAuthError);
    expect(answers).toMatchObject([{ endpoint: DETECTION, httpStatus: 401, result: 'auth' }]);
  });

  it('hears an error document inside a 200, a connection that never answered, and a cancelled call', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' }).end(simpleReturnXml('http://127.0.0.1', '2026-11-01T00:00:00Z', 1901, 'Unrecognized parameter(s): bogus'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const inside = observed(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      await expect(inside.client.checkConnection()).rejects.toBeInstanceOf(QualysParameterError);
      expect(inside.answers).toMatchObject([{ endpoint: DETECTION, httpStatus: 200, qualysCode: 1901, result: 'parameter' }]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }

    const closed = observed(`http://127.0.0.1:${await freePort()}`);
    await expect(closed.client.checkConnection()).rejects.toBeInstanceOf(QualysTransientError);
    expect(closed.answers).toMatchObject([{ endpoint: DETECTION, httpStatus: null, qualysCode: null, result: 'transient' }]);

    sim.configure({ faults: { latencyMs: 5_000, endpoints: ['detection'] } });
    const cancelled = observed(sim.url);
    const controller = new AbortController();
    const call = cancelled.client.checkConnection(controller.signal);
    controller.abort(new Error('cancelled by the test'));
    await expect(call).rejects.toThrow('cancelled by the test');
    expect(cancelled.answers).toMatchObject([{ endpoint: DETECTION, httpStatus: null, result: 'aborted' }]);
  });

  it('keeps calls working when the observer throws', async () => {
    const client = createQualysClient(
      { apiBaseUrl: sim.url, username: 'demo', password: 'demo-pass' },
      {
        onAnswer: () => {
          throw new Error('observer broke');
        },
      },
    );
    clients.push(client);
    await expect(client.checkConnection()).resolves.toMatchObject({ ok: true });
  });
});
