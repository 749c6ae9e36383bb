/**
 * Test-file set-up: the Temporal SDK's own logs (worker state changes,
 * activity failures the tests provoke on purpose, core warnings) go to
 * test-results/temporal-sdk.log instead of the console, so a passing run
 * prints little and a failing one prints what matters.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../runtime/paths.js';

const dir = path.join(PROJECT_ROOT, 'test-results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, 'temporal-sdk.log');

const write = (line: string) => fs.appendFileSync(file, line);
try {
  Runtime.install({
    logger: new DefaultLogger(process.env.TEMPORAL_SDK_LOG_LEVEL === 'DEBUG' ? 'DEBUG' : 'INFO', ({ level, message, meta, timestampNanos }) => {
      const at = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
      write(`${at} ${process.pid} ${level} ${message}${meta ? ` ${safeJson(meta)}` : ''}\n`);
    }),
    telemetryOptions: { logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } } },
  });
} catch {
  // Already installed in this process (a file that installs its own): keep that one.
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? { name: v.name, message: v.message } : v));
  } catch {
    return String(value);
  }
}
