/**
 * The evidence manifest: what was asked of which Qualys platform, when, by
 * whom, every page's size and hash, the waits and retries on the way, and
 * the sealed file, so an auditor can trace the evidence back to Qualys's
 * own bytes. Versioned, validated on build, hashed through canonicalJson.
 */
import { z } from 'zod';
import { isBlobKey, sha256OfBlobKey } from './blob-key.js';
import { EVIDENCE_FORMATS } from '../shared/contracts.js';

export { canonicalJson } from './canonical-json.js';

export const MANIFEST_VERSION = 1;

/** Request parameter names that would carry a credential; a manifest never holds one. */
const CREDENTIAL_PARAM = /password|passwd|^pass$|secret|token|credential|authori[sz]ation/i;
/** Download names: no separators, no leading dot, nothing a shell or a header would trip on. */
const SAFE_FILENAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

const timestamp = z
  .union([z.date(), z.iso.datetime({ offset: true })])
  .transform((value) => new Date(value).toISOString());
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');
const blobKey = z.string().refine(isBlobKey, 'expected a blob key "sha256/<2 hex>/<64 hex>"');
const count = z.number().int().nonnegative();
const json = z.record(z.string(), z.json());

/** A blob key names its content's hash: the two must agree. */
function keyMatchesHash(value: { blobKey: string; sha256: string }): boolean {
  return !isBlobKey(value.blobKey) || sha256OfBlobKey(value.blobKey) === value.sha256;
}
const KEY_HASH_MISMATCH = { message: 'sha256 does not match the hash in blobKey', path: ['sha256'] };

const pageSchema = z
  .strictObject({
    pageNo: z.number().int().positive(),
    idMin: z.number().int().nonnegative().nullable(),
    blobKey,
    bytes: count,
    sha256,
    qualysDatetime: z.string().min(1).nullable(),
    attempts: z.number().int().positive(),
    hosts: count.optional(),
    detections: count.optional(),
    records: count.optional(),
  })
  .refine(keyMatchesHash, KEY_HASH_MISMATCH);

export const manifestSchema = z
  .strictObject({
    manifestVersion: z.literal(MANIFEST_VERSION),
    product: z.strictObject({ name: z.string().min(1), version: z.string().min(1) }),
    fetcher: z.strictObject({
      id: z.string().min(1),
      name: z.string().min(1),
      kind: z.enum(['host_list_detection', 'custom']),
      definition: json,
    }),
    qualys: z.strictObject({
      platform: z.string().min(1).nullable(),
      apiBaseUrl: z
        .url({ protocol: /^https?$/ })
        .refine((url) => {
          const { username, password } = new URL(url);
          return !username && !password;
        }, 'must not carry credentials'),
      apiVersion: z.string().regex(/^\d+\.\d+$/, 'expected a version such as 5.0'),
      endpoint: z.string().startsWith('/', 'expected a path on the API server'),
      method: z.enum(['GET', 'POST']),
      params: z.record(z.string(), z.string()).refine(
        (params) => !Object.keys(params).some((name) => CREDENTIAL_PARAM.test(name)),
        'must not hold credentials',
      ),
    }),
    run: z
      .strictObject({
        id: z.string().min(1),
        trigger: z.string().min(1).max(64),
        triggeredBy: z.string().min(1).nullable(),
        workflowId: z.string().min(1),
        startedAt: timestamp,
        finishedAt: timestamp,
      })
      .refine((run) => run.finishedAt >= run.startedAt, { message: 'must not be before startedAt', path: ['finishedAt'] }),
    pages: z
      .array(pageSchema)
      .min(1)
      .refine((pages) => pages.every((page, i) => page.pageNo === i + 1), 'pageNo must run 1, 2, 3, ... in order'),
    waits: z.array(
      z.strictObject({
        reason: z.enum(['rate_limit', 'concurrency_limit']),
        seconds: z.number().nonnegative(),
        at: timestamp,
      }),
    ),
    retries: count,
    summary: json,
    evidence: z
      .strictObject({
        blobKey,
        sha256,
        bytes: count,
        format: z.enum(EVIDENCE_FORMATS),
        contentType: z.string().min(1),
        filename: z.string().regex(SAFE_FILENAME, 'expected a plain file name'),
      })
      .refine(keyMatchesHash, KEY_HASH_MISMATCH),
    complete: z.boolean(),
  });

export type Manifest = z.output<typeof manifestSchema>;
/** What the builder takes: the manifest without its version, timestamps as Date or ISO 8601 text. */
export type ManifestInput = Omit<z.input<typeof manifestSchema>, 'manifestVersion'>;

export class ManifestValidationError extends Error {
  override readonly name = 'ManifestValidationError';
  constructor(readonly issues: ReadonlyArray<{ path: string; message: string }>) {
    super(`invalid evidence manifest: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  }
}

export function buildManifest(input: ManifestInput): Manifest {
  const result = manifestSchema.safeParse({ ...input, manifestVersion: MANIFEST_VERSION });
  if (result.success) return result.data;
  throw new ManifestValidationError(
    result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message })),
  );
}
