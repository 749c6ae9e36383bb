import { describe, expect, it } from 'vitest';
import { readDetectionPage } from '../qualys/detection-page-reader.js';
import {
  classifyQualysResponse,
  classifyTransportError,
  NON_RETRYABLE_QUALYS_ERROR_NAMES,
  QUALYS_ERROR_NAMES,
  QualysAuthError,
  QualysConcurrencyLimitError,
  QualysContractError,
  QualysError,
  QualysParameterError,
  QualysProtocolError,
  QualysRateLimitError,
  QualysSecurityError,
  QualysTransientError,
} from '../qualys/errors.js';
import { parseReturnDocument } from '../qualys/return-document.js';
import { chunksOf, fixture, simpleReturn } from './fixtures/qualys/helpers.js';

/** Reads an error document through the page reader, as the client does for a page. */
async function errorFrom(body: string | Buffer, httpStatus: number, headers: Record<string, string> = {}): Promise<QualysError> {
  const err = await readDetectionPage(chunksOf(Buffer.from(body), 37), { httpStatus, headers }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(QualysError);
  return err as QualysError;
}

describe('Qualys error documents', () => {
  it.each([
    [1901, 400, 'Unrecognized parameter(s): bogus. Allowed parameters for this request: action, ids'],
    [1903, 400, 'Missing required parameter(s): action'],
    [1904, 400, 'Please specify only one of these parameters: ag_ids, ag_titles'],
    [1905, 400, 'parameter severities has invalid value: 9'],
    [1907, 400, 'Unsupported combination of parameters'],
    [1908, 400, 'This method is not supported'],
  ])('code %i is a non-retryable parameter error carrying Qualys’s text', async (code, status, text) => {
    const err = await errorFrom(simpleReturn(code, text), status);
    expect(err).toBeInstanceOf(QualysParameterError);
    expect(err.name).toBe('QualysParameterError');
    expect(err.retryable).toBe(false);
    expect(err.code).toBe(code);
    expect(err.qualysText).toBe(text);
    expect(err.message).toContain(`CODE ${code}`);
    expect(err.message).toContain(`TEXT "${text}"`);
  });

  it.each([
    [2000, 401, 'bad_credentials', 'Bad Login/Password'],
    [2001, 200, 'account_expired', 'Your account has expired.'],
    [2002, 403, 'user_inactive', 'User account is inactive.'],
    [2003, 403, 'registration_incomplete', 'Registration must be completed before API requests will be served for this account'],
    [2011, 403, 'securid_required', 'SecureID authentication is required for this account, so API access is blocked.'],
    [2012, 403, 'license_not_authorized', 'User license is not authorized to run this API.'],
    [2012, 403, 'insufficient_role', 'User license is not authorized to run this API: the Auditor role has no access to vulnerability data.'],
  ])('code %i (HTTP %i) is an authentication error with reason %s', async (code, status, reason, text) => {
    const err = await errorFrom(simpleReturn(code, text), status);
    expect(err).toBeInstanceOf(QualysAuthError);
    expect((err as QualysAuthError).reason).toBe(reason);
    expect(err.retryable).toBe(false);
    expect(err.httpStatus).toBe(status);
    expect(err.message).toContain(text);
  });

  it('an expired account answers HTTP 200: the body decides, not the status', async () => {
    const err = await errorFrom(simpleReturn(2001, 'Your account has expired.'), 200);
    expect(err).toMatchObject({ name: 'QualysAuthError', reason: 'account_expired', httpStatus: 200, code: 2001 });
  });

  it('1965 carries the exact wait from SECONDS_TO_WAIT, or from X-RateLimit-ToWait-Sec', async () => {
    const text = 'This API cannot be run again for another 23 hours, 57 minutes and 54 seconds.';
    const fromItem = await errorFrom(simpleReturn(1965, text, { SECONDS_TO_WAIT: '68928' }), 409);
    expect(fromItem).toBeInstanceOf(QualysRateLimitError);
    expect((fromItem as QualysRateLimitError).retryAfterSeconds).toBe(68928);
    expect(fromItem.retryable).toBe(true);

    const fromHeader = await errorFrom(simpleReturn(1965, text), 409, { 'x-ratelimit-towait-sec': '120' });
    expect((fromHeader as QualysRateLimitError).retryAfterSeconds).toBe(120);

    const fromText = await errorFrom(simpleReturn(1965, text), 409);
    expect((fromText as QualysRateLimitError).retryAfterSeconds).toBe(23 * 3600 + 57 * 60 + 54);
  });

  it('1960 carries CALLS_TO_FINISH and a short suggested wait', async () => {
    const err = await errorFrom(simpleReturn(1960, 'This API cannot be run again until 2 currently running API instances have finished.', { CALLS_TO_FINISH: '2' }), 409);
    expect(err).toBeInstanceOf(QualysConcurrencyLimitError);
    expect((err as QualysConcurrencyLimitError).callsToFinish).toBe(2);
    expect((err as QualysConcurrencyLimitError).retryAfterSeconds).toBeGreaterThanOrEqual(10);
    expect((err as QualysConcurrencyLimitError).retryAfterSeconds).toBeLessThanOrEqual(30);
    expect(err.retryable).toBe(true);
  });

  it.each([
    [999, 500],
    [1920, 409],
    [1981, 202],
    [1999, 503],
  ])('code %i is transient', async (code, status) => {
    const err = await errorFrom(simpleReturn(code, 'Please try again later.'), status, { 'retry-after': '600' });
    expect(err).toBeInstanceOf(QualysTransientError);
    expect(err.retryable).toBe(true);
    expect((err as QualysTransientError).retryAfterSeconds).toBe(600);
  });

  it('reads the older GENERIC_RETURN shape', async () => {
    const err = await errorFrom(fixture('generic-return.xml'), 500);
    expect(err).toBeInstanceOf(QualysTransientError);
    expect(err.code).toBe(999);
    expect(err.qualysText).toBe('Internal error. Please contact customer support.');
  });

  it('an unknown error code in a 200, or a SIMPLE_RETURN without one, is a protocol error for a page', async () => {
    expect(await errorFrom(simpleReturn(4242, 'Something new'), 200)).toBeInstanceOf(QualysProtocolError);
    const noCode = simpleReturn(0, 'Scan launched').replace('    <CODE>0</CODE>\n', '');
    const err = await errorFrom(noCode, 200);
    expect(err).toBeInstanceOf(QualysProtocolError);
    expect(err.message).toContain('SIMPLE_RETURN without an error code: "Scan launched"');
  });

  it('parses a return document and decodes non-ASCII text', () => {
    const doc = parseReturnDocument(Buffer.from(simpleReturn(1905, 'parameter ips has invalid value: 10.0.0.ü', { KEY_A: 'v1' })));
    expect(doc).toEqual({ root: 'SIMPLE_RETURN', code: 1905, text: 'parameter ips has invalid value: 10.0.0.ü', items: { KEY_A: 'v1' } });
    expect(parseReturnDocument(Buffer.from('<html><body>Bad gateway</body></html>'))).toBeNull();
    expect(parseReturnDocument(Buffer.from(''))).toBeNull();
  });
});

describe('HTTP answers without a Qualys document', () => {
  const classify = (httpStatus: number, headers: Record<string, string> = {}) => classifyQualysResponse({ httpStatus, headers, document: null });

  it('maps statuses to the error classes', () => {
    expect(classify(200)).toBeNull();
    expect(classify(401)).toMatchObject({ name: 'QualysAuthError', reason: 'bad_credentials' });
    expect(classify(403)).toMatchObject({ name: 'QualysAuthError', reason: 'insufficient_role' });
    expect(classify(404)).toBeInstanceOf(QualysParameterError);
    expect(classify(414)).toBeInstanceOf(QualysParameterError);
    expect(classify(429, { 'retry-after': '30' })).toMatchObject({ name: 'QualysRateLimitError', retryAfterSeconds: 30 });
    expect(classify(409, { 'x-ratelimit-towait-sec': '45' })).toMatchObject({ name: 'QualysRateLimitError', retryAfterSeconds: 45 });
    expect(classify(502)).toBeInstanceOf(QualysTransientError);
    expect(classify(503, { 'retry-after': '120' })).toMatchObject({ name: 'QualysTransientError', retryAfterSeconds: 120 });
  });

  it('refuses redirects as a security error naming the target', () => {
    const err = classify(302, { location: 'https://evil.example.com/api/' });
    expect(err).toBeInstanceOf(QualysSecurityError);
    expect(err!.message).toContain('https://evil.example.com/api/');
    expect(err!.retryable).toBe(false);
  });

  it('maps network failures: resets and timeouts are transient, bad certificates are a security error', () => {
    const reset = classifyTransportError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(reset).toBeInstanceOf(QualysTransientError);
    expect(classifyTransportError(Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' })).message).toContain('first-byte timeout');
    expect(classifyTransportError(Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' })).message).toContain('idle timeout');
    expect(classifyTransportError(Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }))).toBeInstanceOf(QualysSecurityError);
    const protocol = new QualysProtocolError('x');
    expect(classifyTransportError(protocol)).toBe(protocol);
  });

  it('lists every error class by name, and the ones not worth retrying', () => {
    const classes = [QualysAuthError, QualysParameterError, QualysRateLimitError, QualysConcurrencyLimitError, QualysTransientError, QualysProtocolError, QualysContractError, QualysSecurityError];
    expect([...QUALYS_ERROR_NAMES].sort()).toEqual(classes.map((c) => c.name).sort());
    expect([...NON_RETRYABLE_QUALYS_ERROR_NAMES].sort()).toEqual(['QualysAuthError', 'QualysContractError', 'QualysParameterError', 'QualysSecurityError']);
    const details = new QualysRateLimitError(5, 'wait', { httpStatus: 409, code: 1965, text: 't' }).details();
    expect(details).toEqual({ type: 'QualysRateLimitError', kind: 'rate_limit', retryable: true, httpStatus: 409, code: 1965, text: 't', retryAfterSeconds: 5 });
  });
});
