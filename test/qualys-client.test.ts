/**
 * The Qualys client over real HTTP against the simulator (and, for what the
 * simulator never does — redirects, foreign truncation URLs — a tiny local
 * server on a random port).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { createQualysClient, type QualysClient } from '../qualys/client.js';
import {
  QualysAuthError,
  QualysConcurrencyLimitError,
  QualysParameterError,
  QualysProtocolError,
  QualysRateLimitError,
  QualysSecurityError,
  QualysTransientError,
} from '../qualys/errors.js';
import { buildHostListDetectionParams, hostListDetectionFiltersSchema, type HostListDetectionFiltersInput } from '../qualys/hld-params.js';
import { addSummaries, DETECTION_STATUSES, DETECTION_TYPES, matrixKey, SEVERITIES, type PageSummary } from '../qualys/page-summary.js';
import { USER_AGENT } from '../qualys/http.js';
import { CollectingSink, sha256 } from './fixtures/qualys/helpers.js';

let sim: SimulatorHandle;
const clients: QualysClient[] = [];

function client(username = 'demo', password = `${username}-pass`, extra: { apiVersion?: '2.0' | '5.0'; timeouts?: { connectMs: number; firstByteMs: number; idleMs: number } } = {}) {
  const c = createQualysClient({ apiBaseUrl: sim.url, username, password, ...extra });
  clients.push(c);
  return c;
}

/** Pulls every page of a Host List Detection request, checking each page's bytes. */
async function pullAll(c: QualysClient, params: Record<string, string>) {
  let total: PageSummary | null = null;
  let idMin: number | null = null;
  const idMins: number[] = [];
  for (let page = 0; page < 1000; page++) {
    const sink = new CollectingSink();
    const result = await c.fetchDetectionPage({ params, idMin, sink });
    expect(result.sha256).toBe(sha256(sink.bytes));
    expect(result.bytes).toBe(sink.bytes.length);
    expect(result.httpStatus).toBe(200);
    total = total ? addSummaries(total, result.summary) : result.summary;
    if (!result.summary.truncated) return { total: total!, idMins };
    idMin = result.summary.nextIdMin;
    idMins.push(idMin!);
  }
  throw new Error('did not finish');
}

/** The simulator's own expectation in the summary's shape. */
function expectedSummary(params: Record<string, string>, version: '2.0' | '5.0' = '5.0') {
  const e = sim.dataset.expected(params, version);
  const matrix: Record<string, number> = {};
  for (const s of SEVERITIES) for (const st of DETECTION_STATUSES) for (const t of DETECTION_TYPES) {
    const n = e.bySeverityStatusType[s][st][t];
    if (n > 0) matrix[matrixKey(s, st, t)] = n;
  }
  return { expected: e, summary: { hosts: e.hosts, detections: e.detections, severity: e.severity, status: e.status, type: e.type, matrix, minHostId: e.minHostId, maxHostId: e.maxHostId } };
}

/** A one-off local server answering every request with `handler`. */
async function withServer(handler: http.RequestListener, fn: (url: string) => Promise<void>) {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

beforeAll(async () => {
  sim = await startSimulator({ hosts: 400, seed: 11, now: '2026-03-01T00:00:00Z' });
});
afterEach(() => sim.reset());
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim.close();
});

describe('Qualys client against the simulator', () => {
  it('checks a connection with one authenticated call and reports the limits', async () => {
    const c = client('demo');
    const check = await c.checkConnection();
    expect(check).toMatchObject({ ok: true, username: 'demo', apiBaseUrl: sim.url, apiVersion: '5.0', platform: null, serverTime: '2026-03-01T00:00:00Z' });
    expect(check.limits.rateLimit).toBe(100_000);
    expect(check.limits.rateWindowSec).toBe(3600);
    expect(check.limits.rateRemaining).toBeGreaterThan(0);
    expect(check.limits.concurrencyLimit).toBe(10);
    expect(c.lastLimits).toEqual(check.limits);
    expect(sim.stats().requests).toBe(1);
  });

  it.each([
    ['demo', 'wrong-password', 'bad_credentials', 401],
    ['expired', 'expired-pass', 'account_expired', 200],
    ['inactive', 'inactive-pass', 'user_inactive', 403],
    ['auditor', 'auditor-pass', 'insufficient_role', 403],
  ])('refuses %s with the reason %s', async (user, password, reason, status) => {
    const err = await client(user, password).checkConnection().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysAuthError);
    expect(err).toMatchObject({ reason, httpStatus: status, retryable: false });
    expect((err as Error).message).not.toContain(password);
  });

  it('works for a Reader', async () => {
    await expect(client('reader').checkConnection()).resolves.toMatchObject({ ok: true, username: 'reader' });
  });

  it('pulls every page of XML; the totals equal the simulator’s data', async () => {
    const params = { action: 'list', truncation_limit: '37', show_igs: '1', status: 'New,Active,Re-Opened,Fixed' };
    const { total, idMins } = await pullAll(client(), params);
    const { expected, summary } = expectedSummary(params);
    expect(expected.pages).toBeGreaterThan(5);
    expect(idMins).toEqual(expected.pageIdMins);
    expect(total).toMatchObject({ ...summary, format: 'XML', truncated: false, nextIdMin: null, datetime: '2026-03-01T00:00:00Z' });
  });

  it('pulls every page of CSV; the totals equal the simulator’s data', async () => {
    const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse({ format: 'CSV', extraParams: { show_igs: 1 } }), { apiVersion: '5.0', truncationLimit: 60 });
    const { total, idMins } = await pullAll(client(), params);
    const { expected, summary } = expectedSummary(params);
    expect(idMins).toEqual(expected.pageIdMins);
    expect(total).toMatchObject({ ...summary, format: 'CSV', truncated: false });
  });

  it.each<[string, HostListDetectionFiltersInput, '2.0' | '5.0']>([
    ['severities and statuses', { severities: [4, 5], statuses: ['Active', 'Fixed'] }, '5.0'],
    ['an IP range and an IP', { ips: '10.0.0.1-10.0.0.120,10.0.1.5' }, '5.0'],
    ['asset groups (OR)', { assetGroupIds: [1, 2] }, '5.0'],
    ['a dynamic search list', { searchListId: 1, extraParams: { show_igs: 1 } }, '5.0'],
    ['the running-kernel filter on 5.0', { runningKernelFilter: 1 }, '5.0'],
    ['the running-kernel filter on 2.0', { runningKernelFilter: 3 }, '2.0'],
    ['days since last scan', { maxDaysSinceLastScan: 10 }, '5.0'],
  ])('applies the filters (%s) exactly as Qualys would', async (_name, filters, apiVersion) => {
    const groups = sim.dataset.assetGroups.map((g) => g.id);
    const input = filters.assetGroupIds ? { ...filters, assetGroupIds: groups.slice(0, 2) } : filters;
    const lists = sim.dataset.searchLists.map((l) => l.id);
    const withList = input.searchListId ? { ...input, searchListId: lists[0]! } : input;
    const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse(withList), { apiVersion, truncationLimit: 150 });
    const { total } = await pullAll(client('demo', 'demo-pass', { apiVersion }), params);
    const { summary } = expectedSummary(params, apiVersion);
    expect(total.hosts).toBeGreaterThan(0);
    expect(total.hosts).toBeLessThan(400);
    expect(total).toMatchObject(summary);
  });

  it('turns a 409 rate limit into an error carrying the exact wait, and keeps the limit headers', async () => {
    sim.configure({ faults: { rateLimitNext: { count: 1, secondsToWait: 77 } } });
    const c = client();
    const err = await c.fetchDetectionPage({ params: { action: 'list', truncation_limit: '1' }, sink: new CollectingSink() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysRateLimitError);
    expect(err).toMatchObject({ retryAfterSeconds: 77, httpStatus: 409, code: 1965, retryable: true });
    expect(c.lastLimits.toWaitSec).toBe(77);

    sim.configure({ limits: { rateLimit: 2, rateWindowSec: 600 } });
    await c.checkConnection();
    expect(c.lastLimits).toMatchObject({ rateLimit: 2, rateWindowSec: 600 });
    await c.checkConnection().catch(() => undefined);
    const limited = await c.checkConnection().catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(QualysRateLimitError);
    expect((limited as QualysRateLimitError).retryAfterSeconds).toBe(c.lastLimits.toWaitSec);
    expect((limited as QualysRateLimitError).retryAfterSeconds).toBeGreaterThan(590);
  });

  it('turns a 409 concurrency limit into an error with the calls to finish', async () => {
    sim.configure({ faults: { concurrencyLimitNext: { count: 1, callsToFinish: 2 } } });
    const err = await client().checkConnection().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysConcurrencyLimitError);
    expect(err).toMatchObject({ callsToFinish: 2, code: 1960, httpStatus: 409 });
  });

  it('maps 5xx answers, dropped connections and broken documents', async () => {
    const c = client();
    const params = { action: 'list', truncation_limit: '100' };
    sim.configure({ faults: { failNext: { count: 1, status: 503 } } });
    await expect(c.fetchDetectionPage({ params, sink: new CollectingSink() })).rejects.toBeInstanceOf(QualysTransientError);

    sim.configure({ faults: { dropNext: { count: 1, afterBytes: 20_000 } } });
    const sink = new CollectingSink();
    const dropped = await c.fetchDetectionPage({ params, sink }).catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(QualysTransientError);
    expect(sink.destroyed).toBe(true);

    sim.configure({ faults: { malformedNext: { count: 1 } } });
    await expect(c.fetchDetectionPage({ params, sink: new CollectingSink() })).rejects.toBeInstanceOf(QualysProtocolError);

    // And the next call is fine again.
    await expect(c.fetchDetectionPage({ params, sink: new CollectingSink() })).resolves.toMatchObject({ httpStatus: 200 });
  });

  it('turns Qualys parameter errors into a parameter error with Qualys’s text', async () => {
    const err = await client().fetchDetectionPage({ params: { action: 'list', bogus_param: '1' }, sink: new CollectingSink() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysParameterError);
    expect(err).toMatchObject({ code: 1901, httpStatus: 400 });
    expect((err as Error).message).toContain('bogus_param');
  });

  it('aborts the request in flight when the signal fires', async () => {
    sim.configure({ faults: { slowBodyBytesPerSec: 50_000 } });
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    const sink = new CollectingSink();
    const started = Date.now();
    const pending = client().fetchDetectionPage({
      params: { action: 'list', truncation_limit: '0' },
      sink,
      signal: controller.signal,
      onProgress: (bytes) => {
        if (bytes > 10_000) controller.abort(reason);
      },
    });
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(sink.destroyed).toBe(true);
  });

  it('times out when Qualys does not start answering', async () => {
    sim.configure({ faults: { latencyMs: 2000 } });
    const c = client('demo', 'demo-pass', { timeouts: { connectMs: 1000, firstByteMs: 200, idleMs: 1000 } });
    const err = await c.checkConnection().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysTransientError);
    expect((err as Error).message).toContain('first-byte timeout');
  });

  it('lists asset groups (all pages), dynamic search lists and host IDs', async () => {
    const c = client();
    const groups = await c.listAssetGroups();
    expect(groups).toEqual(sim.dataset.assetGroups.map((g) => ({ id: g.id, title: g.title })));
    const lists = await c.listSearchLists();
    expect(lists).toEqual(sim.dataset.searchLists.map((l) => ({ id: l.id, title: l.title })));
    const ids = await c.listHostIds();
    expect(ids.count).toBe(400);
    const all = sim.dataset.hostIds();
    expect(ids.ranges[0]![0]).toBe(all[0]);
    expect(ids.ranges.at(-1)![1]).toBe(all.at(-1));
    expect(ids.ranges.flatMap(([lo, hi]) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i))).toEqual(all);
  });

  it('fetches any endpoint for custom fetchers, only as a path on the API server', async () => {
    const c = client();
    const sink = new CollectingSink();
    const raw = await c.fetchRaw({ method: 'GET', path: '/api/2.0/fo/asset/group/?action=list', params: { truncation_limit: '5' }, sink });
    expect(raw.summary).toMatchObject({ format: 'XML', root: 'ASSET_GROUP_LIST_OUTPUT', records: 5, truncated: true });
    expect(raw.summary.nextIdMin).toBe(sim.dataset.assetGroups[5]!.id);
    expect(raw.contentType).toMatch(/xml/);
    expect(raw.sha256).toBe(sha256(sink.bytes));

    await expect(c.fetchRaw({ method: 'GET', path: 'https://evil.example.com/api/', params: {}, sink: new CollectingSink() })).rejects.toBeInstanceOf(QualysSecurityError);
    await expect(c.fetchRaw({ method: 'GET', path: '/api/2.0/../../x', params: {}, sink: new CollectingSink() })).rejects.toBeInstanceOf(QualysSecurityError);
    await expect(c.fetchRaw({ method: 'POST', path: '/api/2.0/fo/no/such/', params: { action: 'list' }, sink: new CollectingSink() })).rejects.toBeInstanceOf(QualysParameterError);
  });
});

describe('Qualys client against a hostile or odd server', () => {
  it('sends Basic auth, X-Requested-With, the product User-Agent and a form body', async () => {
    let seen: { method?: string; headers?: http.IncomingHttpHeaders; body?: string; url?: string } = {};
    await withServer(
      (req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen = { method: req.method, headers: req.headers, body, url: req.url };
          res.writeHead(200, { 'content-type': 'text/xml' }).end('<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>x</DATETIME></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>');
        });
      },
      async (url) => {
        const c = createQualysClient({ apiBaseUrl: url, username: 'acme_ab1', password: 'p@ss:wörd' });
        clients.push(c);
        await c.fetchDetectionPage({ params: { action: 'list', severities: '4,5' }, idMin: 42, sink: new CollectingSink() });
      },
    );
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/api/5.0/fo/asset/host/vm/detection/');
    expect(seen.headers!['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen.headers!['user-agent']).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^qualys-evidence-connector\/\d+\.\d+\.\d+/);
    expect(seen.headers!['x-requested-with']).toBeTruthy();
    expect(seen.headers!.authorization).toBe(`Basic ${Buffer.from('acme_ab1:p@ss:wörd').toString('base64')}`);
    expect(new URLSearchParams(seen.body)).toEqual(new URLSearchParams('action=list&severities=4%2C5&id_min=42'));
  });

  it('never follows a redirect', async () => {
    let requests = 0;
    await withServer(
      (_req, res) => {
        requests++;
        res.writeHead(302, { location: 'https://evil.example.com/steal' }).end();
      },
      async (url) => {
        const c = createQualysClient({ apiBaseUrl: url, username: 'u', password: 'p' });
        clients.push(c);
        const err = await c.checkConnection().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(QualysSecurityError);
        expect((err as Error).message).toContain('https://evil.example.com/steal');
      },
    );
    expect(requests).toBe(1);
  });

  it('refuses a truncation URL that names another host', async () => {
    const page =
      '<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>x</DATETIME><HOST_LIST><HOST><ID>1</ID></HOST></HOST_LIST>' +
      '<WARNING><CODE>1980</CODE><TEXT>1 record limit exceeded.</TEXT><URL><![CDATA[https://evil.example.com/api/5.0/fo/asset/host/vm/detection/?action=list&id_min=2]]></URL></WARNING>' +
      '</RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>';
    await withServer(
      (_req, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(page),
      async (url) => {
        const c = createQualysClient({ apiBaseUrl: url, username: 'u', password: 'p' });
        clients.push(c);
        const err = await c.fetchDetectionPage({ params: { action: 'list' }, sink: new CollectingSink() }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(QualysSecurityError);
        expect((err as Error).message).toContain('https://evil.example.com');
      },
    );
  });

  it('goes through an HTTP proxy when one is configured', async () => {
    const target = await startSimulator({ hosts: 20, seed: 3 });
    const sockets = new Set<net.Socket>();
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      // Absolute-form requests (plain http through a proxy).
      seen.push(`${req.method} ${req.url}`);
      const upstream = http.request(req.url!, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    proxy.on('connect', (req, socket: net.Socket, head: Buffer) => {
      // CONNECT tunnels.
      seen.push(`CONNECT ${req.url}`);
      sockets.add(socket);
      const [host, port] = req.url!.split(':');
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const c = createQualysClient({ apiBaseUrl: target.url, username: 'demo', password: 'demo-pass', proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
      await expect(c.checkConnection()).resolves.toMatchObject({ ok: true });
      await c.close();
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]).toContain(new URL(target.url).host);
    } finally {
      for (const socket of sockets) socket.destroy();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await target.close();
    }
  });

  it('maps a refused connection to a transient error', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const c = createQualysClient({ apiBaseUrl: `http://127.0.0.1:${port}`, username: 'u', password: 'p' });
    clients.push(c);
    await expect(c.checkConnection()).rejects.toBeInstanceOf(QualysTransientError);
  });

  it('refuses plain http to a non-loopback host before sending anything', () => {
    expect(() => createQualysClient({ apiBaseUrl: 'http://qualysapi.qualys.com', username: 'u', password: 'p' })).toThrow(/only allowed for loopback/);
  });
});
