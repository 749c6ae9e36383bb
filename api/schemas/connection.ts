/** Connection requests and the connection as the API shows it (never its password). */
import { z } from '@hono/zod-openapi';
import type { Connection } from '../../db/connections.js';
import { QualysBaseUrlError, QUALYS_PLATFORM_NAMES, resolveApiBaseUrl, type QualysPlatform } from '../../qualys/platforms.js';
import { DEFAULT_API_VERSION, QUALYS_API_VERSIONS } from '../../qualys/settings.js';
import { iso, isoTime } from './common.js';
import { changes, orNull, requiredText, text } from './fields.js';

const platformField = z
  .string({ error: 'must be a platform name' })
  .max(16, `must be one of ${QUALYS_PLATFORM_NAMES.join(', ')}`)
  .transform((value) => value.trim().toUpperCase())
  .refine((value): value is QualysPlatform => (QUALYS_PLATFORM_NAMES as string[]).includes(value), {
    message: `must be one of ${QUALYS_PLATFORM_NAMES.join(', ')} (case does not matter)`,
  })
  .openapi({ description: `The Qualys platform of the subscription: ${QUALYS_PLATFORM_NAMES.join(', ')}`, example: 'US2' });

const apiBaseUrlField = text(2048, 'must be a URL')
  .superRefine((value, ctx) => {
    try {
      resolveApiBaseUrl(value);
    } catch (err) {
      if (!(err instanceof QualysBaseUrlError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  })
  .openapi({
    description: 'The Qualys API server URL, for private cloud platforms: https:// (plain http:// only on loopback, e.g. the simulator)',
    example: 'https://qualysapi.qg2.apps.qualys.com',
  });

const apiVersionField = z
  .enum(QUALYS_API_VERSIONS, { error: `must be one of ${QUALYS_API_VERSIONS.join(', ')}` })
  .openapi({ description: 'Host List Detection API version (2.0–4.0 are end-of-support at Qualys)' });

const usernameField = requiredText(256).openapi({ description: 'The Qualys API user (role Reader, Scanner or higher)' });

const passwordField = text(1024)
  .min(1, 'must not be empty')
  .openapi({ description: 'The Qualys password; stored encrypted, never returned', format: 'password', writeOnly: true });

const proxyUrlField = text(2048, 'must be a URL')
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
    // Kept out of the database, where it would sit unencrypted next to the connection.
    else if (url.username !== '' || url.password !== '') ctx.addIssue({ code: 'custom', message: 'must not contain credentials' });
  })
  .openapi({ description: 'An outbound HTTP proxy for calls to Qualys', example: 'http://proxy.internal:3128' });

const accessFields = {
  platform: platformField.optional(),
  apiBaseUrl: apiBaseUrlField.optional(),
  apiVersion: apiVersionField.default(DEFAULT_API_VERSION),
  username: usernameField,
  password: passwordField,
  proxyUrl: proxyUrlField.optional(),
};

function exactlyOneServer(body: { platform?: string; apiBaseUrl?: string }, ctx: z.RefinementCtx): void {
  if (body.platform === undefined && body.apiBaseUrl === undefined) {
    ctx.addIssue({ code: 'custom', path: ['apiBaseUrl'], message: `give a platform (${QUALYS_PLATFORM_NAMES.join(', ')}) or an apiBaseUrl` });
  } else if (body.platform !== undefined && body.apiBaseUrl !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['platform'], message: 'give either platform or apiBaseUrl, not both' });
  }
}

export const connectionCreateSchema = z
  .object({ name: requiredText(200).openapi({ example: 'Qualys production (US2)' }), ...accessFields })
  .strict()
  .superRefine(exactlyOneServer)
  .openapi('ConnectionCreate', { description: 'Exactly one of `platform` and `apiBaseUrl`.' });

/** The same settings without a name: what a credential check before saving needs. */
export const connectionCheckSchema = z
  .object(accessFields)
  .strict()
  .superRefine(exactlyOneServer)
  .openapi('ConnectionCheckRequest', { description: 'Exactly one of `platform` and `apiBaseUrl`. Nothing is stored.' });

export const connectionPatchSchema = changes(
  z.strictObject({
    name: requiredText(200).optional(),
    username: usernameField.optional(),
    password: passwordField.optional().openapi({ description: 'A new password (rotation); checked with Qualys before it is stored' }),
    apiVersion: apiVersionField.optional(),
    proxyUrl: proxyUrlField.nullable().optional().openapi({ description: 'null removes the proxy' }),
  }),
).openapi('ConnectionPatch', {
  description: 'Changes to credentials, API version or proxy are checked with Qualys first; a failed check changes nothing.',
});

const limit = z.number().int().nullable();

export const qualysLimitsSchema = z
  .object({
    rateLimit: limit.openapi({ description: 'Calls allowed per window (X-RateLimit-Limit)' }),
    rateWindowSec: limit.openapi({ description: 'Window length in seconds (X-RateLimit-Window-Sec)' }),
    rateRemaining: limit.openapi({ description: 'Calls left in the window when last checked (X-RateLimit-Remaining)' }),
    toWaitSec: limit.openapi({ description: 'Seconds to wait before the next call (X-RateLimit-ToWait-Sec)' }),
    concurrencyLimit: limit.openapi({ description: 'Calls that may run at once (X-Concurrency-Limit-Limit)' }),
    concurrencyRunning: limit.openapi({ description: 'Calls running when last checked (X-Concurrency-Limit-Running)' }),
  })
  .openapi('QualysLimits', { description: 'The limits Qualys reported for the account at the last check' });

export const connectionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    platform: z.string().nullable().openapi({ description: 'The platform name, when the connection was created from one' }),
    apiBaseUrl: z.string(),
    apiVersion: z.string(),
    username: z.string(),
    proxyUrl: z.string().nullable(),
    status: z.enum(['unchecked', 'valid', 'invalid', 'disconnected']).openapi({
      description: '`valid`: Qualys accepted the credentials at the last check; `invalid`: it refused them; `disconnected`: the password was erased',
    }),
    statusReason: z.string().nullable(),
    lastCheckedAt: isoTime.nullable(),
    limits: orNull(qualysLimitsSchema),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .openapi('Connection');

export type ConnectionView = z.infer<typeof connectionSchema>;

export function limitsView(limits: Record<string, unknown> | null): ConnectionView['limits'] {
  if (!limits) return null;
  const read = (key: string) => (typeof limits[key] === 'number' ? (limits[key] as number) : null);
  return {
    rateLimit: read('rateLimit'),
    rateWindowSec: read('rateWindowSec'),
    rateRemaining: read('rateRemaining'),
    toWaitSec: read('toWaitSec'),
    concurrencyLimit: read('concurrencyLimit'),
    concurrencyRunning: read('concurrencyRunning'),
  };
}

export function connectionView(c: Connection): ConnectionView {
  return {
    id: c.id,
    name: c.name,
    platform: c.platform,
    apiBaseUrl: c.apiBaseUrl,
    apiVersion: c.apiVersion,
    username: c.username,
    proxyUrl: c.proxyUrl,
    status: c.status,
    statusReason: c.statusReason,
    lastCheckedAt: iso(c.lastCheckedAt),
    limits: limitsView(c.limits),
    createdAt: iso(c.createdAt)!,
    updatedAt: iso(c.updatedAt)!,
  };
}

const count = z.number().int().min(0);

export const connectionLimitsSchema = z
  .object({
    subscriptionId: z.string().openapi({
      description: 'SHA-256 of the API server and user name: connections with the same value share one budget',
    }),
    concurrency: z.object({
      limit: limit.openapi({ description: 'Calls Qualys lets the subscription run at once (X-Concurrency-Limit-Limit); null until a run has seen it' }),
      reserve: count.openapi({ description: "Slots left to the customer's other tools (QUALYS_CONCURRENCY_RESERVE)" }),
      slots: count.openapi({ description: 'Calls the connector runs at once: limit less reserve, at least 1 (1 while the limit is unknown)' }),
      inUse: count.openapi({ description: 'Calls running now, from all runs and workers' }),
      waiting: count.openapi({ description: 'Calls waiting for a slot' }),
    }),
    rate: z.object({
      limit: limit.openapi({ description: 'Calls allowed per window (X-RateLimit-Limit)' }),
      windowSec: limit.openapi({ description: 'Length of the rolling window in seconds (X-RateLimit-Window-Sec)' }),
      remaining: z.number().int().nullable().openapi({
        description: 'Calls left in the window by the connector\'s estimate: what Qualys last reported less the calls started since',
      }),
      observedAt: isoTime.nullable().openapi({ description: 'Start of the call whose answer the figures come from' }),
    }),
  })
  .openapi('ConnectionLimits', { description: "The subscription's shared call budget as the connector uses it now" });

export const connectionCheckResultSchema = z
  .object({
    status: z.literal('valid').openapi({ description: 'Qualys accepted the credentials (a refusal is a 422 problem instead)' }),
    platform: z.string().nullable(),
    apiBaseUrl: z.string(),
    apiVersion: z.string(),
    username: z.string(),
    limits: qualysLimitsSchema,
    checkedAt: isoTime,
  })
  .openapi('ConnectionCheckResult');

export const pickerListSchema = z
  .object({
    items: z.array(z.object({ id: z.number().int(), title: z.string() }).openapi('PickerOption')),
    fetchedAt: isoTime.openapi({ description: 'When Qualys was asked; lists are reused for a minute' }),
  })
  .openapi('PickerList');
