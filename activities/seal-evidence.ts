import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps.js';
import { PRODUCT } from '../qualys/product.js';
import { invalidState, notFound } from './failures.js';
import { getConnection } from '../db/connections.js';
import { insertEvidence } from '../db/evidence.js';
import { getFetcher } from '../db/fetchers.js';
import { listRunPages } from '../db/run-pages.js';
import { updateRunProgress } from '../db/runs.js';
import type { RunPageRow } from '../db/schema.js';
import { evidenceFilename } from '../evidence/filename.js';
import { evidenceContentType } from '../evidence/format.js';
import { buildManifest } from '../evidence/manifest.js';
import { sealPages } from '../evidence/seal.js';
import { addSummaries, summaryToJson, type CsvLayout, type PageSummary, type XmlLayout } from '../qualys/page-summary.js';
import type { GenericPageSummary } from '../qualys/generic-page-reader.js';
import type { EvidenceFormat, Refusals, RunPlan, RunTrigger, SealedEvidence } from '../shared/contracts.js';

export interface SealEvidenceInput {
  plan: RunPlan;
  trigger: RunTrigger;
  triggeredBy: string | null;
  workflowId: string;
  refusals: Refusals;
  retries: number;
}

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
    return summaryToJson(summaries.slice(1).reduce(addSummaries, summaries[0]!));
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

/**
 * Merges the run's stored pages into one evidence file (streamed, so memory
 * stays flat), writes its manifest and records it. The evidence row is unique
 * per run: a retried seal returns the first record.
 */
export function sealEvidence({ db, blobStore, logger }: ActivityDeps) {
  return async (input: SealEvidenceInput): Promise<SealedEvidence> => {
    const { plan } = input;
    const ctx = Context.current();
    await updateRunProgress(db, plan.runId, { step: 'seal' });
    const [fetcher, connection, pages] = await Promise.all([
      getFetcher(db, plan.fetcherId, { includeDeleted: true }),
      getConnection(db, plan.connectionId),
      listRunPages(db, plan.runId),
    ]);
    if (!fetcher) throw notFound('fetcher', plan.fetcherId);
    if (!connection) throw notFound('connection', plan.connectionId);
    if (pages.length === 0) throw invalidState(`run ${plan.runId} has no pages to seal`);
    pages.forEach((page, i) => {
      if (page.pageNo !== i + 1) throw invalidState(`run ${plan.runId} is missing page ${i + 1}`);
    });

    const format = evidenceFormatOf(plan, pages);
    const heartbeat = setInterval(() => ctx.heartbeat({ step: 'seal' }), 10_000);
    let sealed;
    try {
      sealed = await sealPages({
        store: blobStore,
        format,
        pages: pages.map((p) => ({ blobKey: p.blobKey, layout: storedSummary(p).layout })),
        signal: ctx.cancellationSignal,
      });
    } finally {
      clearInterval(heartbeat);
    }

    const finishedAt = new Date();
    const upstreamType = storedSummary(pages[0]!).contentType ?? null;
    const contentType = evidenceContentType(format, upstreamType);
    const filename = evidenceFilename({ fetcherName: fetcher.name, createdAt: finishedAt, format, contentType });
    const summary = totalsOf(plan, pages);
    const last = storedSummary(pages.at(-1)!);
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
      },
      run: {
        id: plan.runId,
        trigger: input.trigger,
        triggeredBy: input.triggeredBy,
        workflowId: input.workflowId,
        startedAt: plan.startedAt,
        finishedAt,
      },
      pages: pages.map((p) => {
        const s = storedSummary(p);
        return {
          pageNo: p.pageNo,
          idMin: p.idMin,
          blobKey: p.blobKey,
          bytes: p.bytes,
          sha256: p.sha256,
          qualysDatetime: p.qualysDatetime,
          attempts: p.attempts,
          ...('hosts' in s ? { hosts: s.hosts, detections: s.detections } : { records: s.records }),
        };
      }),
      waits: input.refusals.waits,
      retries: input.retries,
      summary: { ...summary, waitCount: input.refusals.waitCount, waitedSeconds: Math.round(input.refusals.waitedMs / 1000) },
      evidence: { blobKey: sealed.key, sha256: sealed.sha256, bytes: sealed.bytes, format, contentType, filename },
      // The loop only reaches sealing when the last page carried no truncation notice.
      complete: !last.truncated,
    });
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
    });
    logger.info({ runId: plan.runId, evidenceId: evidence.id, sha256: evidence.sha256, bytes: evidence.bytes, format, pages: pages.length }, 'evidence sealed');
    return { evidenceId: evidence.id, blobKey: evidence.blobKey, sha256: evidence.sha256, bytes: evidence.bytes, format: evidence.format };
  };
}
