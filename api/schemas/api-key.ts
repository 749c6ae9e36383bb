/** API keys as the API shows them: the token once, at creation; never its hash. */
import { z } from '@hono/zod-openapi';
import type { ApiKey } from '../../db/api-keys.js';
import { iso, isoTime } from './common.js';
import { requiredText } from './fields.js';

const roleField = z.enum(['admin', 'auditor'], { error: 'must be admin or auditor' }).openapi({
  description: '`admin` manages connections, fetchers, mappings, schedules, keys and webhooks; `auditor` runs fetchers and reads',
});

export const apiKeyCreateSchema = z
  .object({ name: requiredText(100).openapi({ description: 'Who or what uses the key', example: 'ci' }), role: roleField })
  .strict()
  .openapi('ApiKeyCreate');

export const apiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: roleField,
    tokenPrefix: z.string().openapi({ description: 'The first characters of the token, to recognise it' }),
    createdAt: isoTime,
    lastUsedAt: isoTime.nullable(),
    revokedAt: isoTime.nullable(),
  })
  .openapi('ApiKey');

export const createdApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: roleField,
    tokenPrefix: z.string(),
    createdAt: isoTime,
    token: z.string().openapi({ description: 'The bearer token. Shown only in this response: store it now' }),
  })
  .openapi('CreatedApiKey');

export function apiKeyView(key: ApiKey): z.infer<typeof apiKeySchema> {
  return {
    id: key.id,
    name: key.name,
    role: key.role,
    tokenPrefix: key.tokenPrefix,
    createdAt: iso(key.createdAt)!,
    lastUsedAt: iso(key.lastUsedAt),
    revokedAt: iso(key.revokedAt),
  };
}
