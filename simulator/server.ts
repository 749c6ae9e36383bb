/**
 * The Qualys API simulator: an HTTP server answering like the Qualys VM API
 * (see simulator/README.md), with deterministic data, limits and fault
 * injection, plus a control endpoint under /__sim/ for tests and demos.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ApiHandler } from './api-handler.js';
import { Clock } from './clock.js';
import { control } from './control-endpoint.js';
import { ConfigError, parseConfigPatch, type ConfigPatch } from './control-schema.js';
import { Dataset } from './dataset.js';
import { Faults, defaultFaults, faultConfigSchema, type FaultConfig } from './faults.js';
import { Latency, NO_LATENCY, PROFILES, PROFILE_NAMES, latencyConfigSchema, type LatencyConfig, type ProfileName } from './latency.js';
import { DEFAULT_LIMITS, SubscriptionLimits, limitConfigSchema, type LimitConfig } from './limits.js';
import { DEFAULT_SHAPES, shapeConfigSchema, type ShapeConfig } from './shapes.js';
import { StatsCollector, type SimulatorStats } from './stats.js';
import { createSelfSignedCertificate } from './tls.js';
import { defaultUsers, USER_ROLES, USER_STATUSES, type SimulatorUser } from './users.js';

export type { FaultConfig } from './faults.js';
export type { ConfigPatch } from './control-schema.js';
export type { LimitConfig } from './limits.js';
export type { ShapeConfig } from './shapes.js';
export type { LatencyConfig, ProfileName } from './latency.js';
export type { SimulatorStats } from './stats.js';
export type { SimulatorUser } from './users.js';
export type { Dataset } from './dataset.js';
export { DEFAULT_USERNAME, DEFAULT_PASSWORD, DEFAULT_EXTRA_USERS } from './users.js';
export { DEFAULT_LIMITS } from './limits.js';
export { DEFAULT_SHAPES } from './shapes.js';
export { PROFILES } from './latency.js';

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port chosen by the OS. */
  port?: number;
  /** Hosts in the subscription; default 1000. */
  hosts?: number;
  /** Default 7. */
  seed?: number;
  /** Default: demo/demo-pass (Manager) plus reader, scanner, auditor, expired and inactive accounts. */
  users?: SimulatorUser[];
  /** A fixed clock: with the same seed, hosts and now, every answer is byte-identical. */
  now?: string | Date;
  limits?: Partial<LimitConfig>;
  faults?: Partial<FaultConfig>;
  /** Asset groups in the subscription; default 30. */
  assetGroups?: number;
  /** Dynamic search lists; default 12 (0 makes DYNAMIC_LISTS absent). */
  searchLists?: number;
  /** How answers vary (shapes.ts); unset fields keep their realistic defaults. */
  shapes?: Partial<ShapeConfig>;
  /** A named latency profile; sets latency and limits, which `latency` and `limits` then refine. */
  profile?: ProfileName;
  latency?: Partial<LatencyConfig>;
  /** Serve HTTPS with a self-signed certificate made at start (see `certPath`). */
  tls?: boolean;
}

export interface SimulatorHandle {
  /** API base URL, e.g. http://127.0.0.1:41234 (clients append /api/5.0/fo/...). */
  readonly url: string;
  readonly port: number;
  /** With `tls`: the PEM file a client trusts as its CA; otherwise null. */
  readonly certPath: string | null;
  /** With `tls`: the certificate's PEM text; otherwise null. */
  readonly ca: string | null;
  readonly dataset: Dataset;
  /** Patches faults and limits; `now: null` returns to the wall clock. Throws naming the bad field. */
  configure(patch: ConfigPatch): void;
  /** Restores the start-up faults and limits, empties the rate window and the statistics. */
  reset(): void;
  stats(): SimulatorStats;
  close(): Promise<void>;
}

const optionsSchema = z.strictObject({
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  hosts: z.number().int().min(0).max(10_000_000).optional(),
  seed: z.number().int().optional(),
  users: z
    .array(
      z.strictObject({
        username: z.string().min(1),
        password: z.string().min(1),
        role: z.enum(USER_ROLES),
        status: z.enum(USER_STATUSES).optional(),
      }),
    )
    .min(1)
    .optional(),
  now: z.union([z.iso.datetime({ offset: true }), z.date()]).optional(),
  limits: limitConfigSchema.partial().optional(),
  faults: faultConfigSchema.partial().optional(),
  assetGroups: z.number().int().min(0).max(10_000).optional(),
  searchLists: z.number().int().min(0).max(1000).optional(),
  shapes: shapeConfigSchema.partial().optional(),
  profile: z.enum(PROFILE_NAMES).optional(),
  latency: latencyConfigSchema.partial().optional(),
  tls: z.boolean().optional(),
});

export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(options)', reason: i.message })));
  }
  const opts = parsed.data;
  const seed = opts.seed ?? 7;
  const users = opts.users ?? defaultUsers();
  const initialShapes: ShapeConfig = { ...DEFAULT_SHAPES, ...opts.shapes };
  const dataset = new Dataset({
    seed,
    hosts: opts.hosts ?? 1000,
    assetGroups: opts.assetGroups ?? 30,
    searchLists: opts.searchLists ?? 12,
    clock: new Clock(opts.now),
    shapes: initialShapes,
  });
  const preset = opts.profile ? PROFILES[opts.profile] : null;
  const initialLimits: LimitConfig = { ...DEFAULT_LIMITS, ...preset?.limits, ...opts.limits };
  const initialLatency: LatencyConfig = { ...NO_LATENCY, ...preset?.latency, ...opts.latency };
  const initialFaults: FaultConfig = { ...defaultFaults(), ...opts.faults };
  const limits = new SubscriptionLimits(initialLimits);
  const latency = new Latency(seed);
  const applyLatency = (config: LatencyConfig) => {
    latency.reset(config);
    limits.setTimeScale(config.timeScale);
  };
  applyLatency(initialLatency);
  const faults = new Faults(seed);
  faults.reset(initialFaults);
  const stats = new StatsCollector();

  const configure = (input: ConfigPatch) => {
    const patch = parseConfigPatch(input);
    if (patch.profile) {
      const named = PROFILES[patch.profile];
      applyLatency({ ...NO_LATENCY, ...named.latency });
      limits.configure({ ...DEFAULT_LIMITS, ...named.limits });
    }
    if (patch.faults) faults.configure(patch.faults);
    if (patch.limits) limits.configure(patch.limits);
    if (patch.latency) applyLatency({ ...latency.current, ...patch.latency });
    if (patch.shapes) dataset.setShapes({ ...dataset.shapes, ...patch.shapes });
    if (patch.now !== undefined) dataset.setClock(new Clock(patch.now));
  };
  const reset = () => {
    faults.reset(initialFaults);
    limits.reset(initialLimits);
    applyLatency(initialLatency);
    dataset.setShapes(initialShapes);
    stats.reset();
  };
  const currentConfig = () => ({
    faults: faults.current,
    limits: limits.current,
    latency: latency.current,
    shapes: { ...dataset.shapes },
    now: dataset.clock.fixed ? new Date(dataset.clock.nowMs()).toISOString() : null,
  });

  const certificate = opts.tls ? await createSelfSignedCertificate(opts.host ?? '127.0.0.1') : null;
  const api = new ApiHandler({ dataset, users, limits, faults, latency, stats, scheme: certificate ? 'https' : 'http' });
  const onRequest: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const done = url.pathname.startsWith('/__sim/')
      ? control(req, res, url.pathname, { configure, reset, currentConfig, stats: () => stats.snapshot() })
      : api.handle(req, res, url);
    done.catch((err: unknown) => {
      // A bug, not a simulated fault: say so if the answer has not started, else cut it.
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`simulator error: ${(err as Error).message}\n`);
      else res.destroy();
    });
  };
  const server = certificate
    ? https.createServer({ highWaterMark: 1024 * 1024, cert: certificate.cert, key: certificate.key }, onRequest)
    : http.createServer({ highWaterMark: 1024 * 1024 }, onRequest);
  // Node's 5 s default closes idle keep-alive sockets just as a client (often in the same process, its event
  // loop busy computing expected totals) reuses them, which surfaces as ECONNRESET; a minute avoids the race.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `${certificate ? 'https' : 'http'}://${host}:${address.port}`,
    port: address.port,
    certPath: certificate?.certPath ?? null,
    ca: certificate?.cert ?? null,
    dataset,
    configure,
    reset,
    stats: () => stats.snapshot(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
