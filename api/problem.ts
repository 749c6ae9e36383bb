/**
 * Errors as RFC 9457 problem documents. Every error the API returns goes
 * through here, so clients can rely on one shape and on stable `type` URIs.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Stable problem types; the slug is the contract, the title is for people. */
export const PROBLEMS = {
  'malformed-request': { status: 400, title: 'Malformed request' },
  'validation-failed': { status: 422, title: 'Validation failed' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed for this API key' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-timeout': { status: 408, title: 'Request timeout' },
  conflict: { status: 409, title: 'Conflict' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'range-not-satisfiable': { status: 416, title: 'Range not satisfiable' },
  'headers-too-large': { status: 431, title: 'Request header fields too large' },
  'qualys-rejected': { status: 422, title: 'Qualys rejected the request' },
  'qualys-unavailable': { status: 502, title: 'Qualys is unavailable' },
  'service-unavailable': { status: 503, title: 'Service unavailable' },
  internal: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemSlug = keyof typeof PROBLEMS;

export interface FieldError {
  field: string;
  reason: string;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problemType(slug: ProblemSlug): string {
  return `/problems/${slug}`;
}

/** Thrown by handlers and services; turned into a problem response by the app's error handler. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(
    readonly slug: ProblemSlug,
    detail: string,
    readonly extra: { errors?: FieldError[]; status?: number; headers?: Record<string, string>; [k: string]: unknown } = {},
  ) {
    super(detail);
    this.status = extra.status ?? PROBLEMS[slug].status;
  }
}

export function notFound(what: string, id: string): ApiError {
  return new ApiError('not-found', `${what} ${id} does not exist`);
}

export function fieldError(field: string, reason: string, slug: ProblemSlug = 'validation-failed'): ApiError {
  return new ApiError(slug, `${field}: ${reason}`, { errors: [{ field, reason }] });
}

export function zodFieldErrors(error: ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => {
    const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)';
    if (issue.code === 'unrecognized_keys') return { field, reason: `unknown field(s): ${issue.keys.join(', ')}` };
    // Shared schemas (qualys/) already name their field in the message; say it once.
    const last = issue.path.at(-1);
    const reason = last !== undefined && issue.message.startsWith(`${String(last)}: `) ? issue.message.slice(String(last).length + 2) : issue.message;
    return { field, reason };
  });
}

export function problemBody(slug: ProblemSlug, detail: string, extra: Omit<ProblemDocument, 'type' | 'title' | 'status' | 'detail'> = {}, status?: number): ProblemDocument {
  return { type: problemType(slug), title: PROBLEMS[slug].title, status: status ?? PROBLEMS[slug].status, detail, ...extra };
}

export function problemResponse(c: Context, body: ProblemDocument, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(body), body.status as ContentfulStatusCode, { 'content-type': PROBLEM_CONTENT_TYPE, ...headers });
}
