/**
 * The one home of what the API, the workflows and the activities share:
 * workflow, query and task-queue names, run ids, search attributes, error
 * types, and the shapes that travel through Temporal history. Defined once so
 * the three layers cannot drift apart.
 *
 * Everything here is workflow-safe (no Node APIs), and every value that
 * travels through history stays small and never holds a credential or page
 * content: pages are referenced by blob key.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// ---------------------------------------------------------------- names

export const DEFAULT_TASK_QUEUE = 'qualys-evidence';
export const FETCHER_RUN_WORKFLOW = 'fetcherRun';
export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDelivery';
export const PROGRESS_QUERY = 'progress';

// ---------------------------------------------------------------- run ids

export const RUN_WORKFLOW_ID_PREFIX = 'run-';

export function runWorkflowId(runId: string): string {
  return `${RUN_WORKFLOW_ID_PREFIX}${runId}`;
}

/** The run id a workflow id stands for (scheduled runs get theirs from Temporal's workflow id). */
export function runIdOfWorkflowId(workflowId: string): string {
  return workflowId.startsWith(RUN_WORKFLOW_ID_PREFIX) ? workflowId.slice(RUN_WORKFLOW_ID_PREFIX.length) : workflowId;
}

/**
 * Temporal appends a scheduled action's time to the schedule's workflow id
 * (`run-sched-…-2026-01-01T02:00:00Z`): that time is when the run was due.
 */
export function scheduledTimeOfWorkflowId(workflowId: string): Date | null {
  const match = /-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)$/.exec(workflowId);
  if (!match) return null;
  const at = new Date(match[1]!);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** One delivery per (run, webhook): a second start for the same pair is refused by Temporal. */
export function webhookDeliveryWorkflowId(runId: string, webhookId: string): string {
  return `webhook-${runId}-${webhookId}`;
}

// ---------------------------------------------------------------- search attributes

export const FETCHER_ID = defineSearchAttributeKey('FetcherId', SearchAttributeType.KEYWORD);
export const CONNECTION_ID = defineSearchAttributeKey('ConnectionId', SearchAttributeType.KEYWORD);
export const FETCHER_KIND = defineSearchAttributeKey('FetcherKind', SearchAttributeType.KEYWORD);
export const RUN_OUTCOME = defineSearchAttributeKey('RunOutcome', SearchAttributeType.KEYWORD);

export const RUN_SEARCH_ATTRIBUTES = [FETCHER_ID, CONNECTION_ID, FETCHER_KIND, RUN_OUTCOME] as const;

// ---------------------------------------------------------------- vocabularies

export const RUN_TRIGGERS = ['api', 'schedule', 'backfill', 'demo', 'cli'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export const FETCHER_KINDS = ['host_list_detection', 'custom'] as const;
export type FetcherKind = (typeof FETCHER_KINDS)[number];

export const EVIDENCE_FORMATS = ['XML', 'CSV', 'RAW'] as const;
export type EvidenceFormat = (typeof EVIDENCE_FORMATS)[number];

/** The run row's status. */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_RUN_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];
export type FinalRunStatus = (typeof FINAL_RUN_STATUSES)[number];

/** Where a run is in its story; recorded on the run row as it moves on. */
export const RUN_STEPS = ['queued', 'prepare', 'check_connection', 'pull_pages', 'seal', 'attach', 'notify', 'done'] as const;
export type RunStep = (typeof RUN_STEPS)[number];

/** The RunOutcome search attribute: the run's status once it started. */
export type RunOutcome = 'running' | FinalRunStatus;

export const WEBHOOK_EVENTS = ['run.completed', 'run.failed'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

// ---------------------------------------------------------------- errors

/** Error types raised by activities; the workflows' retry policies refer to them by name. */
export const ERROR_TYPES = {
  auth: 'QualysAuthError',
  parameter: 'QualysParameterError',
  rateLimit: 'QualysRateLimitError',
  concurrencyLimit: 'QualysConcurrencyLimitError',
  transient: 'QualysTransientError',
  protocol: 'QualysProtocolError',
  security: 'QualysSecurityError',
  /** Qualys broke its own paging contract (a truncation cursor that does not advance): retrying asks the same. */
  contract: 'QualysContractError',
  notFound: 'NotFound',
  invalidState: 'InvalidState',
} as const;

/** Failures that no retry can fix: a person has to change something first. */
export const PERMANENT_ERROR_TYPES = [
  ERROR_TYPES.auth,
  ERROR_TYPES.parameter,
  ERROR_TYPES.security,
  ERROR_TYPES.contract,
  ERROR_TYPES.notFound,
  ERROR_TYPES.invalidState,
];

/** Qualys's 409s: waited out by the workflow's own timer instead of the retry policy. */
export const LIMIT_ERROR_TYPES = [ERROR_TYPES.rateLimit, ERROR_TYPES.concurrencyLimit];

/** Details attached to a 409 failure so the workflow can wait exactly as long as Qualys asked. */
export interface LimitFailureDetails {
  retryAfterSeconds: number;
  qualysCode: number;
}

/** Error types of the webhook delivery activity, named in its workflow's retry policy. */
export const WEBHOOK_ERROR_TYPES = {
  /** The receiver answered with a status that retrying cannot change (a 4xx other than 408/429). */
  rejected: 'WebhookRejected',
  /** The target is not allowed (not a public address, nor in WEBHOOK_ALLOWED_CIDRS) or the URL is unusable. */
  target: 'WebhookTargetRefused',
  /** 5xx, 408, 429, timeouts, refused or reset connections: worth another attempt. */
  failed: 'WebhookDeliveryFailed',
} as const;

// ---------------------------------------------------------------- run shapes

/** Knobs with production defaults; tests shorten them. */
export interface RunTuning {
  /** Pages pulled by one workflow execution before it continues as new. */
  pagesPerExecution: number;
  /** How long a page may go without a heartbeat before it is retried elsewhere. */
  pageHeartbeatTimeoutMs: number;
  /** Upper bound for one page, first byte to last (Qualys pages can take minutes). */
  pageStartToCloseMs: number;
  /** Attempts for transient failures (5xx, resets, timeouts, broken documents) of one page. */
  pageMaxAttempts: number;
  /** The first pause before a failed page is tried again; it doubles up to two minutes. */
  pageRetryInitialMs: number;
  /**
   * A page that failed every attempt is tried again with half the hosts (down
   * to one), this many attempts at each smaller size.
   */
  pageAttemptsPerHalving: number;
  /** Pause after a 1960 concurrency refusal when Qualys gives no better hint. */
  concurrencyPauseMs: number;
  /** Give up when Qualys keeps refusing for longer than this in total. */
  maxTotalWaitMs: number;
  /** Most pages of one range one activity pulls in a row (each still stored and recorded on its own). */
  pagesPerCall: number;
  /** An activity starts no further page of its range after this long, so the workflow hears of pages at least this often. */
  pageCallBudgetMs: number;
}

export const DEFAULT_RUN_TUNING: RunTuning = {
  pagesPerExecution: 500,
  pageHeartbeatTimeoutMs: 120_000,
  pageStartToCloseMs: 60 * 60_000,
  pageMaxAttempts: 8,
  pageRetryInitialMs: 2_000,
  pageAttemptsPerHalving: 3,
  concurrencyPauseMs: 15_000,
  maxTotalWaitMs: 24 * 60 * 60_000,
  pagesPerCall: 50,
  pageCallBudgetMs: 20_000,
};

export interface FetcherRunInput {
  /** Absent for scheduled starts: the run id then comes from the workflow id Temporal assigned. */
  runId?: string;
  fetcherId: string;
  trigger: RunTrigger;
  triggeredBy?: string | null;
  scheduleId?: string | null;
  tuning?: Partial<RunTuning>;
  /** Set only by continue-as-new: range pulls carry `RangePullState`; runs started before ranges existed, `PullState`. */
  resume?: RangePullState | PullState;
}

/** What prepare decided: everything later steps need, minus secrets. */
export interface RunPlan {
  runId: string;
  fetcherId: string;
  fetcherName: string;
  fetcherKind: FetcherKind;
  connectionId: string;
  format: EvidenceFormat;
  method: 'GET' | 'POST';
  /** API path on the connection's own host. */
  endpoint: string;
  params: Record<string, string>;
  startedAt: string;
  /**
   * Host list calls whose IDs, merged, select the hosts (a list of IPv4 and
   * IPv6 addresses, which Qualys would AND); absent or empty when none.
   */
  addressLookups?: Array<Record<string, string>>;
  /** What the client filters out of every page Qualys sends (running-kernel option 4 on API 3.0+); absent or null for nothing. */
  postFilter?: 'kernel-related' | null;
}

export interface PageRecord {
  /** 1 for sequential pulls. */
  rangeNo?: number;
  pageNo: number;
  idMin: number | null;
  blobKey: string;
  sha256: string;
  bytes: number;
  hosts: number;
  detections: number;
  records: number;
  truncated: boolean;
  nextIdMin: number | null;
  qualysDatetime: string | null;
  /** Temporal attempt that produced the page (1 = first try). */
  attempt: number;
}

export type LimitReason = 'rate_limit' | 'concurrency_limit';

export interface WaitRecord {
  reason: LimitReason;
  seconds: number;
  at: string;
}

export interface PullTotals {
  pages: number;
  hosts: number;
  detections: number;
  records: number;
  bytes: number;
}

/** Every time Qualys said "not now" (409) and how long the run waited. */
export interface Refusals {
  /** A sample: the first ones, up to a cap that keeps history small. */
  waits: WaitRecord[];
  waitCount: number;
  waitedMs: number;
}

/** A sequential pull's position and counters, carried across continue-as-new (runs from before range pulls). */
export interface PullState {
  plan: RunPlan;
  nextPageNo: number;
  idMin: number | null;
  totals: PullTotals;
  refusals: Refusals;
  retries: number;
}

/** One contiguous host ID range of a run, pulled by truncation on its own. */
export interface RangeSpec {
  rangeNo: number;
  /** Inclusive bounds sent as id_min / id_max; null = open (the first and last range stay open so no host is ever outside every range). */
  idMin: number | null;
  idMax: number | null;
}

/** How a run pulls: its ranges and how many of them at once. */
export interface RangePlan {
  ranges: RangeSpec[];
  /** Ranges pulled at once: the subscription's concurrency limit minus the reserve, never above it. */
  parallelism: number;
  /** Hosts the host ID list named for the fetcher's host filters (null when no list was taken). */
  listedHosts: number | null;
  /** The plan's address lookups resolved: a blob holding the `ids` every page sends (absent when none). */
  hostIdsBlobKey?: string | null;
}

/** Where one range stands. */
export interface RangeCursor extends RangeSpec {
  /** The next page's number within the range. */
  nextPageNo: number;
  /** id_min of the next page (the range's lower bound at first, then each truncation cursor). */
  cursor: number | null;
  done: boolean;
  /** Hosts per page while it is below the fetcher's page size, after a page kept failing; absent otherwise. */
  pageSize?: number;
  /** Attempts the next page already failed as a later page of a call (it is asked for again as the first of the next). */
  failedAttempts?: number;
}

/** A range pull's position and counters, carried across continue-as-new. */
export interface RangePullState {
  plan: RunPlan;
  parallelism: number;
  listedHosts: number | null;
  hostIdsBlobKey?: string | null;
  ranges: RangeCursor[];
  totals: PullTotals;
  refusals: Refusals;
  retries: number;
}

export function isRangePullState(state: RangePullState | PullState): state is RangePullState {
  return 'ranges' in state;
}

/** What one page activity is asked for. */
export interface PageRequest {
  plan: RunPlan;
  rangeNo: number;
  pageNo: number;
  idMin: number | null;
  idMax: number | null;
  /** Resolved address lookups: the blob whose text every page sends as `ids`. */
  hostIdsBlobKey?: string | null;
  /** Hosts per page when below the fetcher's page size (a page kept failing at the larger size). */
  truncationLimit?: number;
  /** When the last attempt fails, the page is asked for again with fewer hosts (so that failure is a retry too). */
  smallerPageFollows?: boolean;
  /** So the activity can record, as it happens, whether a failed attempt will be retried and how long a refusal lasts. */
  pageMaxAttempts: number;
  concurrencyPauseMs: number;
}

/** What a call pulling several pages of one range is asked for: the first page as for one page, and how far to go. */
export interface PageCallRequest extends PageRequest {
  /** Pages at most, the first included. */
  maxPages: number;
  /** No further page is started after this long. */
  budgetMs: number;
  /** Attempts the first page failed in earlier calls: this call's attempts are counted on from there. */
  attemptsBefore: number;
}

/** The pages a call pulled, in order; each is stored and recorded like a page pulled alone. */
export interface PageCallResult {
  pages: PageRecord[];
  /**
   * The page after the last one failed while others of the call had been
   * pulled: the call ends there so the workflow learns of those pages, and
   * the page is the first of the next call. A refusal (409) carries the wait
   * Qualys asked for; anything else cost the page one attempt.
   */
  interrupted?: { message: string; type: string; refusal: (LimitFailureDetails & { reason: LimitReason }) | null };
}

/**
 * How long to wait after a 409: what Qualys asked for, and at least a short
 * pause (Qualys names no wait for a concurrency refusal).
 */
export function refusalWaitMs(reason: LimitReason, retryAfterSeconds: number, concurrencyPauseMs: number): number {
  const fallbackMs = reason === 'concurrency_limit' ? concurrencyPauseMs : 1000;
  return Math.max(retryAfterSeconds * 1000, fallbackMs);
}

/**
 * A run's progress as the API shows it and the run row stores it: counters,
 * Qualys's refusals, retries and the last error, recorded as they happen.
 */
export interface RunProgress {
  runId: string;
  step: RunStep;
  outcome: RunOutcome;
  pages: number;
  hosts: number;
  detections: number;
  records: number;
  bytes: number;
  lastError: string | null;
  /** Set while the run sleeps because Qualys asked it to wait. */
  waiting: { reason: LimitReason; seconds: number; until: string } | null;
  waits: number;
  waitedSeconds: number;
  retries: number;
  /** The attempt in flight when one failed: which page, which attempt, and why it failed. */
  current?: { step: RunStep; rangeNo: number | null; pageNo: number | null; attempt: number; error: string } | null;
  /** Range pulls: ranges finished, being pulled, and not started. */
  ranges?: { total: number; done: number; inFlight: number; waiting: number } | null;
  /** Calls of the run queued for a slot of the subscription's shared budget. */
  waitingForSlot?: number;
}

export interface SealedEvidence {
  evidenceId: string;
  blobKey: string;
  sha256: string;
  bytes: number;
  format: EvidenceFormat;
}

export interface AttachResult {
  controls: Array<{ id: string; framework: string; code: string }>;
  requestIds: string[];
}

export interface FetcherRunResult {
  runId: string;
  status: 'succeeded';
  evidence: SealedEvidence;
  totals: PullTotals;
  attachedTo: AttachResult;
}

// ---------------------------------------------------------------- webhook delivery

export interface WebhookDeliveryInput {
  webhookId: string;
  runId: string;
  event: WebhookEventName;
  /** Sent as X-Qualys-Connector-Delivery; the same on every attempt so receivers can de-duplicate. */
  deliveryId: string;
}

export interface WebhookDeliveryResult {
  /** `skipped` when the webhook was deleted or disabled before delivery. */
  outcome: 'delivered' | 'skipped';
  attempt: number;
  httpStatus: number | null;
}
