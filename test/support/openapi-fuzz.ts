/**
 * A small schema-driven fuzzer over an OpenAPI 3.1 document: fast-check
 * arbitraries for the requests each operation documents (positive cases),
 * mutations that make one part of such a request break its schema (negative
 * cases, each checked invalid with Ajv), and a check of every answer against
 * what the operation documents (status, media type, schema).
 *
 * It covers the JSON Schema this API's document uses (objects, arrays,
 * strings with length, pattern and format, numbers with bounds, enums,
 * anyOf/oneOf, allOf with $ref, `oneOf` of `required` lists); patterns
 * fast-check cannot generate from (lookaheads) are met by filtering.
 */
import fc from 'fast-check';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/* eslint-disable @typescript-eslint/no-explicit-any -- JSON Schema and OpenAPI documents are walked as plain JSON */
export type Schema = Record<string, any>;
export type OpenApiDocument = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}

interface Operation {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

export interface FuzzRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Sent as JSON; undefined sends no body. */
  body?: unknown;
}

export interface OperationRef {
  method: string;
  template: string;
  op: Operation;
  /** JSON pointer of the operation in the document. */
  pointer: string;
}

/** Ids the fuzzer may use for a path parameter or body field, by name. */
export type IdPools = Record<string, string[]>;

const pointerPart = (text: string) => text.replace(/~/g, '~0').replace(/\//g, '~1');

export function operationsOf(doc: OpenApiDocument): OperationRef[] {
  return Object.entries(doc.paths).flatMap(([template, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), template, op, pointer: `#/paths/${pointerPart(template)}/${method}` })),
  );
}

// ------------------------------------------------------------- generation

const ABSENT = Symbol('absent');

export class SchemaArbitraries {
  constructor(
    private readonly doc: OpenApiDocument,
    private readonly pools: IdPools,
  ) {}

  resolve(schema: Schema): Schema {
    let current = schema;
    while (current?.$ref) {
      const name = String(current.$ref).replace('#/components/schemas/', '');
      current = { ...this.doc.components.schemas[name], ...Object.fromEntries(Object.entries(current).filter(([k]) => k !== '$ref')) };
    }
    if (current?.allOf) {
      const { allOf, ...rest } = current;
      return (allOf as Schema[]).map((part) => this.resolve(part)).reduce((merged, part) => ({ ...merged, ...part }), rest);
    }
    return current;
  }

  /** Values valid under the schema; `name` is the field's name, for id pools. */
  valid(input: Schema, name?: string): fc.Arbitrary<unknown> {
    const schema = this.resolve(input);
    const generated = this.generate(schema, name);
    const pool = name ? this.pools[name] : undefined;
    if (pool?.length && (schema.type === 'string' || schema.type === undefined)) return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: generated });
    // Examples make valid values likely, but none may send the server anywhere off this machine (a proxy, a Qualys URL).
    const example = schema.example;
    const offMachine = typeof example === 'string' && /^[a-z]+:\/\/(?!127\.0\.0\.1[:/])/i.test(example);
    if (example !== undefined && !offMachine && schema.type !== 'object') return fc.oneof({ weight: 3, arbitrary: fc.constant(example) }, { weight: 1, arbitrary: generated });
    return generated;
  }

  private generate(schema: Schema, name?: string): fc.Arbitrary<unknown> {
    if (schema.const !== undefined) return fc.constant(schema.const);
    if (schema.enum) return fc.constantFrom(...(schema.enum as unknown[]));
    if (schema.anyOf || (schema.oneOf && !schema.properties)) return fc.oneof(...((schema.anyOf ?? schema.oneOf) as Schema[]).map((s) => this.valid(s)));
    if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type: string) => this.generate({ ...schema, type })));
    switch (schema.type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer': {
        const min = Math.max(schema.minimum ?? -1_000_000, Number.MIN_SAFE_INTEGER);
        const max = Math.min(schema.maximum ?? 1_000_000, Number.MAX_SAFE_INTEGER);
        return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
      }
      case 'number':
        return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
      case 'string':
        return this.string(schema);
      case 'array':
        return this.array(schema, name);
      case 'object':
        return this.object(schema);
      default:
        return fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean());
    }
  }

  private string(schema: Schema): fc.Arbitrary<string> {
    const minLength = schema.minLength ?? 0;
    const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 24, 24));
    const fits = (s: string) => s.length >= minLength && s.length <= (schema.maxLength ?? Infinity) && (!schema.pattern || new RegExp(schema.pattern, 'u').test(s));
    switch (schema.format) {
      case 'date-time':
        return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
      case 'date':
        return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
      case 'uri':
        return fc.webPath().map((path) => `http://127.0.0.1:9${path.startsWith('/') ? path : `/${path}`}`).filter(fits);
    }
    const text = fc.string({ unit: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('a', 'Z', '0', '_', '-', '.', '/', ' ') }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) }), minLength, maxLength });
    if (!schema.pattern) return text;
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
    } catch {
      // Lookaheads: generate plainly and keep what the pattern accepts.
      return text.filter(fits);
    }
  }

  /** Items of a list named like an id field (`requestIds`) come from that field's pool. */
  private array(schema: Schema, name?: string): fc.Arbitrary<unknown[]> {
    const minLength = schema.minItems ?? 0;
    const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? 4, 4));
    const items = this.valid(schema.items ?? {}, name);
    return schema.uniqueItems ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) }) : fc.array(items, { minLength, maxLength });
  }

  private object(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
    const properties: Record<string, Schema> = schema.properties ?? {};
    const chooseAlternative = schema.oneOf && (schema.oneOf as Schema[]).every((alt) => alt.required && !alt.properties);
    const shapes = chooseAlternative ? (schema.oneOf as Schema[]).map((_, i) => i) : [-1];
    return fc.constantFrom(...shapes).chain((alternative) => {
      const required = new Set<string>(schema.required ?? []);
      const excluded = new Set<string>();
      if (alternative >= 0) {
        (schema.oneOf as Schema[]).forEach((alt, i) => (alt.required as string[]).forEach((name) => (i === alternative ? required : excluded).add(name)));
      }
      // Optional fields appear less often than not, so that a request with every given field valid stays likely.
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, value] of Object.entries(properties)) {
        if (excluded.has(key)) continue;
        const arbitrary = this.valid(value, key);
        record[key] = required.has(key) ? arbitrary : fc.oneof({ weight: 3, arbitrary: fc.constant(ABSENT) }, { weight: 2, arbitrary });
      }
      const fixed = fc.record(record).map((value) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== ABSENT)));
      const extra =
        schema.additionalProperties && typeof schema.additionalProperties === 'object'
          ? fc.dictionary(this.string({ type: 'string', minLength: 1, maxLength: 12, pattern: schema.propertyNames?.pattern }), this.valid(schema.additionalProperties), { maxKeys: Math.min(schema.maxProperties ?? 3, 3) })
          : fc.constant({});
      return fc.tuple(fixed, extra).map(([a, b]) => ({ ...b, ...a }) as Record<string, unknown>);
    }).filter((value) => Object.keys(value).length >= (schema.minProperties ?? 0));
  }
}

// -------------------------------------------------------------- mutation

const LONE_SURROGATE = 'x\ud800y';
const SURROGATE_PAIR_RE = /[\ud800-\udbff][\udc00-\udfff]/g;
const LONE_SURROGATE_RE = /[\ud800-\udfff]/;

/** Values that break the schema in one way each (some may still fit it; callers check with Ajv). */
export function invalidValues(schema: Schema): unknown[] {
  const out: unknown[] = [];
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.enum) out.push('not-one-of-them', 12345);
  if (types.includes('string')) {
    out.push(42, { $ne: '' }, ['list']);
    if (schema.maxLength !== undefined) out.push('x'.repeat(schema.maxLength + 1));
    if (schema.minLength) out.push('');
    if (schema.pattern) out.push(`bad\u0000value`, LONE_SURROGATE, 'a b#%2e/..');
    if (schema.format === 'date-time' || schema.format === 'date') out.push('yesterday', '2026-13-45');
    if (schema.format === 'uri') out.push('not a url');
  }
  if (types.includes('integer') || types.includes('number')) {
    out.push('many', true);
    if (schema.minimum !== undefined) out.push(schema.minimum - 1);
    if (schema.maximum !== undefined) out.push(schema.maximum + 1);
    if (types.includes('integer')) out.push(1.5);
  }
  if (types.includes('boolean')) out.push('yes', 1);
  if (types.includes('array')) {
    out.push('not a list', { 0: 'x' });
    if (schema.maxItems !== undefined) out.push(Array.from({ length: schema.maxItems + 1 }, (_, i) => `item-${i}`));
    if (schema.minItems) out.push([]);
  }
  if (types.includes('object')) out.push('an object, not', [1, 2], 7);
  if (out.length === 0) out.push(Symbol.for('undefined-marker'));
  return out.filter((v) => typeof v !== 'symbol');
}

/**
 * Query, path and header values travel as text; a mutation there must be
 * text too, and one a URL or header can carry: an unpaired surrogate has no
 * UTF-8 form to send, and headers take visible ASCII only.
 */
export function invalidTextValues(schema: Schema, where: 'path' | 'query' | 'header'): string[] {
  return invalidValues(schema)
    .filter((v) => v !== null && typeof v !== 'object')
    .map(String)
    .filter((v) => !LONE_SURROGATE_RE.test(v.replace(SURROGATE_PAIR_RE, '')) && (where !== 'header' || /^[\x20-\x7e]*$/.test(v)));
}

// ------------------------------------------------------------- validation

export class DocumentValidator {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(doc: OpenApiDocument) {
    this.ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: false, unicodeRegExp: true });
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.ajv);
    this.ajv.addFormat('binary', true);
    this.ajv.addFormat('password', true);
    this.ajv.addSchema({ ...doc, $id: 'openapi' });
  }

  /** Validates `value` against the schema at `pointer` (a fragment of the document, e.g. `#/paths/…/schema`). */
  check(pointer: string, value: unknown): { ok: boolean; errors: string } {
    let validate = this.cache.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi${pointer}` });
      this.cache.set(pointer, validate);
    }
    const ok = validate(value) as boolean;
    return { ok, errors: ok ? '' : this.ajv.errorsText(validate.errors) };
  }
}

export function pointerOf(...parts: Array<string | number>): string {
  return parts.map((p) => pointerPart(String(p))).join('/');
}

/** Whether a response's media type is one the operation documents for its status (with `*` ranges). */
export function documentedMediaType(documented: string[], actual: string | null): string | null {
  const essence = (actual ?? '').split(';')[0]!.trim().toLowerCase();
  return (
    documented.find((type) => {
      const [major, minor] = type.split('/');
      const [aMajor, aMinor] = essence.split('/');
      return (major === '*' || major === aMajor) && (minor === '*' || minor === aMinor);
    }) ?? null
  );
}
