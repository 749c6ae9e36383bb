/**
 * Errors leave activities through one interceptor: Qualys errors become
 * Temporal failures typed by class, with their retryability, the 409 wait as
 * details and Qualys's Retry-After as the next retry delay; other errors pass
 * through untouched. The 409s are counted for the metrics.
 */
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { failureInterceptor } from '../activities/failures.js';
import {
  QualysAuthError,
  QualysConcurrencyLimitError,
  QualysProtocolError,
  QualysRateLimitError,
  QualysSecurityError,
  QualysTransientError,
} from '../qualys/errors.js';
import { createMetrics, type Metrics } from '../runtime/metrics.js';
import { parseExposition, sumOf } from './support/prometheus-text.js';
import { quietActivityEnvironment } from './support/quiet-activity-environment.js';

async function failureOf(err: Error, metrics?: Metrics): Promise<unknown> {
  const env = quietActivityEnvironment({ interceptors: [failureInterceptor(metrics)] });
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

  it('counts the 409s that make a run wait, by reason and code, and nothing else', async () => {
    const metrics = createMetrics();
    await failureOf(new QualysRateLimitError(300, 'Qualys rate limit reached; retry in 300 s', { httpStatus: 409, code: 1965 }), metrics);
    await failureOf(new QualysConcurrencyLimitError(1, 15, 'Qualys concurrency limit reached', { httpStatus: 409, code: 1960 }), metrics);
    await failureOf(new QualysConcurrencyLimitError(1, 15, 'Qualys concurrency limit reached', { httpStatus: 409, code: 1960 }), metrics);
    await failureOf(new QualysTransientError('Qualys answered HTTP 502', { httpStatus: 502 }), metrics);
    const samples = parseExposition(await metrics.render());
    expect(sumOf(samples, 'qec_qualys_limit_waits_total', { reason: 'rate_limit', qualys_code: '1965' })).toBe(1);
    expect(sumOf(samples, 'qec_qualys_limit_waits_total', { reason: 'concurrency_limit', qualys_code: '1960' })).toBe(2);
    expect(sumOf(samples, 'qec_qualys_limit_waits_total')).toBe(3);
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
