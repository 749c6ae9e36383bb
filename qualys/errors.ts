/**
 * Typed Qualys errors and the one place where an HTTP answer from Qualys is
 * turned into success or one of them.
 *
 * Callers (Temporal activities, the API, the CLI) decide on retries from the
 * class alone: `err.name` is the class name, `retryable` says whether trying
 * again can help, and the limit errors carry the exact wait Qualys asked for.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type QualysErrorKind =
  | 'auth'
  | 'parameter'
  | 'rate_limit'
  | 'concurrency_limit'
  | 'transient'
  | 'protocol'
  | 'contract'
  | 'security';

export type QualysAuthReason =
  | 'bad_credentials'
  | 'account_expired'
  | 'user_inactive'
  | 'registration_incomplete'
  | 'securid_required'
  | 'license_not_authorized'
  | 'insufficient_role';

/** What Qualys said, when it said something (a SIMPLE_RETURN or GENERIC_RETURN body). */
export interface QualysErrorContext {
  httpStatus?: number | null;
  code?: number | null;
  text?: string | null;
}

function describe(message: string, ctx: QualysErrorContext): string {
  const parts: string[] = [];
  if (ctx.code != null) parts.push(`CODE ${ctx.code}`);
  if (ctx.text) parts.push(`TEXT "${ctx.text}"`);
  if (ctx.httpStatus != null) parts.push(`HTTP ${ctx.httpStatus}`);
  return parts.length > 0 ? `${message} (Qualys ${parts.join(', ')})` : message;
}

export abstract class QualysError extends Error {
  abstract readonly kind: QualysErrorKind;
  abstract readonly retryable: boolean;
  readonly httpStatus: number | null;
  readonly code: number | null;
  /** Qualys's own TEXT, verbatim (trimmed). */
  readonly qualysText: string | null;

  constructor(message: string, ctx: QualysErrorContext = {}, options?: { cause?: unknown }) {
    super(describe(message, ctx), options);
    this.name = new.target.name;
    this.httpStatus = ctx.httpStatus ?? null;
    this.code = ctx.code ?? null;
    this.qualysText = ctx.text ?? null;
  }

  /** Plain data for logs, workflow failure details and API problem documents (never secrets). */
  details(): Record<string, unknown> {
    return { type: this.name, kind: this.kind, retryable: this.retryable, httpStatus: this.httpStatus, code: this.code, text: this.qualysText };
  }
}

export class QualysAuthError extends QualysError {
  readonly kind = 'auth' as const;
  readonly retryable = false;
  constructor(
    readonly reason: QualysAuthReason,
    message: string,
    ctx: QualysErrorContext = {},
  ) {
    super(message, ctx);
  }
  override details(): Record<string, unknown> {
    return { ...super.details(), reason: this.reason };
  }
}

export class QualysParameterError extends QualysError {
  readonly kind = 'parameter' as const;
  readonly retryable = false;
}

export class QualysRateLimitError extends QualysError {
  readonly kind = 'rate_limit' as const;
  readonly retryable = true;
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
    ctx: QualysErrorContext = {},
  ) {
    super(message, ctx);
  }
  override details(): Record<string, unknown> {
    return { ...super.details(), retryAfterSeconds: this.retryAfterSeconds };
  }
}

export class QualysConcurrencyLimitError extends QualysError {
  readonly kind = 'concurrency_limit' as const;
  readonly retryable = true;
  constructor(
    readonly callsToFinish: number | null,
    readonly retryAfterSeconds: number,
    message: string,
    ctx: QualysErrorContext = {},
  ) {
    super(message, ctx);
  }
  override details(): Record<string, unknown> {
    return { ...super.details(), callsToFinish: this.callsToFinish, retryAfterSeconds: this.retryAfterSeconds };
  }
}

export class QualysTransientError extends QualysError {
  readonly kind = 'transient' as const;
  readonly retryable = true;
  /** From a Retry-After header (maintenance windows), else null: back off as usual. */
  readonly retryAfterSeconds: number | null;
  constructor(message: string, ctx: QualysErrorContext & { retryAfterSeconds?: number | null } = {}, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.retryAfterSeconds = ctx.retryAfterSeconds ?? null;
  }
  override details(): Record<string, unknown> {
    return { ...super.details(), retryAfterSeconds: this.retryAfterSeconds };
  }
}

/** The answer is not what Qualys sends: not XML/CSV, cut short, malformed, an unexpected root or error code. */
export class QualysProtocolError extends QualysError {
  readonly kind = 'protocol' as const;
  readonly retryable = true;
}

/**
 * The answer breaks a rule every Qualys answer keeps, in a way that asking
 * again returns the same: a truncation cursor that does not advance past the
 * page, nesting or a text node far beyond anything Qualys sends. Retrying
 * would download the same thing again, so the run fails at once.
 */
export class QualysContractError extends QualysError {
  readonly kind = 'contract' as const;
  readonly retryable = false;
}

/**
 * We refused to do something unsafe: follow a redirect, contact another host,
 * send credentials in clear text, or read an XML document that declares its
 * own DTD (entity declarations, billion laughs).
 */
export class QualysSecurityError extends QualysError {
  readonly kind = 'security' as const;
  readonly retryable = false;
}

export const QUALYS_ERROR_NAMES = [
  'QualysAuthError',
  'QualysParameterError',
  'QualysRateLimitError',
  'QualysConcurrencyLimitError',
  'QualysTransientError',
  'QualysProtocolError',
  'QualysContractError',
  'QualysSecurityError',
] as const;

/** For Temporal's `nonRetryableErrorTypes`: failing again cannot succeed. */
export const NON_RETRYABLE_QUALYS_ERROR_NAMES = ['QualysAuthError', 'QualysParameterError', 'QualysContractError', 'QualysSecurityError'] as const;

/** A Qualys SIMPLE_RETURN / GENERIC_RETURN document, reduced to what classification needs. */
export interface QualysReturnDocument {
  root: 'SIMPLE_RETURN' | 'GENERIC_RETURN';
  code: number | null;
  text: string | null;
  items: Record<string, string>;
}

export interface QualysAnswer {
  httpStatus: number;
  headers: IncomingHttpHeaders;
  /** The parsed return document, when the body was one. */
  document: QualysReturnDocument | null;
}

const AUTH_CODES: Record<number, { reason: QualysAuthReason; message: string }> = {
  2000: { reason: 'bad_credentials', message: 'Qualys rejected the login: wrong username or password, no API access, or the wrong platform URL' },
  2001: { reason: 'account_expired', message: 'the Qualys account has expired' },
  2002: { reason: 'user_inactive', message: 'the Qualys user is inactive' },
  2003: { reason: 'registration_incomplete', message: 'the Qualys account registration is not complete' },
  2011: { reason: 'securid_required', message: 'the Qualys user requires SecurID authentication, which the API cannot use' },
  2012: { reason: 'license_not_authorized', message: 'the Qualys subscription is not licensed for this API' },
};

const INSUFFICIENT_ROLE_MESSAGE =
  'the Qualys user is not allowed to use this API: its role is too low (Host List Detection needs Reader, Scanner, Unit Manager or Manager; Auditors are refused)';

const PARAMETER_CODES = new Set([1901, 1903, 1904, 1905, 1907, 1908]);
const TRANSIENT_CODES = new Set([999, 1920, 1981, 1999]);
const DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60;
/** Qualys gives no wait for 1960; a running call usually finishes within this. */
export const CONCURRENCY_RETRY_SECONDS = 15;

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

function nonNegativeInt(value: string | null | undefined): number | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  return Number(trimmed);
}

/** "This API cannot be run again for another 23 hours, 57 minutes and 54 seconds." */
function secondsFromText(text: string | null): number | null {
  if (!text) return null;
  const unit = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const total = unit(/(\d+)\s*hours?/i) * 3600 + unit(/(\d+)\s*minutes?/i) * 60 + unit(/(\d+)\s*seconds?/i);
  return total > 0 ? total : null;
}

function retryAfterHeader(headers: IncomingHttpHeaders): number | null {
  const value = header(headers, 'retry-after');
  if (value == null) return null;
  const seconds = nonNegativeInt(value);
  if (seconds != null) return seconds;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function rateLimitError(answer: QualysAnswer, ctx: QualysErrorContext): QualysRateLimitError {
  const doc = answer.document;
  const fromHeader = nonNegativeInt(header(answer.headers, 'x-ratelimit-towait-sec'));
  const fromItem = nonNegativeInt(doc?.items.SECONDS_TO_WAIT);
  // Both should agree; if they do not, waiting the longer one never calls too early.
  const candidates = [fromHeader, fromItem].filter((v): v is number => v != null);
  const seconds =
    candidates.length > 0
      ? Math.max(...candidates)
      : (secondsFromText(doc?.text ?? null) ?? retryAfterHeader(answer.headers) ?? DEFAULT_RATE_LIMIT_WAIT_SECONDS);
  return new QualysRateLimitError(seconds, `Qualys rate limit reached; retry in ${seconds} s`, ctx);
}

function concurrencyLimitError(answer: QualysAnswer, ctx: QualysErrorContext): QualysConcurrencyLimitError {
  const doc = answer.document;
  const calls = nonNegativeInt(doc?.items.CALLS_TO_FINISH) ?? nonNegativeInt(/until (\d+) currently running/i.exec(doc?.text ?? '')?.[1]);
  return new QualysConcurrencyLimitError(
    calls,
    CONCURRENCY_RETRY_SECONDS,
    `Qualys concurrency limit reached${calls != null ? ` (${calls} running call(s) must finish)` : ''}; retry in ${CONCURRENCY_RETRY_SECONDS} s`,
    ctx,
  );
}

/**
 * Maps one Qualys answer to an error, or null when it is a success.
 * A 200 is a success only when no error code came with it: Qualys reports an
 * expired account (2001) with HTTP 200 and a SIMPLE_RETURN body.
 */
export function classifyQualysResponse(answer: QualysAnswer): QualysError | null {
  const { httpStatus, document: doc } = answer;
  const ctx: QualysErrorContext = { httpStatus, code: doc?.code ?? null, text: doc?.text ?? null };
  const code = doc?.code ?? null;

  if (httpStatus >= 300 && httpStatus < 400) {
    return new QualysSecurityError(`Qualys answered with a redirect (HTTP ${httpStatus}) to ${header(answer.headers, 'location') ?? 'an unnamed location'}; redirects are never followed`, ctx);
  }
  if (code != null) {
    const auth = AUTH_CODES[code];
    // Qualys has no code of its own for a role refused an API; it answers "not
    // authorized to run this API" (2012) and names the role in the text.
    if (code === 2012 && /\brole\b/i.test(doc?.text ?? '')) return new QualysAuthError('insufficient_role', INSUFFICIENT_ROLE_MESSAGE, ctx);
    if (auth) return new QualysAuthError(auth.reason, auth.message, ctx);
    if (PARAMETER_CODES.has(code)) return new QualysParameterError('Qualys rejected the request parameters', ctx);
    if (code === 1965) return rateLimitError(answer, ctx);
    if (code === 1960) return concurrencyLimitError(answer, ctx);
    if (TRANSIENT_CODES.has(code)) {
      return new QualysTransientError('Qualys could not serve the request right now', { ...ctx, retryAfterSeconds: retryAfterHeader(answer.headers) });
    }
  }
  if (httpStatus >= 200 && httpStatus < 300) {
    if (code == null) return null;
    return new QualysProtocolError(`Qualys answered HTTP ${httpStatus} with an unknown error code`, ctx);
  }
  if (httpStatus === 409 && header(answer.headers, 'x-ratelimit-towait-sec') != null) return rateLimitError(answer, ctx);
  if (httpStatus === 429) return rateLimitError(answer, ctx);
  if (httpStatus === 401) return new QualysAuthError('bad_credentials', AUTH_CODES[2000]!.message, ctx);
  if (httpStatus === 403) return new QualysAuthError('insufficient_role', INSUFFICIENT_ROLE_MESSAGE, ctx);
  if (httpStatus >= 500 || httpStatus === 408 || httpStatus === 409) {
    return new QualysTransientError(`Qualys answered HTTP ${httpStatus}`, { ...ctx, retryAfterSeconds: retryAfterHeader(answer.headers) });
  }
  if (httpStatus >= 400) return new QualysParameterError(`Qualys refused the request (HTTP ${httpStatus})`, ctx);
  return new QualysProtocolError(`unexpected HTTP status ${httpStatus} from Qualys`, ctx);
}

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

const NETWORK_MESSAGES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connecting to Qualys timed out',
  UND_ERR_HEADERS_TIMEOUT: 'Qualys did not start answering in time (first-byte timeout)',
  UND_ERR_BODY_TIMEOUT: 'Qualys stopped sending the body (idle timeout)',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the response body was cut off before its announced length',
  UND_ERR_SOCKET: 'the connection to Qualys was closed while the answer was being received',
};

/**
 * Maps a transport failure (undici or socket error) to a Qualys error. Errors
 * that are already Qualys errors pass through; unknown ones become transient,
 * since a network path that failed once may work the next time.
 */
export function classifyTransportError(err: unknown): QualysError {
  if (err instanceof QualysError) return err;
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code;
  if (code === 'ENOTFOUND') {
    return new QualysTransientError(`the Qualys API host could not be resolved (${e.message ?? code})`, {}, { cause: err });
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return new QualysSecurityError(`the Qualys API host's TLS certificate was refused (${code})`);
  }
  const known = code != null && TRANSIENT_NETWORK_CODES.has(code);
  const message = (code && NETWORK_MESSAGES[code]) ?? `network error talking to Qualys: ${e?.message ?? String(err)}${code && !known ? ` (${code})` : ''}`;
  return new QualysTransientError(message, {}, { cause: err });
}
