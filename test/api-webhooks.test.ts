/**
 * Webhooks over real HTTP: registration and its validation, signed
 * deliveries to a loopback receiver verified with the receivers' helper,
 * durable redelivery after a failure, `run.failed`, refusal without retry,
 * the target policy (non-public addresses refused unless allow-listed, at
 * registration and at delivery), and the secret never leaking.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type ServerType } from '@hono/node-server';
import { ApplicationFailure } from '@temporalio/common';
import { pino } from 'pino';
import { deliverWebhook } from '../activities/deliver-webhook.js';
import { createApp } from '../api/app.js';
import { createWebhook, listWebhooks } from '../db/webhooks.js';
import { signWebhookBody, verifyWebhookSignature } from '../security/webhook-signature.js';
import { webhookDeliveryWorkflowId } from '../shared/contracts.js';
import type { Connection } from '../db/connections.js';
import type { FetcherRow } from '../db/schema.js';
import type { FieldError } from '../api/problem.js';
import type { RunView } from '../api/schemas/run.js';
import type { WebhookDeliveryView } from '../api/schemas/webhook.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import { quietActivityEnvironment } from './support/quiet-activity-environment.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let stack: ApiStack;
let receiver: http.Server;
let receiverUrl: string;
let connection: Connection;
let fetcher: FetcherRow;
const received: Received[] = [];
/** Status codes to answer per path, in order; 200 once a script runs out. */
const scripts = new Map<string, number[]>();

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function register(path: string, events: string[], extra: Record<string, unknown> = {}) {
  const res = await stack.request('POST', '/v1/webhooks', { body: { url: `${receiverUrl}${path}`, events, ...extra } });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string; url: string };
}

async function runFetcher(f: FetcherRow): Promise<RunView> {
  const started = await stack.request('POST', `/v1/fetchers/${f.id}/runs`, { token: stack.auditorToken });
  expect(started.status).toBe(202);
  return until('the run to finish', async () => {
    const res = await stack.request<RunView>('GET', `/v1/runs/${started.body.id}`, { token: stack.auditorToken });
    return ['succeeded', 'failed', 'cancelled'].includes(res.body.status) ? res.body : null;
  });
}

const deliveriesTo = (path: string, runId: string) => received.filter((r) => r.path === path && JSON.parse(r.body).run.id === runId);

beforeAll(async () => {
  // The receiver is on loopback, which webhooks may reach only when allow-listed.
  stack = await startApiStack({ simulator: { hosts: 30 }, webhookAllowedCidrs: ['127.0.0.1/32'] });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      const status = scripts.get(req.url ?? '')?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  connection = await stack.run.addConnection();
  fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 30 });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('registering webhooks', () => {
  it('shows a generated secret once, and never again', async () => {
    const hook = await register('/quiet', ['run.completed'], { enabled: false });
    expect(hook.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hook).toMatchObject({ url: `${receiverUrl}/quiet`, events: ['run.completed'], enabled: false, links: { deliveries: `/v1/webhooks/${hook.id}/deliveries` } });

    const reads = [
      await stack.request('GET', `/v1/webhooks/${hook.id}`),
      await stack.request('GET', '/v1/webhooks'),
      await stack.request('PATCH', `/v1/webhooks/${hook.id}`, { body: { events: ['run.completed', 'run.failed'] } }),
    ];
    for (const res of reads) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(hook.secret);
      expect(res.text).not.toContain('secret');
    }
    expect(reads[2]!.body.events).toEqual(['run.completed', 'run.failed']);

    const rotated = await stack.request('PATCH', `/v1/webhooks/${hook.id}`, { body: { rotateSecret: true } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    const chosen = await stack.request('PATCH', `/v1/webhooks/${hook.id}`, { body: { secret: 'a-secret-of-my-own-choosing' } });
    expect(chosen.body.secret).toBe('a-secret-of-my-own-choosing');
    expect(stack.logLines.join('\n')).not.toContain(rotated.body.secret);
    expect(stack.logLines.join('\n')).not.toContain('a-secret-of-my-own-choosing');

    expect((await stack.request('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await stack.request('GET', `/v1/webhooks/${hook.id}`)).status).toBe(404);
  });

  it('refuses bad webhooks naming the field, and stores nothing', async () => {
    const before = (await listWebhooks(stack.run.database.db, { limit: 500 })).items.length;
    const cases: Array<[unknown, string, RegExp]> = [
      [{ url: 'ftp://grc.example.com/hook', events: ['run.completed'] }, 'url', /http or https/],
      [{ url: 'not a url', events: ['run.completed'] }, 'url', /absolute http/],
      [{ url: 'https://user:pw@grc.example.com/hook', events: ['run.completed'] }, 'url', /must not carry credentials/],
      [{ url: `https://grc.example.com/${'x'.repeat(2001)}`, events: ['run.completed'] }, 'url', /at most 2000/],
      [{ url: 'https://grc.example.com/hook', events: [] }, 'events', /at least one event/],
      [{ url: 'https://grc.example.com/hook', events: ['run.started'] }, 'events.0', /one of run.completed, run.failed/],
      [{ url: 'https://grc.example.com/hook', events: ['run.failed', 'run.failed'] }, 'events', /must not repeat/],
      [{ url: 'https://grc.example.com/hook', events: ['run.failed'], secret: 'short' }, 'secret', /at least 16/],
      [{ url: 'https://grc.example.com/hook', events: ['run.failed'], retries: 3 }, '(body)', /unknown field\(s\): retries/],
      [{ events: ['run.failed'] }, 'url', /./],
    ];
    for (const [body, field, reason] of cases) {
      const res = await stack.request('POST', '/v1/webhooks', { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      const error = res.body.errors.find((e: FieldError) => e.field === field);
      expect(error, JSON.stringify(res.body.errors)).toBeDefined();
      expect(error.reason).toMatch(reason);
    }
    const hook = await register('/never', ['run.failed'], { enabled: false });
    const both = await stack.request('PATCH', `/v1/webhooks/${hook.id}`, { body: { rotateSecret: true, secret: 'another-long-secret-value' } });
    expect(both.status).toBe(422);
    expect(both.body.errors[0]).toMatchObject({ field: 'secret', reason: expect.stringMatching(/not both/) });
    await stack.request('DELETE', `/v1/webhooks/${hook.id}`);
    expect((await listWebhooks(stack.run.database.db, { limit: 500 })).items).toHaveLength(before);
  });

  it('refuses non-public targets by default, embedded IPv4 forms included, and lets allow-listed ranges through', async () => {
    const serveWith = async (allowedCidrs: string[]) => {
      const app = createApp({ ...stack.deps, webhooks: { allowedCidrs } });
      const server: ServerType = await new Promise((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
      });
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const post = (url: string) =>
        fetch(`${base}/v1/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url, events: ['run.failed'], enabled: false }),
        });
      return { post, close: () => new Promise((resolve) => server.close(resolve)) };
    };
    const created: string[] = [];
    const byDefault = await serveWith([]);
    const listed = await serveWith(['10.20.0.0/16']);
    try {
      const refused = [
        'http://127.0.0.1:9/hook',
        'http://10.1.2.3/hook',
        'http://169.254.169.254/latest/meta-data',
        'http://100.64.0.1/hook',
        'http://[::1]/hook',
        'http://[fe80::1]/hook',
        'http://[fd00::1]/hook',
        'http://[::ffff:192.168.1.1]/',
        'http://[64:ff9b::a00:1]/',
        'http://[2002:a00:1::]/',
        'http://[::a00:1]/',
        'http://localhost/hook',
      ];
      for (const url of refused) {
        const res = await byDefault.post(url);
        expect(res.status, url).toBe(422);
        const body = (await res.json()) as { errors: FieldError[] };
        expect(body.errors[0], url).toMatchObject({ field: 'url', reason: expect.stringMatching(/address.*WEBHOOK_ALLOWED_CIDRS/) });
      }
      const publicTarget = await byDefault.post('https://93.184.215.14/hook');
      expect(publicTarget.status).toBe(201);
      created.push(((await publicTarget.json()) as { id: string }).id);

      for (const url of ['http://10.20.1.1/hook', 'http://[::ffff:10.20.1.1]/hook', 'http://[64:ff9b::a14:101]/hook']) {
        const res = await listed.post(url);
        expect(res.status, url).toBe(201);
        created.push(((await res.json()) as { id: string }).id);
      }
      expect((await listed.post('http://10.21.0.1/hook')).status).toBe(422);
      expect((await listed.post('http://127.0.0.1/hook')).status).toBe(422);
    } finally {
      for (const id of created) await stack.request('DELETE', `/v1/webhooks/${id}`);
      await byDefault.close();
      await listed.close();
    }
  });
});

describe('deliveries', () => {
  it('delivers run.completed signed, and the receivers helper verifies it', async () => {
    const hook = await register('/completed', ['run.completed']);
    try {
      const run = await runFetcher(fetcher);
      expect(run.status).toBe('succeeded');
      const [delivery] = await until('the delivery', () => deliveriesTo('/completed', run.id).length > 0 && deliveriesTo('/completed', run.id));
      expect(delivery!.headers['content-type']).toBe('application/json');
      expect(delivery!.headers['x-qualys-connector-event']).toBe('run.completed');
      expect(delivery!.headers['x-qualys-connector-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      const signature = delivery!.headers['x-qualys-connector-signature'] as string;
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifyWebhookSignature(hook.secret, signature, delivery!.body, 300)).toMatchObject({ ok: true });
      expect(verifyWebhookSignature(hook.secret, signature, delivery!.body.replace('succeeded', 'failed'), 300)).toMatchObject({ ok: false, reason: 'no signature matches the body' });
      expect(verifyWebhookSignature('the-wrong-secret-entirely', signature, delivery!.body, 300).ok).toBe(false);
      const t = Number(/t=(\d+)/.exec(signature)![1]);
      expect(verifyWebhookSignature(hook.secret, signature, delivery!.body, 300, t + 301)).toMatchObject({ ok: false, reason: expect.stringMatching(/tolerance/) });
      expect(verifyWebhookSignature(hook.secret, undefined, delivery!.body).ok).toBe(false);

      const payload = JSON.parse(delivery!.body);
      expect(payload).toMatchObject({
        id: delivery!.headers['x-qualys-connector-delivery'],
        event: 'run.completed',
        run: { id: run.id, status: 'succeeded', trigger: 'api', triggeredBy: 'test-auditor' },
        fetcher: { id: fetcher.id, name: fetcher.name, kind: 'host_list_detection' },
        evidence: { id: run.evidenceId, format: 'XML' },
        totals: { hosts: run.progress.hosts, detections: run.progress.detections },
        links: { run: `/v1/runs/${run.id}`, evidence: `/v1/evidence/${run.evidenceId}` },
      });
      const evidence = await stack.request('GET', `/v1/evidence/${run.evidenceId}`);
      expect(payload.evidence.sha256).toBe(evidence.body.sha256);

      const log = await until('the delivery log entry', async () => {
        const res = await stack.request('GET', `/v1/webhooks/${hook.id}/deliveries`);
        return res.body.items.length > 0 && res.body.items;
      });
      expect(log).toEqual([
        expect.objectContaining({ webhookId: hook.id, runId: run.id, event: 'run.completed', attempt: 1, httpStatus: 200, ok: true, error: null }),
      ]);

      // The secret stays inside the activity: neither workflow history holds it, nor do logs.
      for (const workflowId of [`run-${run.id}`, webhookDeliveryWorkflowId(run.id, hook.id)]) {
        const history = await stack.run.client.workflow.getHandle(workflowId).fetchHistory();
        expect(JSON.stringify(history)).not.toContain(hook.secret);
      }
      expect(stack.run.logLines.join('\n')).not.toContain(hook.secret);
      expect(stack.logLines.join('\n')).not.toContain(hook.secret);
    } finally {
      await stack.request('DELETE', `/v1/webhooks/${hook.id}`);
    }
  });

  it('redelivers after the receiver failed: two attempts in the log, the second ok, same delivery id', async () => {
    scripts.set('/flaky', [500]);
    const hook = await register('/flaky', ['run.completed'], { secret: 'flaky-receiver-secret-123' });
    try {
      const run = await runFetcher(fetcher);
      const attempts = await until('two attempts', () => deliveriesTo('/flaky', run.id).length >= 2 && deliveriesTo('/flaky', run.id), 40_000);
      expect(attempts[0]!.headers['x-qualys-connector-delivery']).toBe(attempts[1]!.headers['x-qualys-connector-delivery']);
      for (const attempt of attempts) {
        expect(verifyWebhookSignature('flaky-receiver-secret-123', attempt.headers['x-qualys-connector-signature'] as string, attempt.body).ok).toBe(true);
      }
      const log = await until('both log entries', async () => {
        const res = await stack.request('GET', `/v1/webhooks/${hook.id}/deliveries`);
        return res.body.items.length >= 2 && res.body.items;
      });
      expect(log.map((d: WebhookDeliveryView) => [d.attempt, d.httpStatus, d.ok])).toEqual([
        [2, 200, true],
        [1, 500, false],
      ]);
      expect(log[1].error).toMatch(/HTTP 500/);
      const result = await stack.run.client.workflow.getHandle(webhookDeliveryWorkflowId(run.id, hook.id)).result();
      expect(result).toEqual({ outcome: 'delivered', attempt: 2, httpStatus: 200 });
    } finally {
      await stack.request('DELETE', `/v1/webhooks/${hook.id}`);
    }
  });

  it('delivers run.failed for a failing run, and not to run.completed subscribers', async () => {
    const failedHook = await register('/failed', ['run.failed']);
    const completedHook = await register('/completed-only', ['run.completed']);
    try {
      const badConnection = await stack.run.addConnection({ name: 'bad credentials', password: 'wrong-password' });
      const doomed = await stack.run.addHldFetcher(badConnection);
      const run = await runFetcher(doomed);
      expect(run.status).toBe('failed');
      const [delivery] = await until('the failure delivery', () => deliveriesTo('/failed', run.id).length > 0 && deliveriesTo('/failed', run.id));
      expect(delivery!.headers['x-qualys-connector-event']).toBe('run.failed');
      expect(verifyWebhookSignature(failedHook.secret, delivery!.headers['x-qualys-connector-signature'] as string, delivery!.body).ok).toBe(true);
      const payload = JSON.parse(delivery!.body);
      expect(payload).toMatchObject({ event: 'run.failed', run: { id: run.id, status: 'failed', error: { type: 'QualysAuthError' } }, evidence: null });
      expect(payload.run.error.message).toBeTruthy();
      expect(JSON.stringify(payload)).not.toContain('wrong-password');
      expect(deliveriesTo('/completed-only', run.id)).toEqual([]);
    } finally {
      await stack.request('DELETE', `/v1/webhooks/${failedHook.id}`);
      await stack.request('DELETE', `/v1/webhooks/${completedHook.id}`);
    }
  });

  it('stops at once when the receiver refuses the delivery with a 4xx', async () => {
    scripts.set('/gone', [410]);
    const hook = await register('/gone', ['run.completed']);
    try {
      const run = await runFetcher(fetcher);
      const handle = stack.run.client.workflow.getHandle(webhookDeliveryWorkflowId(run.id, hook.id));
      await until('the delivery workflow to start', () => handle.describe().then(() => true, () => false));
      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('FAILED');
      const log = (await stack.request('GET', `/v1/webhooks/${hook.id}/deliveries`)).body.items;
      expect(log).toEqual([expect.objectContaining({ attempt: 1, httpStatus: 410, ok: false, error: expect.stringMatching(/not retried/) })]);
    } finally {
      await stack.request('DELETE', `/v1/webhooks/${hook.id}`);
    }
  });

  it('checks the address a name resolves to at delivery time, and refuses it without retrying', async () => {
    const run = await runFetcher(fetcher);
    // Stored directly: as if the name had resolved to a public address when it was registered, and resolves inward now.
    const hook = await createWebhook(stack.run.database.db, stack.run.secretBox, {
      url: `${receiverUrl.replace('127.0.0.1', 'localhost')}/rebound`,
      events: ['run.completed'],
      secret: 'rebinding-receiver-secret',
    });
    try {
      const deliver = deliverWebhook({
        db: stack.run.database.db,
        blobStore: stack.run.blobStore,
        secretBox: stack.run.secretBox,
        logger: pino({ level: 'silent' }),
        webhooks: { allowedCidrs: [] },
      });
      const failure = await quietActivityEnvironment()
        .run(deliver, { webhookId: hook.id, runId: run.id, event: 'run.completed' as const, deliveryId: randomUUID() })
        .then(() => null, (err: unknown) => err);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'WebhookTargetRefused', nonRetryable: true, message: expect.stringMatching(/localhost resolves to \S+, a loopback address/) });
      expect(received.filter((r) => r.path === '/rebound')).toEqual([]);
      const log = (await stack.request('GET', `/v1/webhooks/${hook.id}/deliveries`)).body.items;
      expect(log).toEqual([expect.objectContaining({ attempt: 1, httpStatus: null, ok: false, error: expect.stringMatching(/loopback/) })]);
    } finally {
      await stack.request('DELETE', `/v1/webhooks/${hook.id}`);
    }
  });
});

describe('roles and unknown ids', () => {
  it('is admin-only', async () => {
    const hook = await register('/admin-only', ['run.failed'], { enabled: false });
    for (const [method, path, body] of [
      ['POST', '/v1/webhooks', { url: 'https://grc.example.com/hook', events: ['run.failed'] }],
      ['GET', '/v1/webhooks', undefined],
      ['GET', `/v1/webhooks/${hook.id}`, undefined],
      ['PATCH', `/v1/webhooks/${hook.id}`, { enabled: true }],
      ['DELETE', `/v1/webhooks/${hook.id}`, undefined],
      ['GET', `/v1/webhooks/${hook.id}/deliveries`, undefined],
    ] as const) {
      expect((await stack.request(method, path, { body, token: stack.auditorToken })).status, `${method} ${path}`).toBe(403);
      expect((await stack.request(method, path, { body, token: null })).status, `${method} ${path}`).toBe(401);
    }
    await stack.request('DELETE', `/v1/webhooks/${hook.id}`);
  });

  it('answers 404 for unknown webhooks', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/webhooks/nope', undefined],
      ['PATCH', '/v1/webhooks/nope', { enabled: false }],
      ['DELETE', '/v1/webhooks/nope', undefined],
      ['GET', '/v1/webhooks/nope/deliveries', undefined],
    ] as const) {
      expect((await stack.request(method, path, { body })).status, `${method} ${path}`).toBe(404);
    }
  });
});

describe('signature helper', () => {
  it('signs and verifies byte bodies the same as text', () => {
    const body = Buffer.from('{"ok":true}');
    const header = signWebhookBody('helper-secret-0123456789', body, 1_700_000_000);
    expect(verifyWebhookSignature('helper-secret-0123456789', header, '{"ok":true}', 300, 1_700_000_100)).toEqual({ ok: true, timestamp: 1_700_000_000 });
    expect(verifyWebhookSignature('helper-secret-0123456789', 'v1=abc', body).ok).toBe(false);
  });
});
