/** Serves the API app over HTTP (Node's server via @hono/node-server). */
import type { AddressInfo, Socket } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { ApiApp } from './app.js';
import { PROBLEM_CONTENT_TYPE, problemBody, type ProblemSlug } from './problem.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Requests Node refuses before they reach the app, and the problem each one is. */
const CLIENT_ERRORS: Record<string, { slug: ProblemSlug; detail: string }> = {
  HPE_HEADER_OVERFLOW: { slug: 'headers-too-large', detail: 'the request headers exceed the 16 KB the server reads; send fewer or shorter headers' },
  ERR_HTTP_REQUEST_TIMEOUT: { slug: 'request-timeout', detail: 'the request was not received in time' },
};
const UNPARSABLE = { slug: 'malformed-request', detail: 'the request is not valid HTTP/1.1' } as const;

/**
 * Node answers a request it cannot parse (headers over its limit, broken
 * syntax) itself, with a bare status line; this answers with a problem
 * document instead, like every other error of the API.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const { slug, detail } = CLIENT_ERRORS[err.code ?? ''] ?? UNPARSABLE;
  const problem = problemBody(slug, detail);
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function listen(app: ApiApp, host: string, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server: ServerType = serve({ fetch: app.fetch, hostname: host, port }, () => {
      const address = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve({
        url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    server.on('clientError', answerClientError);
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is in use; set PORT to another port`) : err),
    );
  });
}
