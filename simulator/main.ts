/**
 * Command line for the Qualys API simulator:
 *   npm run simulator -- --port 9443 --hosts 5000 --seed 7 --user demo --password demo-pass
 * Prints the base URL, the accounts and the settings, then serves until interrupted.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './control-schema.js';
import { ENDPOINT_NAMES, type EndpointName, type FaultConfig } from './faults.js';
import { PROFILE_NAMES, type LatencyConfig, type ProfileName } from './latency.js';
import type { LimitConfig } from './limits.js';
import { DEFAULT_LIMITS, DEFAULT_PASSWORD, DEFAULT_SHAPES, DEFAULT_USERNAME, PROFILES, startSimulator } from './server.js';
import type { ShapeConfig } from './shapes.js';
import { defaultUsers } from './users.js';

const HELP = `Qualys API simulator

Usage: npm run simulator -- [options]

Server and data
  --host <addr>                 listen address (default 127.0.0.1)
  --port <n>                    listen port (default 9443; 0 picks a free one)
  --hosts <n>                   hosts in the subscription (default 1000)
  --seed <n>                    data seed (default 7)
  --now <iso>                   fixed clock, e.g. 2026-01-01T00:00:00Z (answers repeat byte for byte)
  --asset-groups <n>            asset groups (default 30)
  --search-lists <n>            dynamic search lists (default 12)
  --user <name>                 main (Manager) user (default ${DEFAULT_USERNAME})
  --password <pw>               its password (default ${DEFAULT_PASSWORD})
  --tls                         serve HTTPS with a self-signed certificate made at start (its path is printed)

Answer shapes (defaults are realistic proportions; 0..1 shares)
  --portless-share <x>          confirmed/potential detections without PORT/PROTOCOL (default ${DEFAULT_SHAPES.portlessShare})
  --ig-portless-share <x>       information-gathered detections without PORT/PROTOCOL (default ${DEFAULT_SHAPES.igPortlessShare})
  --ig-without-severity-share <x>  information-gathered detections without SEVERITY (default ${DEFAULT_SHAPES.igWithoutSeverityShare})
  --ig-without-status-share <x>    information-gathered detections without STATUS (default ${DEFAULT_SHAPES.igWithoutStatusShare})
  --trial                       trial subscription: comments before and after every XML root
  --csv-unquoted                CSV cells that need no quotes are written bare

Speed (default: localhost speed)
  --profile <name>              ${PROFILE_NAMES.join(' | ')} (sets latency and limits)
  --time-scale <x>              Qualys seconds per wall-clock second (default 1; 60 = a minute per second)
  --first-byte-ms <n>           time to first byte of every answer (Qualys ms)
  --first-byte-per-host-ms <x>  added per host on a Host List Detection page (Qualys ms)
  --body-bytes-per-sec <n>      body rate of one call (bytes per Qualys second; 0 = unthrottled)
  --jitter <0..1>               seeded random spread of every wait (0 = deterministic)

Limits (defaults are generous; Qualys standard is --rate-limit 300 --concurrency-limit 2)
  --rate-limit <n>              calls per window (default ${DEFAULT_LIMITS.rateLimit})
  --rate-window-sec <n>         rolling window length (default ${DEFAULT_LIMITS.rateWindowSec})
  --concurrency-limit <n>       calls in flight at once (default ${DEFAULT_LIMITS.concurrencyLimit})

Faults (off by default)
  --latency-ms <n>              delay before response headers
  --latency-per-mb-ms <n>       extra delay per MB of body
  --slow-body-bytes-per-sec <n> throttle bodies
  --error-rate <0..1>           share of calls answered with an error status
  --error-statuses <list>       statuses for --error-rate (default 500,503)
  --malformed                   break every XML/CSV document mid-body
  --drop-next <n>               cut the connection of the next n answers ...
  --drop-after-bytes <n>        ... after this many body bytes (default 65536)
  --max-hosts-per-page <n>      cut off every Host List Detection page with more hosts than this
  --fault-endpoints <list>      limit rate faults to: ${ENDPOINT_NAMES.join(', ')}

Control endpoint (no auth): POST /__sim/config {faults?, limits?, now?, shapes?, profile?, latency?}, POST /__sim/reset, GET /__sim/stats
`;

class UsageError extends Error {}

function int(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag}: expected a non-negative integer, got "${value}"`);
  return Number(value);
}

function share(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new UsageError(`--${flag}: expected a number from 0 to 1, got "${value}"`);
  return n;
}

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${flag}: expected a positive number, got "${value}"`);
  return n;
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      host: { type: 'string' },
      port: { type: 'string' },
      hosts: { type: 'string' },
      seed: { type: 'string' },
      now: { type: 'string' },
      'asset-groups': { type: 'string' },
      'search-lists': { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-window-sec': { type: 'string' },
      'concurrency-limit': { type: 'string' },
      'latency-ms': { type: 'string' },
      'latency-per-mb-ms': { type: 'string' },
      'slow-body-bytes-per-sec': { type: 'string' },
      'error-rate': { type: 'string' },
      'error-statuses': { type: 'string' },
      malformed: { type: 'boolean' },
      'drop-next': { type: 'string' },
      'max-hosts-per-page': { type: 'string' },
      'drop-after-bytes': { type: 'string' },
      'fault-endpoints': { type: 'string' },
      tls: { type: 'boolean' },
      'portless-share': { type: 'string' },
      'ig-portless-share': { type: 'string' },
      'ig-without-severity-share': { type: 'string' },
      'ig-without-status-share': { type: 'string' },
      trial: { type: 'boolean' },
      'csv-unquoted': { type: 'boolean' },
      profile: { type: 'string' },
      'time-scale': { type: 'string' },
      'first-byte-ms': { type: 'string' },
      'first-byte-per-host-ms': { type: 'string' },
      'body-bytes-per-sec': { type: 'string' },
      jitter: { type: 'string' },
    },
  });
  const shapes: Partial<ShapeConfig> = {};
  const shareFlags: ReadonlyArray<readonly [keyof ShapeConfig, string]> = [
    ['portlessShare', 'portless-share'], ['igPortlessShare', 'ig-portless-share'],
    ['igWithoutSeverityShare', 'ig-without-severity-share'], ['igWithoutStatusShare', 'ig-without-status-share'],
  ];
  for (const [key, flag] of shareFlags) {
    const v = share(flag, values[flag as keyof typeof values] as string | undefined);
    if (v !== undefined) (shapes as Record<string, number>)[key] = v;
  }
  if (values.trial) shapes.trial = true;
  if (values['csv-unquoted']) shapes.csvUnquoted = true;

  let profile: ProfileName | undefined;
  if (values.profile !== undefined) {
    if (!(PROFILE_NAMES as readonly string[]).includes(values.profile)) throw new UsageError(`--profile: "${values.profile}" is not one of ${PROFILE_NAMES.join(', ')}`);
    profile = values.profile as ProfileName;
  }
  const speed: Partial<LatencyConfig> = {};
  const timeScale = positive('time-scale', values['time-scale']);
  if (timeScale !== undefined) speed.timeScale = timeScale;
  const firstByte = int('first-byte-ms', values['first-byte-ms']);
  if (firstByte !== undefined) speed.firstByteBaseMs = firstByte;
  if (values['first-byte-per-host-ms'] !== undefined) {
    const perHost = Number(values['first-byte-per-host-ms']);
    if (!(perHost >= 0)) throw new UsageError(`--first-byte-per-host-ms: expected a non-negative number, got "${values['first-byte-per-host-ms']}"`);
    speed.firstBytePerHostMs = perHost;
  }
  const bodyRate = int('body-bytes-per-sec', values['body-bytes-per-sec']);
  if (bodyRate !== undefined) speed.bodyBytesPerSec = bodyRate;
  const jitter = share('jitter', values.jitter);
  if (jitter !== undefined) speed.jitter = jitter;
  const limits: Partial<LimitConfig> = {};
  const set = <K extends keyof LimitConfig>(key: K, flag: string) => {
    const v = int(flag, values[flag as keyof typeof values] as string | undefined);
    if (v !== undefined) limits[key] = v;
  };
  set('rateLimit', 'rate-limit');
  set('rateWindowSec', 'rate-window-sec');
  set('concurrencyLimit', 'concurrency-limit');

  const faults: Partial<FaultConfig> = {};
  const latency = int('latency-ms', values['latency-ms']);
  if (latency !== undefined) faults.latencyMs = latency;
  const perMb = int('latency-per-mb-ms', values['latency-per-mb-ms']);
  if (perMb !== undefined) faults.latencyPerMbMs = perMb;
  const slow = int('slow-body-bytes-per-sec', values['slow-body-bytes-per-sec']);
  if (slow !== undefined) faults.slowBodyBytesPerSec = slow;
  if (values['error-rate'] !== undefined) {
    const rate = Number(values['error-rate']);
    if (!(rate >= 0 && rate <= 1)) throw new UsageError(`--error-rate: expected a number from 0 to 1, got "${values['error-rate']}"`);
    faults.errorRate = rate;
  }
  if (values['error-statuses'] !== undefined) {
    faults.errorStatuses = values['error-statuses'].split(',').map((s) => int('error-statuses', s.trim())!);
  }
  if (values.malformed) faults.malformedAlways = true;
  const maxHostsPerPage = int('max-hosts-per-page', values['max-hosts-per-page']);
  if (maxHostsPerPage !== undefined) faults.maxHostsPerPage = maxHostsPerPage;
  const dropNext = int('drop-next', values['drop-next']);
  if (dropNext !== undefined) faults.dropNext = { count: dropNext, afterBytes: int('drop-after-bytes', values['drop-after-bytes']) ?? 65_536 };
  if (values['fault-endpoints'] !== undefined) {
    faults.endpoints = values['fault-endpoints'].split(',').map((e) => {
      if (!(ENDPOINT_NAMES as readonly string[]).includes(e.trim())) {
        throw new UsageError(`--fault-endpoints: "${e.trim()}" is not one of ${ENDPOINT_NAMES.join(', ')}`);
      }
      return e.trim() as EndpointName;
    });
  }
  return {
    help: values.help ?? false,
    options: {
      host: values.host ?? '127.0.0.1',
      port: int('port', values.port) ?? 9443,
      hosts: int('hosts', values.hosts) ?? 1000,
      seed: int('seed', values.seed) ?? 7,
      ...(values.now !== undefined ? { now: values.now } : {}),
      assetGroups: int('asset-groups', values['asset-groups']) ?? 30,
      searchLists: int('search-lists', values['search-lists']) ?? 12,
      users: defaultUsers(values.user ?? DEFAULT_USERNAME, values.password ?? DEFAULT_PASSWORD),
      limits,
      faults,
      shapes,
      latency: speed,
      tls: values.tls ?? false,
      ...(profile ? { profile } : {}),
    },
  };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\nRun with --help for the options.`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(HELP);
    return;
  }
  const { options } = parsed;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    sim = await startSimulator(options);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `cannot start the simulator: ${(err as Error).message}`);
    process.exit(2);
  }
  const stop = () => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // `on`, not `once`: a listener left in place tells tsx's own signal relay that the signal is handled.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Handled before the banner: whoever waits for it may send a stop signal at once.
  const limits = { ...DEFAULT_LIMITS, ...(options.profile ? PROFILES[options.profile].limits : {}), ...options.limits };
  const latency = { ...(options.profile ? PROFILES[options.profile].latency : {}), ...options.latency };
  const faultList = Object.entries(options.faults).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  // The simulator's demo passwords are printed on purpose: they are not secrets.
  console.log(
    [
      `Qualys API simulator listening on ${sim.url}`,
      `  API base URL  ${sim.url}  (e.g. POST ${sim.url}/api/5.0/fo/asset/host/vm/detection/ with action=list)`,
      `  Accounts      ${options.users.map((u) => `${u.username} / ${u.password} (${u.role}${u.status ? `, ${u.status}` : ''})`).join('; ')}`,
      `  Data          ${options.hosts} hosts, seed ${options.seed}, ${options.assetGroups} asset groups, ${options.searchLists} search lists, clock ${options.now ?? 'live'}`,
      `  Limits        ${limits.rateLimit} calls per ${limits.rateWindowSec} s, ${limits.concurrencyLimit} at once`,
      `  Speed         ${options.profile ?? 'localhost'}${Object.keys(latency).length > 0 ? ` ${JSON.stringify(latency)}` : ''}`,
      `  Shapes        ${JSON.stringify({ ...DEFAULT_SHAPES, ...options.shapes })}`,
      ...(sim.certPath ? [`  Certificate   ${sim.certPath}  (trust it as the CA, e.g. curl --cacert ${sim.certPath})`] : []),
      `  Faults        ${faultList.length > 0 ? faultList.join(', ') : 'none'}`,
      `  Control       POST ${sim.url}/__sim/config, POST ${sim.url}/__sim/reset, GET ${sim.url}/__sim/stats`,
    ].join('\n'),
  );
}

await main();
