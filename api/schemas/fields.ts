/**
 * Field builders for request bodies, so every field says in plain words what
 * is wrong with it (the field name itself comes from the error's path).
 */
import { z } from '@hono/zod-openapi';

const NUL = '\u0000';
const NUL_REASON = 'must not contain NUL characters';

/** Postgres refuses NUL in text and jsonb; refused here, it is the caller's mistake rather than a 500. */
export function withoutNul(value: string): boolean {
  return !value.includes(NUL);
}

/** Adds an issue for every string (key or value) holding NUL, at its path, for structures stored as jsonb. */
export function addNulIssues(value: unknown, ctx: z.RefinementCtx, path: PropertyKey[] = []): void {
  if (typeof value === 'string') {
    if (!withoutNul(value)) ctx.addIssue({ code: 'custom', path, message: NUL_REASON });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => addNulIssues(item, ctx, [...path, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!withoutNul(key)) ctx.addIssue({ code: 'custom', path, message: 'has a name with a NUL character' });
      addNulIssues(item, ctx, [...path, key]);
    }
  }
}

/** A trimmed, non-empty text of at most `max` characters. */
export function requiredText(max: number) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine(withoutNul, NUL_REASON);
}

/** Free text that may be empty, such as a description. */
export function optionalText(max: number) {
  return z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`).refine(withoutNul, NUL_REASON);
}

/** The id of a row, as a body field, list item or query value. */
export function rowId(what: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be a ${what} id (a string)`) })
    .min(1, `must be a ${what} id`)
    .max(200, `is too long for a ${what} id`)
    .refine(withoutNul, `is not a ${what} id`);
}

/** A path parameter holding a row id. */
export function pathId(name: string, what: string) {
  return z.object({ [name]: rowId(what).openapi({ param: { name, in: 'path' }, description: `The ${what} id` }) });
}

/** A list of row ids (controls, requests…); duplicates are harmless and dropped later. */
export function idList(what: string, max = 500) {
  return z.array(rowId(what), { error: `must be a list of ${what} ids` }).max(max, `at most ${max} ${what}s`);
}

/** A calendar date, as audits name periods. */
export const isoDate = z.iso.date({ error: 'must be a date like 2026-03-31' }).openapi({ format: 'date', example: '2026-03-31' });

export const enabledField = z.boolean({ error: 'must be true or false' });

/** Query-string booleans: `true`/`false` only (coercion would read "false" as true). */
export const queryBoolean = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((value) => value === 'true');

/**
 * A named schema or null. `.nullable()` on a named schema would make the
 * shared OpenAPI component itself nullable, wherever it is used.
 */
export function orNull<T extends z.ZodType>(schema: T) {
  return z.union([schema, z.null()]);
}
