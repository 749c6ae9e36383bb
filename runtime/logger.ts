/**
 * Structured logging. Redaction is a backstop: code never logs secrets on
 * purpose, but an error object or a config dump can carry one by accident.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'passwordCiphertext',
  '*.passwordCiphertext',
];

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      name: options.name,
      redact: { paths: REDACT, censor: '[redacted]' },
      base: undefined,
    },
    options.destination ?? process.stderr,
  );
}
