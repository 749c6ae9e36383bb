/**
 * Errors leave activities through one interceptor: Qualys errors become
 * Temporal failures typed by class, with their retryability, the 409 wait as
 * details and Qualys's Retry-After as the next retry delay; other errors pass
 * through untouched.
 */
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { failureInterceptor } from '../activities/failures.js';
import {
  QualysAuthError,
  QualysConcurrencyLimitError,
  QualysProtocolError,
  QualysRateLimitError,
  QualysSecurityError,
  QualysTransientError,
} from '../qualys/errors.js';

async function failureOf(err: Error): Promise<unknown> {
  const env = new MockActivityEnvironment(undefined, { interceptors: [failureInterceptor] });
  return env.run(async () => {
    throw err;
  }).then(
    () => null,
    (e: unknown) => e,
  );
}

describe('activity failure mapping', () => {
  it('turns a maintenance answer with Retry-After into a retryable failure that waits that long', async () => {
    const failure = (await failureOf(new QualysTransientError('Qualys could not serve the request right now', { httpStatus: 503, code: 1999, retryAfterSeconds: 120 }))) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe('QualysTransientError');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(120_000);
  });

  it('leaves the backoff alone when Qualys names no delay', async () => {
    const failure = (await failureOf(new QualysTransientError('Qualys answered HTTP 502', { httpStatus: 502 }))) as ApplicationFailure;
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.nonRetryable).toBe(false);
  });

  it('marks 409s non-retryable for Temporal and carries the wait for the workflow timer', async () => {
    const rate = (await failureOf(new QualysRateLimitError(300, 'Qualys rate limit reached; retry in 300 s', { httpStatus: 409, code: 1965 }))) as ApplicationFailure;
    expect(rate).toMatchObject({ type: 'QualysRateLimitError', nonRetryable: true, details: [{ retryAfterSeconds: 300, qualysCode: 1965 }] });
    const concurrency = (await failureOf(new QualysConcurrencyLimitError(1, 15, 'Qualys concurrency limit reached', { httpStatus: 409, code: 1960 }))) as ApplicationFailure;
    expect(concurrency).toMatchObject({ type: 'QualysConcurrencyLimitError', nonRetryable: true, details: [{ retryAfterSeconds: 0, qualysCode: 1960 }] });
  });

  it('keeps authentication and security refusals permanent and protocol faults retryable', async () => {
    expect(await failureOf(new QualysAuthError('bad_credentials', 'Qualys rejected the login', { httpStatus: 401, code: 2000 }))).toMatchObject({ type: 'QualysAuthError', nonRetryable: true });
    expect(await failureOf(new QualysSecurityError('redirects are never followed'))).toMatchObject({ type: 'QualysSecurityError', nonRetryable: true });
    expect(await failureOf(new QualysProtocolError('the document ended early'))).toMatchObject({ type: 'QualysProtocolError', nonRetryable: false });
  });

  it('passes other errors through as they are', async () => {
    const plain = new TypeError('a bug');
    expect(await failureOf(plain)).toBe(plain);
    const typed = ApplicationFailure.nonRetryable('fetcher x is disabled', 'InvalidState');
    expect(await failureOf(typed)).toBe(typed);
  });
});
