/** Problem responses beyond the standard set in `common.ts`, for routes that can answer them. */
import { problemSchema } from './common.js';

const problemContent = { 'application/problem+json': { schema: problemSchema } };

export const conflictResponse = (description: string) => ({ 409: { description, content: problemContent } }) as const;

/** Routes that call Qualys while the caller waits. */
export const qualysResponses = {
  422: {
    description: 'Validation failed, or Qualys refused the account (type `/problems/qualys-rejected` with `reason`, `qualysCode`, `qualysText`)',
    content: problemContent,
  },
  502: { description: 'Qualys could not be reached or answered with an error (type `/problems/qualys-unavailable`)', content: problemContent },
} as const;
