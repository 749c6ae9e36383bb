/**
 * Shapes exchanged between the API, the workflow and its activities. Every
 * value here travels through Temporal history, so it stays small and never
 * holds a credential or page content: pages are referenced by blob key.
 */

export const DEFAULT_TASK_QUEUE = 'qualys-evidence';
export const FETCHER_RUN_WORKFLOW = 'fetcherRun';
export const RUN_WORKFLOW_ID_PREFIX = 'run-';
export const PROGRESS_QUERY = 'progress';

export type RunTrigger = 'api' | 'schedule' | 'backfill' | 'demo' | 'cli';
export type FetcherKind = 'host_list_detection' | 'custom';
export type EvidenceFormat = 'XML' | 'CSV' | 'RAW';
export type RunStep = 'queued' | 'prepare' | 'check_connection' | 'pull_pages' | 'seal' | 'attach' | 'notify' | 'done';
export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled';

export function runWorkflowId(runId: string): string {
  return `${RUN_WORKFLOW_ID_PREFIX}${runId}`;
}

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
  /** Pause after a 1960 concurrency refusal when Qualys gives no better hint. */
  concurrencyPauseMs: number;
  /** Give up when Qualys keeps refusing for longer than this in total. */
  maxTotalWaitMs: number;
}

export const DEFAULT_RUN_TUNING: RunTuning = {
  pagesPerExecution: 500,
  pageHeartbeatTimeoutMs: 120_000,
  pageStartToCloseMs: 60 * 60_000,
  pageMaxAttempts: 8,
  concurrencyPauseMs: 15_000,
  maxTotalWaitMs: 24 * 60 * 60_000,
};

export interface FetcherRunInput {
  /** Absent for scheduled starts: the run id then comes from the workflow id Temporal assigned. */
  runId?: string;
  fetcherId: string;
  trigger: RunTrigger;
  triggeredBy?: string | null;
  scheduleId?: string | null;
  tuning?: Partial<RunTuning>;
  /** Set only by continue-as-new. */
  resume?: PullState;
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
}

export interface PageRecord {
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

export interface WaitRecord {
  reason: 'rate_limit' | 'concurrency_limit';
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

/** The pull's position and counters, carried across continue-as-new. */
export interface PullState {
  plan: RunPlan;
  nextPageNo: number;
  idMin: number | null;
  totals: PullTotals;
  refusals: Refusals;
  retries: number;
}

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
  waiting: { reason: WaitRecord['reason']; seconds: number; until: string } | null;
  waits: number;
  waitedSeconds: number;
  retries: number;
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

/** Error types raised by activities; the workflow's retry policies refer to them by name. */
export const ERROR_TYPES = {
  auth: 'QualysAuthError',
  parameter: 'QualysParameterError',
  rateLimit: 'QualysRateLimitError',
  concurrencyLimit: 'QualysConcurrencyLimitError',
  transient: 'QualysTransientError',
  protocol: 'QualysProtocolError',
  security: 'QualysSecurityError',
  notFound: 'NotFound',
  invalidState: 'InvalidState',
} as const;

/** Details attached to a 409 failure so the workflow can wait exactly as long as Qualys asked. */
export interface LimitFailureDetails {
  retryAfterSeconds: number;
  qualysCode: number;
}
