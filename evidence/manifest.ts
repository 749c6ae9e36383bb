/**
 * The evidence manifest: what was asked of which Qualys platform, when, by
 * whom, every page's size and hash, the waits and retries on the way, and
 * the sealed file, so an auditor can trace the evidence back to Qualys's
 * own bytes. Versioned, validated on build, hashed through canonicalJson.
 */
import { z } from 'zod';
import { isBlobKey, sha256OfBlobKey } from './blob-key.js';
import { EVIDENCE_FORMATS } from '../shared/contracts.js';

import { canonicalJson } from './canonical-json.js';

export { canonicalJson };

/**
 * Version 2 adds each page's host id bounds and cursor, the collection time,
 * whether the run was a backfill, and the completeness verdict. Version 1
 * manifests stay readable (`readManifest`) so older evidence can still be verified.
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

const hostId = z.number().int().nonnegative();

const pageFieldsV1 = {
    /** The page's place in the sealed file: 1, 2, 3… in host order across ranges. */
    pageNo: z.number().int().positive(),
    /** Range pulls: the range the page belongs to and its number within it. */
    rangeNo: z.number().int().positive().optional(),
    rangePageNo: z.number().int().positive().optional(),
    idMin: hostId.nullable(),
    idMax: hostId.nullable().optional(),
    /** Hosts asked for when below the fetcher's page size: the page kept failing at the larger size. */
    truncationLimit: z.number().int().positive().optional(),
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
const pageSchema = z
  .strictObject({
    ...pageFieldsV1,
    /** Host ids of the page's first and last host (null: none, or not a Host List Detection answer). */
    firstHostId: hostId.nullable(),
    lastHostId: hostId.nullable(),
    /** The page ended with a truncation notice naming `nextIdMin` as the next cursor. */
    truncated: z.boolean(),
    nextIdMin: hostId.nullable(),
  })
  .refine(keyMatchesHash, KEY_HASH_MISMATCH);

const checkSchema = z.strictObject({ name: z.string().min(1), ok: z.boolean().nullable(), detail: z.string() });

/** See audit/completeness.ts for the checks and the verdict. */
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

const rangeSchema = z.strictObject({
  rangeNo: z.number().int().positive(),
  idMin: hostId.nullable(),
  idMax: hostId.nullable(),
  /** Hosts the host ID list put in the range when the run was planned. */
  listedHosts: count.nullable(),
});

const custodySchema = z.strictObject({
  startedBy: z.strictObject({
    trigger: z.string().min(1).max(64),
    /** The API key name, schedule id or CLI user. */
    triggeredBy: z.string().nullable(),
    scheduleId: z.string().nullable(),
    /** When a scheduled run was due; a backfilled run was due long before it ran. */
    scheduledFor: timestamp.nullable(),
  }),
  qualys: z.strictObject({ platform: z.string().nullable(), apiBaseUrl: z.string().min(1), apiVersion: z.string().min(1) }),
  /** Temporal worker identities that did part of the run. */
  workers: z.array(z.string()),
  retryCount: count,
  retries: z.array(
    z.strictObject({
      at: timestamp,
      worker: z.string().nullable(),
      step: z.string(),
      rangeNo: z.number().int().nullable(),
      pageNo: z.number().int().nullable(),
      attempt: z.number().int().positive(),
      willRetry: z.boolean(),
      errorType: z.string(),
      message: z.string(),
    }),
  ),
  waitCount: count,
  waitedSeconds: z.number().nonnegative(),
  waits: z.array(
    z.strictObject({
      at: timestamp,
      worker: z.string().nullable(),
      reason: z.enum(['rate_limit', 'concurrency_limit']),
      qualysCode: z.number().int(),
      seconds: z.number().nonnegative(),
      rangeNo: z.number().int().nullable(),
      pageNo: z.number().int().nullable(),
    }),
  ),
  /** Pages asked for again with fewer hosts after they kept failing (adaptive page size). */
  pageSizeChanges: z
    .array(
      z.strictObject({
        at: timestamp,
        worker: z.string().nullable(),
        rangeNo: z.number().int(),
        pageNo: z.number().int(),
        truncationLimit: z.number().int().positive(),
        pageSize: z.number().int().positive(),
      }),
    )
    .optional(),
});

export type Custody = z.input<typeof custodySchema>;

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
      /** Host list calls whose IDs, merged, selected the hosts (a list of IPv4 and IPv6 addresses), and the blob of the `ids` sent. */
      addressLookups: z.array(z.record(z.string(), z.string())).optional(),
      resolvedHostIds: z.strictObject({ blobKey, count }).optional(),
      /** What the connector filtered out of every page Qualys sent (running-kernel option 4 on API 3.0+). */
      postFilter: z.literal('kernel-related').optional(),
    }),
    /** Range pulls: the host ID ranges the run pulled in parallel. */
    ranges: z.array(rangeSchema).optional(),
    /** Who started the run, every failed attempt, every wait, every worker. */
    custody: custodySchema.optional(),
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
        /** How the pages were joined (evidence/seal-plan.ts); absent in manifests from before version 2. */
        sealVersion: z.union([z.literal(1), z.literal(2)]).optional(),
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
      /** When the last page arrived: the moment the evidence speaks for. Audit periods go by this time only. */
      collectedAt: timestamp,
      /** A scheduled run that started long after its action time (custody.startedBy.scheduledFor): its data is of collectedAt. */
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
