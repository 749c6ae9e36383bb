/**
 * Answers the Qualys API paths: the order of checks (CSRF header, credentials,
 * limits, injected faults, role, parameters), the latency profile and the
 * streaming of the answer.
 *
 * Error answers differ by kind as Qualys's do: login (2000) and account
 * (2001–2012) errors come as text/xml;charset=UTF-8 without the XML
 * declaration and without rate or concurrency headers; parameter errors
 * (HTTP 400) as application/xml; the others as text/xml with the headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BodyProducer, RenderContext } from './body-producer.js';
import { BodySink } from './body-sink.js';
import { ChunkWriter } from './chunk-writer.js';
import { formatInstant } from './clock.js';
import type { Dataset } from './dataset.js';
import type { Faults } from './faults.js';
import { BodyTooLarge, readBody } from './http-body.js';
import type { Latency } from './latency.js';
import type { Admission, SubscriptionLimits } from './limits.js';
import { createAnswer } from './producers.js';
import { QualysError } from './qualys-error.js';
import { Params } from './request-params.js';
import { matchRoute, type Route } from './routes.js';
import { simpleReturnXml } from './simple-return.js';
import type { RequestLogEntry, StatsCollector } from './stats.js';
import { authenticate, requireVulnerabilityAccess, type SimulatorUser } from './users.js';

/** Where an oversized page is cut off (the maxHostsPerPage fault). */
const OVERSIZED_PAGE_CUT_BYTES = 4096;

export interface ApiParts {
  readonly dataset: Dataset;
  readonly users: readonly SimulatorUser[];
  readonly limits: SubscriptionLimits;
  readonly faults: Faults;
  readonly latency: Latency;
  readonly stats: StatsCollector;
  /** `https` when the server runs with TLS: URLs inside answers use the scheme the client used. */
  readonly scheme: 'http' | 'https';
}

type ErrorKind = 'login' | 'account' | 'parameter' | 'other';

function errorKind(err: QualysError): ErrorKind {
  if (err.code === 2000) return 'login';
  if (err.code >= 2001 && err.code <= 2099) return 'account';
  if (err.httpStatus === 400) return 'parameter';
  return 'other';
}

export class ApiHandler {
  constructor(private readonly parts: ApiParts) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = matchRoute(url.pathname);
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
      return;
    }
    const { dataset, limits, faults, latency, stats } = this.parts;
    const entry = stats.begin(route.endpoint, req.method ?? '', url.pathname);
    let admission: Admission | null = null;
    let sink: BodySink | null = null;
    let closed = false;
    res.once('close', () => {
      closed = true;
      admission?.release();
      if (sink) entry.bytes = sink.bytes;
      entry.aborted = !res.writableFinished;
      stats.finish(entry);
    });
    const baseUrl = `${this.parts.scheme}://${req.headers.host ?? 'localhost'}`;
    const datetime = formatInstant(dataset.clock.nowMs());
    try {
      const params = await requestParams(req, url);
      entry.idMin = params.get('id_min') ?? null;
      const injectedLatency = faults.latencyMs(route.endpoint);
      if (injectedLatency > 0) await sleep(injectedLatency);
      const user = this.authorize(req, route, entry);
      admission = limits.admit(Date.now());
      // The client may have left during the latency fault: the call must not hold a slot.
      if (closed) return admission.release();
      this.checkAdmitted(route, user);
      const ctx: RenderContext = { baseUrl, path: url.pathname, datetime, userLogin: entry.user ?? '', trial: dataset.shapes.trial, malformed: false };
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new QualysError(400, 1908, `Request method (GET or POST) is incompatible with specified parameter(s): ${req.method ?? ''} is not supported`);
      }
      const answer = createAnswer(route, params, dataset, ctx);
      if (latency.active) {
        const wait = latency.firstByteMs(latency.current.firstBytePerHostMs > 0 ? answer.hostsOnPage() : 0);
        if (wait > 0) await sleep(wait);
        if (closed) return;
      }
      const maxHosts = faults.maxHostsPerPage(route.endpoint);
      const faulted = faults.takeBodyFaults(route.endpoint);
      const bodyFaults = maxHosts !== null && answer.hostsOnPage() > maxHosts ? { ...faulted, dropAfterBytes: OVERSIZED_PAGE_CUT_BYTES } : faulted;
      ctx.malformed = bodyFaults.malformed;
      ctx.hostile = bodyFaults.hostile;
      const profileRate = latency.bodyBytesPerSec();
      const rates = [bodyFaults.slowBodyBytesPerSec, profileRate].filter((r) => r > 0);
      const slowBodyBytesPerSec = rates.length > 0 ? Math.min(...rates) : 0;
      entry.status = 200;
      res.writeHead(200, { ...admission.headers, 'Content-Type': answer.contentType });
      sink = new BodySink(res, { ...bodyFaults, slowBodyBytesPerSec });
      await stream(answer.producer, sink);
    } catch (err) {
      if (!(err instanceof QualysError) && !(err instanceof BodyTooLarge)) throw err;
      const qualys = err instanceof QualysError ? err : new QualysError(413, 999, err.message);
      const kind = errorKind(qualys);
      const quiet = kind === 'login' || kind === 'account';
      const limitHeaders = quiet ? {} : (admission?.headers ?? limits.snapshot(Date.now()));
      const body = simpleReturnXml(baseUrl, datetime, qualys.code, qualys.text, qualys.items, { declaration: !quiet });
      entry.status = qualys.httpStatus;
      entry.code = qualys.code;
      entry.bytes = Buffer.byteLength(body);
      const contentType = kind === 'parameter' ? 'application/xml' : 'text/xml;charset=UTF-8';
      res
        .writeHead(qualys.httpStatus, { ...limitHeaders, ...qualys.headers, 'Content-Type': contentType, 'Content-Length': String(entry.bytes) })
        .end(body);
    }
  }

  /** CSRF header, credentials and injected limit faults, before the call is counted against the limits. */
  private authorize(req: IncomingMessage, route: Route, entry: RequestLogEntry): SimulatorUser {
    // about.php answers clients that send no X-Requested-With (several call it first without one).
    if (!req.headers['x-requested-with'] && route.endpoint !== 'about') {
      throw new QualysError(400, 1903, 'Missing required parameter(s): X-Requested-With header (every API call must send it, to protect against CSRF)');
    }
    const user = authenticate(this.parts.users, req.headers.authorization);
    entry.user = user.username;
    const injected = this.parts.faults.takeLimitFault(route.endpoint, this.parts.limits.snapshot(Date.now()));
    if (injected) throw injected;
    return user;
  }

  /** Injected failures, then the role check: both answered after the call was counted. */
  private checkAdmitted(route: Route, user: SimulatorUser): void {
    const failure = this.parts.faults.takeFailure(route.endpoint);
    if (failure) throw failure;
    if (route.endpoint === 'detection') requireVulnerabilityAccess(user);
  }
}

/** Renders chunk by chunk, writing each before rendering more, so memory stays flat. */
async function stream(producer: BodyProducer, sink: BodySink): Promise<void> {
  const writer = new ChunkWriter();
  let more = true;
  while (more) {
    more = producer.step(writer);
    if (writer.pending === 0 && more) continue;
    for (const chunk of writer.take(!more)) if (!(await sink.write(chunk))) return;
  }
  sink.end();
}

/** Query string and form body merged; the body wins on duplicates. */
async function requestParams(req: IncomingMessage, url: URL): Promise<Params> {
  const body = await readBody(req);
  const entries: Array<[string, string]> = [...url.searchParams.entries()];
  const type = req.headers['content-type'] ?? '';
  if (body.length > 0 && (type === '' || type.includes('application/x-www-form-urlencoded'))) {
    entries.push(...new URLSearchParams(body).entries());
  }
  return new Params(entries);
}
