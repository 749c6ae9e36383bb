/**
 * Routes the Temporal SDK's own logs (worker state, bundling, core) into
 * the app's logger, at the app's level, instead of the SDK's console output,
 * and, when asked, serves the SDK's metrics with ours. Must run before the
 * first worker or native connection is created.
 */
import { DefaultLogger, Runtime, type LogLevel, type TelemetryOptions } from '@temporalio/worker';
import { freePort } from './free-port.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** A scrape waits this long for the SDK's exporter, which answers from memory. */
const SDK_SCRAPE_TIMEOUT_MS = 2_000;

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The SDK's info messages (bundling statistics, every worker state change)
 * drown the app's own; they show from LOG_LEVEL=debug on.
 */
function temporalLevel(logger: Logger): LogLevel {
  const level = logger.level as string;
  if (level === 'trace') return 'TRACE';
  if (level === 'debug') return 'INFO';
  if (level === 'error' || level === 'fatal' || level === 'silent') return 'ERROR';
  return 'WARN';
}

interface TemporalRuntimeOptions {
  /**
   * The SDK's own metrics (workflow and activity completions, task latencies,
   * pollers) are appended to these metrics' scrapes. Core's Prometheus
   * exporter serves them on a loopback port of its own, read at each scrape,
   * so operators still scrape one URL.
   */
  metrics?: Metrics;
}

export async function installTemporalRuntime(logger: Logger, options: TemporalRuntimeOptions = {}): Promise<void> {
  const sdk = logger.child({ component: 'temporal-sdk' });
  let telemetryOptions: TelemetryOptions | undefined;
  if (options.metrics) {
    const bindAddress = `127.0.0.1:${await freePort()}`;
    telemetryOptions = { metrics: { prometheus: { bindAddress } } };
    options.metrics.addExposition(() => readSdkMetrics(`http://${bindAddress}/metrics`, sdk));
  }
  Runtime.install({
    logger: new DefaultLogger(temporalLevel(logger), ({ level, message, meta }) => sdk[PINO_LEVEL[level]](meta ?? {}, message)),
    telemetryOptions,
  });
}

/** The SDK exporter's text; a scrape still returns ours when it does not answer. */
async function readSdkMetrics(url: string, logger: Logger): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return await res.text();
  } catch (err) {
    logger.warn({ url, error: (err as Error).message }, 'the Temporal SDK metrics did not answer');
    return '# the Temporal SDK metrics are unavailable in this scrape\n';
  }
}
