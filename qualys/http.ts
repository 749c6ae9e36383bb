/**
 * The HTTP transport to one Qualys API server, on undici's dispatcher API:
 * body chunks arrive raw in a callback, without a Readable in between, which
 * matters at hundreds of MB per page.
 *
 * Every call sends Basic auth, X-Requested-With and a User-Agent naming the
 * product; only the connection's own origin is ever contacted; redirects are
 * never followed (a 3xx is a QualysSecurityError); timeouts cover connecting,
 * the first byte and an idle body; an AbortSignal stops the request in flight.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { classifyQualysResponse, classifyTransportError, QualysError, QualysSecurityError } from './errors.js';
import { assertSafeTransport } from './platforms.js';
import { PRODUCT } from './product.js';
import type { QualysTimeouts } from './settings.js';
import { Agent, loadProxyAgent } from './undici-agents.js';

export const USER_AGENT = `${PRODUCT.name}/${PRODUCT.version}`;
const REQUESTED_WITH = PRODUCT.name;

export interface TransportOptions {
  baseUrl: URL;
  username: string;
  password: string;
  timeouts: QualysTimeouts;
  proxyUrl?: string;
  /** PEM certificates trusted in addition to the public CAs. */
  ca?: string;
}

export interface ResponseStart {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Consumes one response body; chosen once the status and headers are known. */
export interface BodyReceiver<T> {
  /** Returns false to pause the transfer until `drained()` resolves. */
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
  finish(): Promise<T>;
  abort(): void;
}

export interface HttpCall {
  method: 'GET' | 'POST';
  /** Path and query on the API server (already checked to stay on it). */
  path: string;
  /** Form fields: the POST body, or appended to the query string for GET. */
  form: Record<string, string>;
  signal?: AbortSignal;
}

export class QualysTransport {
  private readonly dispatcher: Dispatcher;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly authorization: string;

  constructor(options: TransportOptions) {
    assertSafeTransport(options.baseUrl);
    this.origin = options.baseUrl.origin;
    this.basePath = options.baseUrl.pathname.replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64')}`;
    const { connectMs, firstByteMs, idleMs } = options.timeouts;
    // Node replaces its CA list with `ca`: keep the public roots next to the extra ones.
    const tls = options.ca ? { ca: [...rootCertificates, options.ca] } : {};
    const agentOptions = { connect: { timeout: connectMs, ...tls }, headersTimeout: firstByteMs, bodyTimeout: idleMs };
    this.dispatcher = options.proxyUrl
      ? new (loadProxyAgent())({ uri: options.proxyUrl, ...agentOptions, requestTls: tls, proxyTls: tls })
      : new Agent(agentOptions);
  }

  exchange<T>(call: HttpCall, receive: (start: ResponseStart) => BodyReceiver<T>): Promise<{ start: ResponseStart; result: T }> {
    const form = new URLSearchParams(call.form).toString();
    let path = call.path;
    let body: string | null = null;
    const headers: Record<string, string> = {
      authorization: this.authorization,
      'x-requested-with': REQUESTED_WITH,
      'user-agent': USER_AGENT,
      accept: '*/*',
    };
    if (call.method === 'POST') {
      body = form;
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (form !== '') {
      path += (path.includes('?') ? '&' : '?') + form;
    }
    const signal = call.signal;

    return new Promise((resolve, reject) => {
      let controller: Dispatcher.DispatchController | null = null;
      let receiver: BodyReceiver<T> | null = null;
      let start: ResponseStart | null = null;
      let settled = false;

      const settle = () => {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: unknown) => {
        if (settled) return;
        settle();
        receiver?.abort();
        reject(err);
      };
      const stop = (err: unknown) => {
        if (controller && !controller.aborted) controller.abort(err instanceof Error ? err : new Error(String(err)));
        fail(err);
      };
      const onAbort = () => stop(signal!.reason);

      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });

      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (ctrl) => {
          controller = ctrl;
          if (settled) ctrl.abort(new Error('request no longer wanted'));
        },
        onResponseStart: (ctrl, status, responseHeaders) => {
          controller = ctrl;
          if (settled || status < 200) return;
          start = { status, headers: responseHeaders };
          if (status >= 300 && status < 400) {
            stop(classifyQualysResponse({ httpStatus: status, headers: responseHeaders, document: null }));
            return;
          }
          try {
            receiver = receive(start);
          } catch (err) {
            stop(err);
          }
        },
        onResponseData: (ctrl, chunk) => {
          if (settled || !receiver) return;
          try {
            if (!receiver.write(chunk)) {
              ctrl.pause();
              receiver.drained().then(
                () => ctrl.resume(),
                (err: unknown) => stop(err),
              );
            }
          } catch (err) {
            stop(err);
          }
        },
        onResponseEnd: () => {
          if (settled || !receiver || !start) return;
          const begun = start;
          receiver.finish().then(
            (result) => {
              if (settled) return;
              settle();
              resolve({ start: begun, result });
            },
            (err: unknown) => fail(err),
          );
        },
        onResponseError: (_ctrl, err) => {
          fail(err instanceof QualysError || signal?.aborted ? err : classifyTransportError(err));
        },
      };

      const target = new URL(this.basePath + path, this.origin);
      if (target.origin !== this.origin) {
        fail(new QualysSecurityError(`refusing to send a request for ${path} outside the API server ${this.origin}`));
        return;
      }
      try {
        this.dispatcher.dispatch({ origin: this.origin, path: target.pathname + target.search, method: call.method, headers, body }, handler);
      } catch (err) {
        fail(classifyTransportError(err));
      }
    });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}
