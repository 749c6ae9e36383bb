/**
 * Runs the simulator in its own Node process. Benchmarks and the demo use this
 * so that generating answers does not compete with the reader for one event
 * loop. The handle mirrors the in-process one; `dataset` is a local twin built
 * from the same options (exact with a fixed `now`).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import path from 'node:path';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { Clock } from './clock.js';
import type { ConfigPatch } from './control-schema.js';
import { Dataset } from './dataset.js';
import type { LatencyConfig, ProfileName } from './latency.js';
import type { LimitConfig } from './limits.js';
import type { ShapeConfig } from './shapes.js';
import type { SimulatorStats } from './stats.js';

export interface SpawnOptions {
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  hosts?: number;
  seed?: number;
  now?: string;
  user?: string;
  password?: string;
  assetGroups?: number;
  searchLists?: number;
  limits?: Partial<LimitConfig>;
  shapes?: Partial<ShapeConfig>;
  profile?: ProfileName;
  latency?: Partial<LatencyConfig>;
  tls?: boolean;
  startupTimeoutMs?: number;
}

export interface SpawnedSimulator {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** With `tls`: the certificate file the simulator printed. */
  readonly certPath: string | null;
  readonly dataset: Dataset;
  configure(patch: ConfigPatch): Promise<void>;
  reset(): Promise<void>;
  stats(): Promise<SimulatorStats>;
  /** SIGTERM, then SIGKILL if the process has not exited within 5 s. */
  close(): Promise<void>;
}

const FLAGS: ReadonlyArray<readonly [keyof SpawnOptions, string]> = [
  ['host', '--host'], ['hosts', '--hosts'], ['seed', '--seed'], ['now', '--now'], ['user', '--user'],
  ['password', '--password'], ['assetGroups', '--asset-groups'], ['searchLists', '--search-lists'],
];
const LIMIT_FLAGS: ReadonlyArray<readonly [keyof LimitConfig, string]> = [
  ['rateLimit', '--rate-limit'], ['rateWindowSec', '--rate-window-sec'], ['concurrencyLimit', '--concurrency-limit'],
];
const LATENCY_FLAGS: ReadonlyArray<readonly [keyof LatencyConfig, string]> = [
  ['timeScale', '--time-scale'], ['firstByteBaseMs', '--first-byte-ms'], ['firstBytePerHostMs', '--first-byte-per-host-ms'],
  ['bodyBytesPerSec', '--body-bytes-per-sec'], ['jitter', '--jitter'],
];
const SHARE_FLAGS: ReadonlyArray<readonly [keyof ShapeConfig, string]> = [
  ['portlessShare', '--portless-share'], ['igPortlessShare', '--ig-portless-share'],
  ['igWithoutSeverityShare', '--ig-without-severity-share'], ['igWithoutStatusShare', '--ig-without-status-share'],
];

export async function spawnSimulator(options: SpawnOptions = {}): Promise<SpawnedSimulator> {
  const args = ['--port', String(options.port ?? 0)];
  for (const [key, flag] of FLAGS) if (options[key] !== undefined) args.push(flag, String(options[key]));
  for (const [key, flag] of LIMIT_FLAGS) if (options.limits?.[key] !== undefined) args.push(flag, String(options.limits[key]));
  for (const [key, flag] of LATENCY_FLAGS) if (options.latency?.[key] !== undefined) args.push(flag, String(options.latency[key]));
  for (const [key, flag] of SHARE_FLAGS) if (options.shapes?.[key] !== undefined) args.push(flag, String(options.shapes[key]));
  if (options.shapes?.trial) args.push('--trial');
  if (options.shapes?.csvUnquoted) args.push('--csv-unquoted');
  if (options.profile) args.push('--profile', options.profile);
  if (options.tls) args.push('--tls');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'simulator', 'main.ts'), ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`simulator did not start within ${options.startupTimeoutMs ?? 30_000} ms: ${output}`));
    }, options.startupTimeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /listening on (https?:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with code ${code} before listening: ${output.trim()}`));
    });
  });

  const dataset = new Dataset({
    seed: options.seed ?? 7,
    hosts: options.hosts ?? 1000,
    assetGroups: options.assetGroups ?? 30,
    searchLists: options.searchLists ?? 12,
    clock: new Clock(options.now),
    shapes: options.shapes,
  });
  const certPath = /Certificate\s+(\S+)/.exec(output)?.[1] ?? null;
  // The control endpoint is served over the same TLS: trust the simulator's own certificate.
  const dispatcher = certPath ? new Agent({ connect: { ca: readFileSync(certPath, 'utf8') } }) : undefined;
  const control = async (method: 'GET' | 'POST', route: string, body?: unknown) => {
    const res = await fetch(`${url}/__sim/${route}`, {
      method,
      ...(dispatcher ? { dispatcher } : {}),
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const json: unknown = await res.json();
    if (!res.ok) throw new Error(`simulator /__sim/${route} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };

  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    certPath,
    dataset,
    configure: async (patch) => {
      await control('POST', 'config', patch);
      if (patch.now !== undefined) dataset.setClock(new Clock(patch.now));
      if (patch.shapes) dataset.setShapes({ ...dataset.shapes, ...patch.shapes });
    },
    reset: async () => {
      await control('POST', 'reset', {});
    },
    stats: async () => (await control('GET', 'stats')) as SimulatorStats,
    close: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
