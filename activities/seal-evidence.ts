import { Context } from '@temporalio/activity';
import { Readable, Writable } from 'node:stream';
import type { ActivityDeps } from './deps.js';
import { maxSlotWaitMs, type CallSlots } from './call-slots.js';
import type { QualysClientPool } from './qualys-clients.js';
import { checkPageChain, completenessOf, type ChainPage, type Completeness, type ReconciliationOutcome } from '../audit/completeness.js';
import { hostListFiltersFor } from '../audit/host-list-filters.js';
import { reconcileHosts, type HostIdListDocument } from '../audit/reconcile-hosts.js';
import { formatHostIdRuns } from '../qualys/host-id-runs.js';
import { getRun, setRunCollectedAt } from '../db/runs.js';
import type { BlobStore } from '../evidence/blob-store.js';
import { PRODUCT } from '../qualys/product.js';
import { invalidState, notFound } from './failures.js';
import { getConnection } from '../db/connections.js';
import { insertEvidence } from '../db/evidence.js';
import { getFetcher } from '../db/fetchers.js';
import { listRunRanges, recordStep } from '../db/run-activity.js';
import { chainOfCustody } from './chain-of-custody.js';
import { listRunPages } from '../db/run-pages.js';
import type { RunPageRow } from '../db/schema.js';
import { evidenceFilename } from '../evidence/filename.js';
import { evidenceContentType } from '../evidence/format.js';
import { buildManifest, manifestBytes } from '../evidence/manifest.js';
import { CURRENT_SEAL_VERSION } from '../evidence/seal.js';
import type { PageBytes } from './page-bytes.js';
import { addSummaries, summaryToJson, type CsvLayout, type PageSummary, type XmlLayout } from '../qualys/page-summary.js';
import type { GenericPageSummary } from '../qualys/generic-page-reader.js';
import { scheduledTimeOfWorkflowId, type EvidenceFormat, type Refusals, type RunPlan, type RunTrigger, type SealedEvidence } from '../shared/contracts.js';

export interface SealEvidenceInput {
  plan: RunPlan;
  /** Resolved address lookups: the blob of the `ids` every page sent. */
  hostIdsBlobKey?: string | null;
  trigger: RunTrigger;
  triggeredBy: string | null;
  workflowId: string;
  refusals: Refusals;
  retries: number;
}

/** After its action time, a scheduled run that starts later than any jitter a schedule allows (24 h) is a backfill. */
const BACKFILL_AFTER_MS = 25 * 60 * 60_000;

type StoredSummary = (PageSummary | GenericPageSummary) & { layout: XmlLayout | CsvLayout | null; contentType?: string | null };

/** pullPage stored the reader's summary (plus, for custom answers, the content type) as JSON. */
function storedSummary(page: RunPageRow): StoredSummary {
  return page.summary as unknown as StoredSummary;
}

/** Host List Detection pages are always merged in their own format; custom answers only when they are paged lists. */
function evidenceFormatOf(plan: RunPlan, pages: RunPageRow[]): EvidenceFormat {
  if (plan.fetcherKind === 'host_list_detection') return plan.format;
  const layouts = pages.map((p) => storedSummary(p).layout);
  if (layouts.every((l) => l?.kind === 'xml')) return 'XML';
  if (layouts.every((l) => l?.kind === 'csv')) return 'CSV';
  if (pages.length === 1) return 'RAW';
  throw invalidState(`run ${plan.runId} has ${pages.length} pages that are not one paged list; they cannot be merged`);
}

function totalsOf(plan: RunPlan, pages: RunPageRow[]) {
  if (plan.fetcherKind === 'host_list_detection') {
    const summaries = pages.map((p) => storedSummary(p) as PageSummary);
    const total = summaries.slice(1).reduce(addSummaries, summaries[0]!);
    // The severity|status|type counts too: the console charts severity against status from them.
    const json: ReturnType<typeof summaryToJson> & { matrix: Record<string, number> } = { ...summaryToJson(total), matrix: total.matrix };
    return json;
  }
  const summaries = pages.map((p) => storedSummary(p) as GenericPageSummary);
  return {
    format: summaries[0]!.format,
    root: summaries[0]!.root,
    records: summaries.reduce((n, s) => n + s.records, 0),
    datetime: summaries[0]!.datetime,
    truncated: summaries.at(-1)!.truncated,
  };
}

function lastPagesOfRanges(pages: RunPageRow[]): RunPageRow[] {
  return pages.filter((page, i) => pages[i + 1]?.rangeNo !== page.rangeNo);
}

/**
 * Every range's pages run 1, 2, 3… without a gap (pages come sorted by range,
 * then page); a range the plan named that has no page at all is missing too.
 */
function checkPageChains(runId: string, pages: RunPageRow[], plannedRanges: number[]): void {
  const counts = new Map<number, number>();
  for (const page of pages) {
    const expected = (counts.get(page.rangeNo) ?? 0) + 1;
    if (page.pageNo !== expected) throw invalidState(`run ${runId} is missing page ${expected} of range ${page.rangeNo}`);
    counts.set(page.rangeNo, expected);
  }
  for (const rangeNo of plannedRanges) {
    if (!counts.has(rangeNo)) throw invalidState(`run ${runId} has no page of range ${rangeNo}`);
  }
}

/**
 * Merges the run's stored pages into one evidence file (streamed, so memory
 * stays flat), writes its manifest and records it. The evidence row is unique
 * per run: a retried seal returns the first record.
 */
export function sealEvidence(deps: ActivityDeps, pool: QualysClientPool, slots: CallSlots, pageBytes: PageBytes) {
  const { db, blobStore, logger } = deps;
  return async (input: SealEvidenceInput): Promise<SealedEvidence> => {
    const { plan } = input;
    const ctx = Context.current();
    await recordStep(db, plan.runId, 'seal', deps.workerIdentity ?? null);
    const [fetcher, connection, pages, ranges, run] = await Promise.all([
      getFetcher(db, plan.fetcherId, { includeDeleted: true }),
      getConnection(db, plan.connectionId),
      listRunPages(db, plan.runId),
      listRunRanges(db, plan.runId),
      getRun(db, plan.runId),
    ]);
    if (!run) throw notFound('run', plan.runId);
    if (!fetcher) throw notFound('fetcher', plan.fetcherId);
    if (!connection) throw notFound('connection', plan.connectionId);
    if (pages.length === 0) throw invalidState(`run ${plan.runId} has no pages to seal`);
    checkPageChains(plan.runId, pages, ranges.map((r) => r.rangeNo));

    const format = evidenceFormatOf(plan, pages);
    // Where a slow seal spends its time shows in its log line.
    const timings = { sealMs: 0, completenessMs: 0, recordMs: 0 };
    let mark = performance.now();
    const lap = (step: keyof typeof timings) => {
      const now = performance.now();
      timings[step] = Math.round(now - mark);
      mark = now;
    };
    const heartbeat = setInterval(() => ctx.heartbeat({ step: 'seal' }), 10_000);
    let sealed;
    try {
      sealed = await pageBytes.seal({ format, pages: pages.map((p) => ({ blobKey: p.blobKey, layout: storedSummary(p).layout })) }, ctx.cancellationSignal);
    } finally {
      clearInterval(heartbeat);
    }
    lap('sealMs');

    const completeness = await assessCompleteness({
      plan,
      pages,
      format,
      blobStore,
      // The host ID list planRanges took and recorded, for the reconciliation.
      hostIdListKey: run.hostIdListKey,
      pool,
      slots,
      heartbeat: () => ctx.heartbeat({ step: 'seal' }),
    });
    lap('completenessMs');
    const finishedAt = new Date();
    const collectedAt = new Date(Math.max(...pages.map((p) => p.fetchedAt.getTime())));
    const scheduledFor = run.scheduleId ? scheduledTimeOfWorkflowId(run.workflowId) : null;
    const backfill = input.trigger === 'backfill' || (scheduledFor !== null && new Date(plan.startedAt).getTime() - scheduledFor.getTime() > BACKFILL_AFTER_MS);
    const upstreamType = storedSummary(pages[0]!).contentType ?? null;
    const contentType = evidenceContentType(format, upstreamType);
    const filename = evidenceFilename({ fetcherName: fetcher.name, createdAt: finishedAt, format, contentType });
    const summary = totalsOf(plan, pages);
    const manifest = buildManifest({
      product: PRODUCT,
      fetcher: { id: fetcher.id, name: fetcher.name, kind: fetcher.kind, definition: fetcher.config as Record<string, never> },
      qualys: {
        platform: connection.platform,
        apiBaseUrl: connection.apiBaseUrl,
        apiVersion: connection.apiVersion,
        endpoint: plan.endpoint,
        method: plan.method,
        params: plan.params,
        ...(plan.addressLookups?.length ? { addressLookups: plan.addressLookups } : {}),
        ...(input.hostIdsBlobKey ? { resolvedHostIds: { blobKey: input.hostIdsBlobKey, count: ranges.reduce((n, r) => n + (r.listedHosts ?? 0), 0) } } : {}),
        ...(plan.postFilter ? { postFilter: plan.postFilter } : {}),
      },
      run: {
        id: plan.runId,
        trigger: input.trigger,
        triggeredBy: input.triggeredBy,
        workflowId: input.workflowId,
        startedAt: plan.startedAt,
        finishedAt,
        collectedAt,
        backfill,
      },
      pages: pages.map((p, i) => {
        const s = storedSummary(p);
        return {
          pageNo: i + 1,
          rangeNo: p.rangeNo,
          rangePageNo: p.pageNo,
          idMin: p.idMin,
          idMax: p.idMax,
          ...(p.truncationLimit === null ? {} : { truncationLimit: p.truncationLimit }),
          blobKey: p.blobKey,
          bytes: p.bytes,
          sha256: p.sha256,
          qualysDatetime: p.qualysDatetime,
          attempts: p.attempts,
          ...('hosts' in s ? { hosts: s.hosts, detections: s.detections } : { records: s.records }),
          firstHostId: 'minHostId' in s ? s.minHostId : null,
          lastHostId: 'maxHostId' in s ? s.maxHostId : null,
          truncated: s.truncated,
          nextIdMin: s.nextIdMin,
        };
      }),
      ranges: ranges.map((r) => ({ rangeNo: r.rangeNo, idMin: r.idMin, idMax: r.idMax, listedHosts: r.listedHosts })),
      waits: input.refusals.waits,
      retries: input.retries,
      custody: await chainOfCustody(db, plan.runId, connection),
      summary: { ...summary, waitCount: input.refusals.waitCount, waitedSeconds: Math.round(input.refusals.waitedMs / 1000) },
      evidence: { blobKey: sealed.key, sha256: sealed.sha256, bytes: sealed.bytes, format, contentType, filename, sealVersion: CURRENT_SEAL_VERSION },
      // Every range's chain ended without a truncation notice.
      complete: lastPagesOfRanges(pages).every((p) => !storedSummary(p).truncated),
      completeness,
    });
    // Kept as a blob too: content-addressed, so the manifest as sealed can always be told from a changed copy.
    const manifestBlob = await blobStore.put(Readable.from([manifestBytes(manifest)]));
    const { evidence } = await insertEvidence(db, {
      runId: plan.runId,
      fetcherId: plan.fetcherId,
      blobKey: sealed.key,
      sha256: sealed.sha256,
      bytes: sealed.bytes,
      format,
      contentType,
      filename,
      summary,
      manifest,
      complete: manifest.complete,
      completeness: completeness.verdict,
      manifestSha256: manifestBlob.sha256,
      manifestBlobKey: manifestBlob.key,
      collectedAt,
      scheduledFor,
    });
    await setRunCollectedAt(db, plan.runId, collectedAt);
    lap('recordMs');
    logger.info(
      { runId: plan.runId, evidenceId: evidence.id, sha256: evidence.sha256, bytes: evidence.bytes, format, pages: pages.length, completeness: completeness.verdict, ...timings },
      'evidence sealed',
    );
    return { evidenceId: evidence.id, blobKey: evidence.blobKey, sha256: evidence.sha256, bytes: evidence.bytes, format: evidence.format };
  };
}

interface CompletenessInput {
  plan: RunPlan;
  pages: RunPageRow[];
  format: EvidenceFormat;
  blobStore: BlobStore;
  hostIdListKey: string | null;
  pool: QualysClientPool;
  slots: CallSlots;
  heartbeat: () => void;
}

/** The completeness verdict of the pull (see audit/completeness.ts for the rules). */
async function assessCompleteness({ plan, pages, format, blobStore, hostIdListKey, pool, slots, heartbeat }: CompletenessInput): Promise<Completeness> {
  const chainPages: ChainPage[] = pages.map((p, i) => {
    const s = storedSummary(p);
    return {
      pageNo: i + 1,
      rangeNo: p.rangeNo,
      idMin: p.idMin,
      idMax: p.idMax,
      firstHostId: 'minHostId' in s ? s.minHostId : null,
      lastHostId: 'maxHostId' in s ? s.maxHostId : null,
      truncated: s.truncated,
      nextIdMin: s.nextIdMin,
    };
  });
  const isHld = plan.fetcherKind === 'host_list_detection';
  const chain = checkPageChain(chainPages, { hostIds: isHld });
  let outcome: ReconciliationOutcome;
  const filters = isHld ? hostListFiltersFor(plan.params, new Date()) : null;
  if (!filters) outcome = { kind: 'not-applicable', reason: 'a custom endpoint answer has no host ID list to reconcile with' };
  else if (!filters.applies) outcome = { kind: 'not-applicable', reason: filters.reason };
  else if (!hostIdListKey) outcome = { kind: 'not-performed', reason: 'no host ID list was taken before the pull' };
  else {
    const list = await readJsonBlob<HostIdListDocument>(blobStore, hostIdListKey);
    const timer = setInterval(heartbeat, 10_000);
    try {
      const reconciliation = await reconcileHosts({
        list,
        hostIdListKey,
        detectionFilters: filters.detectionFilters,
        format: format === 'CSV' ? 'CSV' : 'XML',
        pages: pages.map((p) => (p.hostIds === null ? { open: () => blobStore.get(p.blobKey) } : { hostIds: p.hostIds })),
        confirmAbsent: async (ranges) => {
          const { client } = await pool.get(plan.connectionId);
          const found: number[] = [];
          const ctx = Context.current();
          // A call like any other: it takes a slot of the subscription's shared budget.
          const slot = { signal: ctx.cancellationSignal, onWait: heartbeat, maxWaitMs: maxSlotWaitMs(ctx.info.startToCloseTimeoutMs), purpose: `run ${plan.runId} completeness`, runId: plan.runId };
          const answer = await slots.run(client, slot, (signal) =>
            client.fetchDetectionPage({ params: { ...plan.params, ids: formatHostIdRuns(ranges), truncation_limit: '100', show_results: '0' }, sink: discard(), signal }),
          );
          if (answer.summary.minHostId !== null) found.push(answer.summary.minHostId);
          // A truncated answer means at least its page of hosts: enough to tell the evidence lacks them.
          return { hostsWithMatchingDetections: answer.summary.hosts, firstHostIds: found };
        },
      });
      outcome = { kind: 'performed', reconciliation };
    } finally {
      clearInterval(timer);
    }
  }
  return completenessOf(chain, outcome);
}

/** A sink for answers read only for their summary. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

async function readJsonBlob<T>(store: BlobStore, key: string): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}
