/**
 * The evidence manifest: what was asked of which Qualys platform, when, by
 * whom, every page's size and hash, the waits and retries on the way, and
 * the sealed file, so an auditor can trace the evidence back to Qualys's
 * own bytes. Versioned, validated on build, hashed through canonicalJson.
 */
import { z } from 'zod';
import { isBlobKey, sha256OfBlobKey } from './blob-key.js';
import { EVIDENCE_FORMATS } from './format.js';

import { canonicalJson } from './canonical-json.js';

export { canonicalJson };

/**
 * Version 2 adds per-page cursors and host id bounds, the run's scheduled and
 * collection times, and the completeness verdict. Version 1 manifests stay
 * readable (`readManifest`) so older evidence can still be verified.
 */
export const MANIFEST_VERSION = 2;

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

const pageFieldsV1 = {
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
};
const pageSchemaV1 = z.strictObject(pageFieldsV1).refine(keyMatchesHash, KEY_HASH_MISMATCH);
const hostId = z.number().int().nonnegative();
const pageSchema = z
  .strictObject({
    ...pageFieldsV1,
    /** Upper bound of the id range the page was requested for (range-parallel pulls); null: open-ended. */
    idMax: hostId.nullable(),
    firstHostId: hostId.nullable(),
    lastHostId: hostId.nullable(),
    truncated: z.boolean(),
    nextIdMin: hostId.nullable(),
  })
  .refine(keyMatchesHash, KEY_HASH_MISMATCH);

const checkSchema = z.strictObject({ name: z.string().min(1), ok: z.boolean().nullable(), detail: z.string() });

export const completenessSchema = z.strictObject({
  verdict: z.enum(['complete', 'incomplete', 'unknown']),
  reason: z.string().nullable(),
  checks: z.array(checkSchema),
  reconciliation: z
    .strictObject({
      hostIdListKey: blobKey,
      listedAt: timestamp,
      params: z.record(z.string(), z.string()),
      detectionFilters: z.array(z.string()),
      listed: count,
      inEvidence: count,
      matched: count,
      absent: count,
      extra: count,
      absentConfirmation: z
        .union([
          z.strictObject({ calls: count, hostsWithMatchingDetections: count, firstHostIds: z.array(hostId) }),
          z.strictObject({ notPerformed: z.string() }),
        ])
        .nullable(),
      sample: z.strictObject({ absent: z.array(hostId), extra: z.array(hostId) }),
    })
    .nullable(),
});

const commonFields = {
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
};

const runFieldsV1 = {
  id: z.string().min(1),
  trigger: z.string().min(1).max(64),
  triggeredBy: z.string().min(1).nullable(),
  workflowId: z.string().min(1),
  startedAt: timestamp,
  finishedAt: timestamp,
};
const runOrder = { message: 'must not be before startedAt', path: ['finishedAt'] };
const numberedPages = <T extends z.ZodType<{ pageNo: number }>>(page: T) =>
  z
    .array(page)
    .min(1)
    .refine((pages) => pages.every((p, i) => p.pageNo === i + 1), 'pageNo must run 1, 2, 3, ... in order');

export const manifestSchema = z.strictObject({
  manifestVersion: z.literal(MANIFEST_VERSION),
  ...commonFields,
  run: z
    .strictObject({
      ...runFieldsV1,
      /** The schedule's action time for scheduled runs (a backfill's lies in the past); null otherwise. */
      scheduledFor: timestamp.nullable(),
      /** When the last page arrived: the moment the evidence speaks for. Periods go by this time only. */
      collectedAt: timestamp,
      /** A scheduled run collected well after its action time: its data is of collectedAt, not of scheduledFor. */
      backfill: z.boolean(),
    })
    .refine((run) => run.finishedAt >= run.startedAt, runOrder),
  pages: numberedPages(pageSchema),
  completeness: completenessSchema,
});

export const manifestV1Schema = z.strictObject({
  manifestVersion: z.literal(1),
  ...commonFields,
  run: z.strictObject(runFieldsV1).refine((run) => run.finishedAt >= run.startedAt, runOrder),
  pages: numberedPages(pageSchemaV1),
});

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestV1 = z.output<typeof manifestV1Schema>;
export type AnyManifest = Manifest | ManifestV1;
export type ManifestCompleteness = z.output<typeof completenessSchema>;
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

/** Reads a stored manifest of any version, or says (by field) why it is not one. */
export function readManifest(value: unknown): { ok: true; manifest: AnyManifest } | { ok: false; issues: Array<{ path: string; message: string }> } {
  const version = (value as { manifestVersion?: unknown } | null)?.manifestVersion;
  const result = version === 1 ? manifestV1Schema.safeParse(value) : manifestSchema.safeParse(value);
  if (result.success) return { ok: true, manifest: result.data };
  return { ok: false, issues: result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message })) };
}

/** The manifest's bytes as stored beside the evidence: canonical JSON, so its SHA-256 is stable. */
export function manifestBytes(manifest: AnyManifest | Record<string, unknown>): Buffer {
  return Buffer.from(canonicalJson(manifest), 'utf8');
}
