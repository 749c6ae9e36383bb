/**
 * The definition of a custom fetcher: any Qualys API call, given as a
 * method, a path on the connection's API server and parameters. The path
 * rules keep every request on the connection's own host.
 */
import { z } from 'zod';
import { endpointPathProblem } from './endpoint-path.js';

/** Session calls would log the connector's user in or out; credentials are never parameters. */
const FORBIDDEN_PATH = /^\/api\/[\d.]+\/fo\/session\/?(\?|$)/i;
const CREDENTIAL_NAMES = ['username', 'password', 'passwd', 'pass', 'secret', 'token'];
const CREDENTIAL_PARAM = new RegExp(`^(${CREDENTIAL_NAMES.join('|')})$`, 'i');
/** Qualys parameter names are plain words; anything else in a name is an attempt to smuggle in syntax. */
const PARAM_NAME = /^[A-Za-z0-9_.[\]-]+$/;
export const MAX_PARAMS = 100;

const caseless = (word: string) => [...word].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join('');
/** The parameter-name rules below as one ECMAScript pattern (no flags), for the OpenAPI document. */
export const PARAM_NAME_PATTERN = `^(?!(?:${CREDENTIAL_NAMES.map(caseless).join('|')}|id_min)$)[A-Za-z0-9_.\\[\\]-]{1,128}$`;

const paramValue = z.union([z.string().max(64 * 1024, 'params: a value is longer than 65536 characters'), z.number(), z.boolean()], {
  error: 'params: values must be strings, numbers or booleans',
});

export const customRequestSchema = z
  .object({
    method: z.enum(['GET', 'POST'], { error: 'method: must be GET or POST' }).default('POST'),
    endpoint: z.string({ error: 'endpoint: is required' }).superRefine((path, ctx) => {
      const problem = endpointPathProblem(path);
      if (problem) ctx.addIssue({ code: 'custom', message: `endpoint: ${problem}` });
      else if (FORBIDDEN_PATH.test(path)) ctx.addIssue({ code: 'custom', message: 'endpoint: session login/logout calls are not allowed' });
    }),
    params: z
      .record(z.string().min(1, 'params: names must not be empty').max(128, 'params: a name is longer than 128 characters'), paramValue, {
        error: 'params: must be a JSON object of parameter names to values',
      })
      .refine((p) => Object.keys(p).length <= MAX_PARAMS, `params: at most ${MAX_PARAMS} parameters`)
      .superRefine((params, ctx) => {
        for (const key of Object.keys(params)) {
          if (!PARAM_NAME.test(key)) ctx.addIssue({ code: 'custom', message: `params: "${key.slice(0, 60)}" is not a parameter name (letters, digits and _ . - [ ] only)` });
          else if (CREDENTIAL_PARAM.test(key)) ctx.addIssue({ code: 'custom', message: `params: "${key}" looks like a credential; the connection supplies those` });
          if (key === 'id_min') ctx.addIssue({ code: 'custom', message: 'params: "id_min" is set by the connector while paging' });
        }
      })
      .default({}),
  })
  .strict();

export type CustomRequest = z.infer<typeof customRequestSchema>;
export type CustomRequestInput = z.input<typeof customRequestSchema>;

/** Parameters as Qualys receives them: text, booleans as 1/0. */
export function customRequestParams(request: CustomRequest): Record<string, string> {
  return Object.fromEntries(
    Object.entries(request.params).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]),
  );
}
