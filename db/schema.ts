/**
 * The database schema, shared by Postgres and embedded PGlite. Migrations in
 * `db/migrations/` are generated from this file (`npm run db:generate`).
 *
 * Conventions: text UUID keys generated in app code, `timestamptz` times set
 * in app code at millisecond precision (so a JS `Date` round-trips exactly and
 * keyset cursors built from it compare correctly), jsonb for structured config.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import {
  EVIDENCE_FORMATS,
  FETCHER_KINDS,
  RUN_STATUSES,
  RUN_TRIGGERS,
  WEBHOOK_EVENTS,
  type RunProgress,
  type WebhookEventName,
} from '../shared/contracts.js';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

const id = () =>
  text('id')
    .primaryKey()
    .$defaultFn(() => randomUUID());

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Creation time, set by the app so it keeps JS millisecond precision. */
const createdAt = () =>
  timestamptz('created_at')
    .notNull()
    .$defaultFn(() => new Date());

const updatedAt = () =>
  timestamptz('updated_at')
    .notNull()
    .$defaultFn(() => new Date())
    .$onUpdateFn(() => new Date());

/** Structured data stored as jsonb; its shape belongs to the module that writes it. */
export type JsonRecord = Record<string, unknown>;

/**
 * What writers may pass for a jsonb column: any object. TypeScript never
 * widens an interface-typed value to `Record<string, unknown>`, so inputs
 * accept `object` and are stored through `toJsonRecord`.
 */
export type JsonRecordInput = object;

export function toJsonRecord(value: JsonRecordInput): JsonRecord {
  return value as JsonRecord;
}

export const connectionStatus = pgEnum('connection_status', ['unchecked', 'valid', 'invalid', 'disconnected']);
export const fetcherKind = pgEnum('fetcher_kind', FETCHER_KINDS);
export const evidenceFormat = pgEnum('evidence_format', EVIDENCE_FORMATS);
export const controlCadence = pgEnum('control_cadence', ['weekly', 'monthly', 'quarterly']);
export const requestStatus = pgEnum('request_status', ['open', 'closed']);
export const runTrigger = pgEnum('run_trigger', RUN_TRIGGERS);
export const runStatus = pgEnum('run_status', RUN_STATUSES);
export const attachmentTarget = pgEnum('attachment_target', ['control', 'request']);
export const apiKeyRole = pgEnum('api_key_role', ['admin', 'auditor']);
export const completenessVerdict = pgEnum('completeness_verdict', ['complete', 'incomplete', 'unknown']);
export const attachmentAction = pgEnum('attachment_action', ['attach', 'detach']);
export const attachmentSource = pgEnum('attachment_source', ['run', 'api']);

export { WEBHOOK_EVENTS };
export type WebhookEvent = WebhookEventName;

export type ConnectionStatus = (typeof connectionStatus.enumValues)[number];
export type FetcherKind = (typeof fetcherKind.enumValues)[number];
export type EvidenceFormat = (typeof evidenceFormat.enumValues)[number];
export type ControlCadence = (typeof controlCadence.enumValues)[number];
export type RequestStatus = (typeof requestStatus.enumValues)[number];
export type RunTrigger = (typeof runTrigger.enumValues)[number];
export type RunStatus = (typeof runStatus.enumValues)[number];
export type AttachmentTargetType = (typeof attachmentTarget.enumValues)[number];
export type ApiKeyRole = (typeof apiKeyRole.enumValues)[number];
export type CompletenessVerdict = (typeof completenessVerdict.enumValues)[number];
export type AttachmentAction = (typeof attachmentAction.enumValues)[number];
export type AttachmentSource = (typeof attachmentSource.enumValues)[number];

/** What the row holds of a run's progress: any part of it, as recorded so far. */
export type StoredRunProgress = Partial<RunProgress>;

export interface RunError {
  type: string;
  message: string;
  qualysCode?: number;
}

export const connections = pgTable(
  'connections',
  {
    id: id(),
    name: text('name').notNull(),
    /** Platform name when the connection was created from one (e.g. `US2`); null for a URL. */
    platform: text('platform'),
    apiBaseUrl: text('api_base_url').notNull(),
    apiVersion: text('api_version').notNull().default('5.0'),
    username: text('username').notNull(),
    /** Secret-box ciphertext bound to this row; null once disconnected. */
    passwordCiphertext: text('password_ciphertext'),
    status: connectionStatus('status').notNull().default('unchecked'),
    statusReason: text('status_reason'),
    lastCheckedAt: timestamptz('last_checked_at'),
    /** Last Qualys rate/concurrency limits seen for the account. */
    limits: jsonb('limits').$type<JsonRecord>(),
    proxyUrl: text('proxy_url'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('connections_created_idx').on(t.createdAt, t.id)],
);

export const fetchers = pgTable(
  'fetchers',
  {
    id: id(),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id),
    name: text('name').notNull(),
    kind: fetcherKind('kind').notNull(),
    /** The validated fetcher fields: HLD filters, or `{method, endpoint, params}` for custom. */
    config: jsonb('config').$type<JsonRecord>().notNull(),
    format: evidenceFormat('format').notNull(),
    /** Hosts per Qualys page (`truncation_limit`). */
    pageSize: integer('page_size').notNull().default(1000),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Fetchers are retired, not removed, so past runs and evidence keep their source. */
    deletedAt: timestamptz('deleted_at'),
  },
  (t) => [
    index('fetchers_connection_idx').on(t.connectionId),
    index('fetchers_created_idx').on(t.createdAt, t.id),
    // Qualys accepts 1–1,000,000 hosts per page; 0 (unlimited) would defeat paging.
    check('fetchers_page_size_range', sql`${t.pageSize} between 1 and 1000000`),
  ],
);

export const controls = pgTable(
  'controls',
  {
    id: id(),
    framework: text('framework').notNull(),
    code: text('code').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull(),
    cadence: controlCadence('cadence'),
    /** The control of an earlier framework version this one replaces (PCI DSS v4.0.1 11.3.1 succeeds v3.2.1 11.2.1). */
    succeeds: text('succeeds').references((): AnyPgColumn => controls.id),
  },
  (t) => [uniqueIndex('controls_framework_code_uq').on(t.framework, t.code), index('controls_succeeds_idx').on(t.succeeds)],
);

export const requests = pgTable(
  'requests',
  {
    id: id(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    periodEnd: date('period_end', { mode: 'string' }).notNull(),
    dueDate: date('due_date', { mode: 'string' }),
    status: requestStatus('status').notNull().default('open'),
    createdAt: createdAt(),
    closedAt: timestamptz('closed_at'),
  },
  (t) => [
    index('requests_status_idx').on(t.status),
    index('requests_created_idx').on(t.createdAt, t.id),
    check('requests_period_order', sql`${t.periodStart} <= ${t.periodEnd}`),
  ],
);

export const fetcherControls = pgTable(
  'fetcher_controls',
  {
    fetcherId: text('fetcher_id')
      .notNull()
      .references(() => fetchers.id, { onDelete: 'cascade' }),
    controlId: text('control_id')
      .notNull()
      .references(() => controls.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.fetcherId, t.controlId] }), index('fetcher_controls_control_idx').on(t.controlId)],
);

export const requestControls = pgTable(
  'request_controls',
  {
    requestId: text('request_id')
      .notNull()
      .references(() => requests.id, { onDelete: 'cascade' }),
    controlId: text('control_id')
      .notNull()
      .references(() => controls.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.requestId, t.controlId] }), index('request_controls_control_idx').on(t.controlId)],
);

/**
 * Audit requests a fetcher is mapped to explicitly, besides the requests that
 * reach it through shared controls: evidence attaches to both while they are open.
 */
export const fetcherRequests = pgTable(
  'fetcher_requests',
  {
    fetcherId: text('fetcher_id')
      .notNull()
      .references(() => fetchers.id, { onDelete: 'cascade' }),
    requestId: text('request_id')
      .notNull()
      .references(() => requests.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.fetcherId, t.requestId] }), index('fetcher_requests_request_idx').on(t.requestId)],
);

export const schedules = pgTable(
  'schedules',
  {
    id: id(),
    fetcherId: text('fetcher_id')
      .notNull()
      .references(() => fetchers.id, { onDelete: 'cascade' }),
    temporalScheduleId: text('temporal_schedule_id').notNull(),
    /** `pci-quarterly`, `fedramp-monthly`, `weekly`, or null for a custom spec. */
    preset: text('preset'),
    /** The Temporal schedule spec as given to Temporal. */
    spec: jsonb('spec').$type<JsonRecord>().notNull(),
    timezone: text('timezone').notNull().default('UTC'),
    paused: boolean('paused').notNull().default(false),
    note: text('note'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('schedules_temporal_id_uq').on(t.temporalScheduleId), index('schedules_fetcher_idx').on(t.fetcherId)],
);

export const runs = pgTable(
  'runs',
  {
    id: id(),
    fetcherId: text('fetcher_id')
      .notNull()
      .references(() => fetchers.id),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id),
    trigger: runTrigger('trigger').notNull(),
    /** Who started it: an API key name, a schedule id, a CLI user. */
    triggeredBy: text('triggered_by'),
    scheduleId: text('schedule_id').references(() => schedules.id, { onDelete: 'set null' }),
    idempotencyKey: text('idempotency_key'),
    workflowId: text('workflow_id').notNull(),
    status: runStatus('status').notNull().default('queued'),
    step: text('step'),
    progress: jsonb('progress').$type<StoredRunProgress>(),
    error: jsonb('error').$type<RunError>(),
    evidenceId: text('evidence_id').references((): AnyPgColumn => evidence.id),
    /** For scheduled runs: the action time Temporal appended to the workflow id (a backfill's is in the past). */
    scheduledFor: timestamptz('scheduled_for'),
    /** When the last page arrived: the moment the pulled data describes. */
    collectedAt: timestamptz('collected_at'),
    /** Blob key of the host ID list taken before pulling (`{count, ranges}` JSON), for completeness. */
    hostIdListKey: text('host_id_list_key'),
    createdAt: createdAt(),
    /** When Temporal accepted the run's workflow; null while the API's launcher (or its sweep) has yet to start it. */
    launchedAt: timestamptz('launched_at'),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    // NULL keys are distinct in a unique index, so runs without a key never collide.
    uniqueIndex('runs_fetcher_idempotency_uq').on(t.fetcherId, t.idempotencyKey),
    index('runs_fetcher_created_idx').on(t.fetcherId, t.createdAt, t.id),
    index('runs_created_idx').on(t.createdAt, t.id),
    index('runs_status_idx').on(t.status),
  ],
);

/**
 * The host ID ranges a run pulls in parallel, each paging on its own. A
 * sequential pull (and every run from before ranges existed) is range 1 with
 * no bounds.
 */
export const runRanges = pgTable(
  'run_ranges',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    rangeNo: integer('range_no').notNull(),
    /** Inclusive host ID bounds sent as id_min / id_max; null = open. */
    idMin: bigint('id_min', { mode: 'number' }),
    idMax: bigint('id_max', { mode: 'number' }),
    /** Hosts the host ID list put in this range when the run was planned. */
    listedHosts: integer('listed_hosts'),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.rangeNo] })],
);

export const runPages = pgTable(
  'run_pages',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    /** The range the page belongs to (1 for sequential pulls); pages seal in (range, page) order. */
    rangeNo: integer('range_no').notNull().default(1),
    /** The page's number within its range. */
    pageNo: integer('page_no').notNull(),
    /** The truncation cursor this page was requested with (null for a range's first page). */
    idMin: bigint('id_min', { mode: 'number' }),
    /** The range's upper bound sent with the page (null when open). */
    idMax: bigint('id_max', { mode: 'number' }),
    /** Hosts per page asked for when smaller than the fetcher's page size (the page kept failing at the larger one); null otherwise. */
    truncationLimit: integer('truncation_limit'),
    blobKey: text('blob_key').notNull(),
    sha256: text('sha256').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    summary: jsonb('summary').$type<JsonRecord>().notNull(),
    /** What the page added to the run's counters (hosts and detections for Host List Detection, list records otherwise). */
    hosts: integer('hosts').notNull().default(0),
    detections: integer('detections').notNull().default(0),
    records: integer('records').notNull().default(0),
    /** Qualys's own `DATETIME` of the response. */
    qualysDatetime: text('qualys_datetime'),
    attempts: integer('attempts').notNull().default(1),
    /** The worker that pulled it (Temporal worker identity). */
    worker: text('worker'),
    /**
     * The page's host ids as read while it streamed in ("1-5,9,12-14"), so
     * sealing reconciles with the host ID list without parsing every page
     * again; null for pages pulled before this was kept (those are parsed).
     */
    hostIds: text('host_ids'),
    fetchedAt: timestamptz('fetched_at')
      .notNull()
      .$defaultFn(() => new Date()),
  },
  (t) => [primaryKey({ columns: [t.runId, t.rangeNo, t.pageNo] })],
);

export const RUN_EVENT_KINDS = ['retry', 'wait', 'step', 'page_size'] as const;
export type RunEventKind = (typeof RUN_EVENT_KINDS)[number];

/**
 * The chain of custody of a run, written as it happens: every failed attempt
 * with its cause, every wait Qualys asked for with its length, which worker
 * did each step. The manifest quotes it; nothing here is ever updated.
 */
export const runEvents = pgTable(
  'run_events',
  {
    id: id(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<RunEventKind>().notNull(),
    /** The Temporal worker identity that recorded it. */
    worker: text('worker'),
    detail: jsonb('detail').$type<JsonRecord>().notNull(),
    at: timestamptz('at')
      .notNull()
      .$defaultFn(() => new Date()),
  },
  (t) => [index('run_events_run_idx').on(t.runId, t.at)],
);

export const evidence = pgTable(
  'evidence',
  {
    id: id(),
    runId: text('run_id')
      .notNull()
      .references((): AnyPgColumn => runs.id),
    fetcherId: text('fetcher_id')
      .notNull()
      .references(() => fetchers.id),
    blobKey: text('blob_key').notNull(),
    sha256: text('sha256').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    format: evidenceFormat('format').notNull(),
    contentType: text('content_type').notNull(),
    filename: text('filename').notNull(),
    summary: jsonb('summary').$type<JsonRecord>().notNull(),
    manifest: jsonb('manifest').$type<JsonRecord>().notNull(),
    /** SHA-256 of the manifest's canonical JSON, stored as a blob under `manifestBlobKey`; null before manifest version 2. */
    manifestSha256: text('manifest_sha256'),
    manifestBlobKey: text('manifest_blob_key'),
    /** The pull ended without a truncation warning (manifest `complete`). */
    complete: boolean('complete').notNull(),
    /** The completeness verdict of the manifest (page chain, cursors, host ID list); `unknown` before version 2. */
    completeness: completenessVerdict('completeness').notNull().default('unknown'),
    /** When the data was collected (the run's last page); periods and coverage go by this, never by a schedule's time. */
    collectedAt: timestamptz('collected_at').notNull(),
    /** The scheduled action time of the run, when a schedule started it. */
    scheduledFor: timestamptz('scheduled_for'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('evidence_run_uq').on(t.runId),
    index('evidence_fetcher_created_idx').on(t.fetcherId, t.createdAt),
    index('evidence_collected_idx').on(t.collectedAt),
  ],
);

export const attachments = pgTable(
  'attachments',
  {
    evidenceId: text('evidence_id')
      .notNull()
      .references(() => evidence.id, { onDelete: 'cascade' }),
    targetType: attachmentTarget('target_type').notNull(),
    /** A control id or an audit request id, depending on `targetType`. */
    targetId: text('target_id').notNull(),
    /** When it was (last) attached. */
    createdAt: createdAt(),
    /** Set by a detach: the link stays on record; `attachment_events` holds the whole history. */
    detachedAt: timestamptz('detached_at'),
  },
  (t) => [
    primaryKey({ columns: [t.evidenceId, t.targetType, t.targetId] }),
    index('attachments_target_idx').on(t.targetType, t.targetId, t.createdAt),
  ],
);

/** Every attach and detach, by a run or by a person through the API; rows are only ever added. */
export const attachmentEvents = pgTable(
  'attachment_events',
  {
    id: id(),
    evidenceId: text('evidence_id')
      .notNull()
      .references(() => evidence.id),
    targetType: attachmentTarget('target_type').notNull(),
    targetId: text('target_id').notNull(),
    action: attachmentAction('action').notNull(),
    source: attachmentSource('source').notNull(),
    /** The API key's name for `api`, the run id for `run`. */
    actor: text('actor').notNull(),
    reason: text('reason'),
    at: timestamptz('at')
      .notNull()
      .$defaultFn(() => new Date()),
  },
  (t) => [index('attachment_events_target_idx').on(t.targetType, t.targetId, t.at), index('attachment_events_evidence_idx').on(t.evidenceId, t.at)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    name: text('name').notNull(),
    role: apiKeyRole('role').notNull(),
    tokenHash: text('token_hash').notNull(),
    /** The token's first characters, enough to recognise it in a list. */
    tokenPrefix: text('token_prefix').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamptz('last_used_at'),
    revokedAt: timestamptz('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_token_hash_uq').on(t.tokenHash), index('api_keys_created_idx').on(t.createdAt, t.id)],
);

export const webhooks = pgTable(
  'webhooks',
  {
    id: id(),
    url: text('url').notNull(),
    secretCiphertext: text('secret_ciphertext').notNull(),
    events: jsonb('events').$type<WebhookEvent[]>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [index('webhooks_created_idx').on(t.createdAt, t.id)],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id),
    event: text('event').$type<WebhookEvent>().notNull(),
    attempt: integer('attempt').notNull(),
    httpStatus: integer('http_status'),
    ok: boolean('ok').notNull(),
    error: text('error'),
    requestBodySha256: text('request_body_sha256'),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_deliveries_webhook_created_idx').on(t.webhookId, t.createdAt, t.id),
    index('webhook_deliveries_run_idx').on(t.runId),
  ],
);

/**
 * One Qualys subscription as Qualys counts calls: an API server and a user
 * name, kept only as a hash. Its limits are what Qualys last reported, so
 * every worker shares one budget (activities/call-slots.ts).
 */
export const qualysSubscriptions = pgTable('qualys_subscriptions', {
  /** Hex SHA-256 of the lower-cased API server URL and user name (qualys/subscription.ts). */
  id: text('id').primaryKey(),
  /** X-Concurrency-Limit-Limit; null until Qualys reported it. */
  concurrencyLimit: integer('concurrency_limit'),
  /** X-RateLimit-Limit, X-RateLimit-Window-Sec and X-RateLimit-Remaining of the newest observation. */
  rateLimit: integer('rate_limit'),
  rateWindowSec: integer('rate_window_sec'),
  rateRemaining: integer('rate_remaining'),
  /** X-RateLimit-ToWait-Sec of the same answer: how long Qualys wants no call after a spent budget. */
  rateWaitSec: integer('rate_wait_sec'),
  /** Start of the call whose answer carried the figures (database clock). */
  observedAt: timestamptz('observed_at'),
});

export const callLeaseState = pgEnum('call_lease_state', ['waiting', 'running', 'done']);

/**
 * A Qualys call: waiting for a slot, running (holding one of the
 * subscription's slots until it finishes or its lease expires), or done
 * (kept one rate window, to count calls in it). Times come from the
 * database's clock, so workers on machines with skewed clocks agree on expiry.
 */
export const qualysCallLeases = pgTable(
  'qualys_call_leases',
  {
    id: id(),
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => qualysSubscriptions.id, { onDelete: 'cascade' }),
    /** The worker process holding or waiting (`host-pid`), for operators. */
    holder: text('holder').notNull(),
    /** What the call is for, e.g. `run <id> page 3`. */
    purpose: text('purpose').notNull(),
    /** The run the call belongs to (its progress counts the calls waiting for a slot); null for calls of no run. */
    runId: text('run_id'),
    state: callLeaseState('state').notNull(),
    requestedAt: timestamptz('requested_at').notNull(),
    startedAt: timestamptz('started_at'),
    /** A waiter or holder that stops renewing before this time is gone. */
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [
    index('qualys_call_leases_subscription_state_idx').on(t.subscriptionId, t.state, t.requestedAt),
    index('qualys_call_leases_started_idx').on(t.subscriptionId, t.startedAt),
    index('qualys_call_leases_run_idx').on(t.runId, t.state),
  ],
);

export type ConnectionRow = typeof connections.$inferSelect;
export type FetcherRow = typeof fetchers.$inferSelect;
export type ControlRow = typeof controls.$inferSelect;
export type RequestRow = typeof requests.$inferSelect;
export type ScheduleRow = typeof schedules.$inferSelect;
export type RunRow = typeof runs.$inferSelect;
export type RunPageRow = typeof runPages.$inferSelect;
export type RunRangeRow = typeof runRanges.$inferSelect;
export type RunEventRow = typeof runEvents.$inferSelect;
export type EvidenceRow = typeof evidence.$inferSelect;
export type AttachmentRow = typeof attachments.$inferSelect;
export type AttachmentEventRow = typeof attachmentEvents.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
