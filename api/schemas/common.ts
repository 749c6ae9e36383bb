/** Schemas shared by every route: ids, pagination, the problem document. */
import { z } from '@hono/zod-openapi';

export const pageQuery = z.object({
  cursor: z
    .string()
    .max(500, 'must be at most 500 characters')
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a nextCursor value returned by this API')
    .optional()
    .openapi({ description: 'Opaque cursor from a previous page (`nextCursor`, base64url)' }),
  limit: z.coerce.number().int().min(1).max(500).optional().openapi({ description: 'Items per page, 1–500 (default 50)' }),
});

export function pageOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const problemSchema = z
  .object({
    type: z.string().openapi({ example: '/problems/validation-failed' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
  })
  .openapi('Problem');

const problemContent = { 'application/problem+json': { schema: problemSchema } };

/** Standard error responses to spread into a route's `responses`. */
export const errorResponses = {
  400: { description: 'Malformed request', content: problemContent },
  401: { description: 'Missing or unknown API key', content: problemContent },
  403: { description: 'The API key lacks the role', content: problemContent },
  404: { description: 'Not found', content: problemContent },
  413: { description: 'Body too large', content: problemContent },
  415: { description: 'Body is not JSON', content: problemContent },
  422: { description: 'Validation failed', content: problemContent },
} as const;

export const jsonBody = <T extends z.ZodTypeAny>(schema: T, description?: string) => ({
  required: true,
  description,
  content: { 'application/json': { schema } },
});

export const jsonResponse = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** ISO timestamps as the API shows them. */
export const isoTime = z.string().openapi({ format: 'date-time' });

export function iso(value: Date | null | undefined): string | null {
  return value ? value.toISOString() : null;
}
