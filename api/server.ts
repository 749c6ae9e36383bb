/** Serves the API app over HTTP (Node's server via @hono/node-server). */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { ApiApp } from './app.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
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
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is in use; set PORT to another port`) : err),
    );
  });
}
