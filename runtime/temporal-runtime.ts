/**
 * Routes the Temporal SDK's own logs (worker state, bundling, core) into
 * the app's logger, at the app's level, instead of the SDK's console output.
 * Must run before the first worker or native connection is created.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger.js';

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

export function installTemporalRuntime(logger: Logger): void {
  const sdk = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(temporalLevel(logger), ({ level, message, meta }) => sdk[PINO_LEVEL[level]](meta ?? {}, message)),
  });
}
