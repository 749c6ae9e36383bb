/**
 * Errors crossing from the page-bytes thread to the activity: structured
 * cloning keeps a message but not a class, and the activities and the
 * failure interceptor decide on retries by class (a 409 is waited out, an
 * auth error ends the run). So an error travels as its class name and its own
 * fields, and comes back as an instance of the same Qualys error class.
 */
import {
  QualysAuthError,
  QualysConcurrencyLimitError,
  QualysContractError,
  QualysParameterError,
  QualysProtocolError,
  QualysRateLimitError,
  QualysSecurityError,
  QualysTransientError,
} from '../qualys/errors.js';

export interface PlainError {
  name: string;
  message: string;
  stack?: string;
  /** The error's own fields (kind, retryable, httpStatus, code, retryAfterSeconds…): primitives only. */
  fields: Record<string, string | number | boolean | null>;
}

const REVIVABLE: Record<string, { prototype: Error }> = Object.fromEntries(
  [
    QualysAuthError,
    QualysParameterError,
    QualysRateLimitError,
    QualysConcurrencyLimitError,
    QualysTransientError,
    QualysProtocolError,
    QualysContractError,
    QualysSecurityError,
  ].map((c) => [c.name, c]),
);

export function toPlainError(err: unknown): PlainError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields: PlainError['fields'] = {};
  for (const [key, value] of Object.entries(err)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value as string | number | boolean | null;
  }
  return { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}), fields };
}

/** The error again: a Qualys error of its own class, anything else an Error under its own name. */
export function fromPlainError(plain: PlainError): Error {
  const revived = Object.create((REVIVABLE[plain.name] ?? Error).prototype) as Error;
  Object.defineProperty(revived, 'message', { value: plain.message, writable: true, configurable: true });
  if (plain.stack) Object.defineProperty(revived, 'stack', { value: plain.stack, writable: true, configurable: true });
  Object.assign(revived, plain.fields);
  if (revived.name !== plain.name) revived.name = plain.name;
  return revived;
}
