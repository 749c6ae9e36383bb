/**
 * Field builders for request bodies, so every field says in plain words what
 * is wrong with it (the field name itself comes from the error's path).
 */
import { z } from '@hono/zod-openapi';
import { CONTROL_CATALOG, controlId } from '../../db/control-catalog.js';

/**
 * Text that can be stored and sent on: no NUL (Postgres refuses it in text
 * and jsonb) and no unpaired UTF-16 surrogate (JSON lets `"\ud800"` through,
 * but it has no UTF-8 form, so Temporal's protobuf strings and Postgres would
 * refuse it or change it). Written as a pattern so the OpenAPI document says
 * it too; it holds under ECMAScript regular expressions with and without the
 * `u` flag.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what the pattern keeps out
const CLEAN_TEXT = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;
const CLEAN_TEXT_REASON = 'must not contain NUL characters or unpaired UTF-16 surrogates';

function isCleanText(value: string): boolean {
  return CLEAN_TEXT.test(value);
}

/** Adds an issue for every string (key or value) that is not clean text, at its path, for structures stored as jsonb. */
export function addTextIssues(value: unknown, ctx: z.RefinementCtx, path: PropertyKey[] = []): void {
  if (typeof value === 'string') {
    if (!isCleanText(value)) ctx.addIssue({ code: 'custom', path, message: CLEAN_TEXT_REASON });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => addTextIssues(item, ctx, [...path, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!isCleanText(key)) ctx.addIssue({ code: 'custom', path, message: 'has a name with a NUL character or an unpaired UTF-16 surrogate' });
      addTextIssues(item, ctx, [...path, key]);
    }
  }
}

/** Any text field of a request: a string of at most `max` characters, clean as above. */
export function text(max: number, error: string = 'must be a string') {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : error) })
    .max(max, `must be at most ${max} characters`)
    .regex(CLEAN_TEXT, CLEAN_TEXT_REASON);
}

/** A trimmed, non-empty text of at most `max` characters. */
export function requiredText(max: number) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(CLEAN_TEXT, CLEAN_TEXT_REASON);
}

/** The id of a row, as a body field, list item or query value. */
export function rowId(what: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be a ${what} id (a string)`) })
    .min(1, `must be a ${what} id`)
    .max(200, `is too long for a ${what} id`)
    .regex(CLEAN_TEXT, `is not a ${what} id`);
}

/** A path parameter holding a row id. */
export function pathId(name: string, what: string) {
  return z.object({ [name]: rowId(what).openapi({ param: { name, in: 'path' }, description: `The ${what} id` }) });
}

/** A list of row ids (controls, requests…); duplicates are harmless and dropped later. */
export function idList(what: string, max = 500) {
  return z.array(rowId(what), { error: `must be a list of ${what} ids` }).max(max, `at most ${max} ${what}s`);
}

/** Every control id of the catalog: a fixed set, so the OpenAPI document lists it. */
export const CONTROL_IDS = CONTROL_CATALOG.map((c) => controlId(c.framework, c.code));
const KNOWN_CONTROL_IDS = new Set(CONTROL_IDS);

/** A list of control ids of the catalog; unknown ones are named together, under the list's field. */
export function controlIdList() {
  return idList('control')
    .superRefine((ids, ctx) => {
      const unknown = [...new Set(ids.filter((id) => !KNOWN_CONTROL_IDS.has(id)))];
      if (unknown.length === 0) return;
      const named = unknown.slice(0, 5).map((id) => JSON.stringify(id.slice(0, 60)));
      const more = unknown.length > named.length ? ` and ${unknown.length - named.length} more` : '';
      ctx.addIssue({ code: 'custom', message: `unknown control id(s): ${named.join(', ')}${more} (GET /v1/controls lists them)` });
    })
    .openapi({ items: { type: 'string', enum: CONTROL_IDS } });
}

/** A PATCH body: an empty one would change nothing, which is almost always a client's mistake. */
export function changes<T extends z.ZodObject>(schema: T) {
  return schema.refine((body) => Object.keys(body).length > 0, { message: 'nothing to change: give at least one field' }).openapi({ minProperties: 1 });
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
