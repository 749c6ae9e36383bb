/**
 * What the API tells its caller when a call it made to Qualys failed. A
 * refusal of the account (login, expiry, role) is the caller's to fix, so it
 * is a 422 with Qualys's reason; anything else (Qualys down, limits, a broken
 * answer, an unsafe redirect) is a 502 naming what went wrong.
 */
import { QualysAuthError, QualysConcurrencyLimitError, QualysRateLimitError, type QualysError } from '../qualys/errors.js';
import { ApiError } from './problem.js';

/** Qualys answers a wrong password, a user without API access and the wrong platform alike. */
const BAD_CREDENTIALS_HINT =
  'Qualys answers the same way for a wrong username or password, a user without API access, and the wrong platform (API server URL): check all three';

export function qualysProblem(err: QualysError): ApiError {
  const qualys = { qualysCode: err.code, qualysText: err.qualysText, qualysHttpStatus: err.httpStatus };
  if (err instanceof QualysAuthError) {
    const detail = err.reason === 'bad_credentials' ? `${err.message}. ${BAD_CREDENTIALS_HINT}` : err.message;
    return new ApiError('qualys-rejected', detail, { reason: err.reason, ...qualys });
  }
  const wait = err instanceof QualysRateLimitError || err instanceof QualysConcurrencyLimitError ? err.retryAfterSeconds : null;
  return new ApiError('qualys-unavailable', err.message, {
    reason: err.kind,
    ...qualys,
    ...(wait === null ? {} : { retryAfterSeconds: wait, headers: { 'retry-after': String(wait) } }),
  });
}
