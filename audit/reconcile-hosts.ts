/**
 * Reconciles a pull's host ids with the host ID list taken before it: the
 * ids the pull recorded per page (or, for older pages, the pages read host by
 * host, ids only) are merged against the listed ranges,
 * and the listed ids the evidence lacks are confirmed with the caller's
 * Host List Detection call for exactly those ids (see completeness.ts).
 */
import type { Readable } from 'node:stream';
import { HostIdReconciler, type IdRanges, type Reconciliation } from './completeness.js';
import { readHosts, type HostFormat } from './host-reader.js';
import { hostIdsOfRuns } from '../qualys/host-id-runs.js';

/** The blob planRanges stores: Qualys's host ID list for the run's host-level filters. */
export interface HostIdListDocument {
  count: number;
  ranges: Array<[number, number]>;
  /** The host list parameters used. */
  params: Record<string, string>;
  listedAt: string;
}

interface AbsentConfirmation {
  hostsWithMatchingDetections: number;
  firstHostIds: number[];
}

/** Ranges per confirmation call: the `ids` form value stays well under a megabyte. */
const RANGES_PER_CALL = 5_000;
/** More calls than this would spend a large part of an hourly rate limit: the check says so instead. */
const MAX_CONFIRMATION_CALLS = 20;

export interface ReconcileInput {
  list: HostIdListDocument;
  hostIdListKey: string;
  detectionFilters: string[];
  format: HostFormat;
  /**
   * The run's pages in order: the host ids each held as the pull read them
   * (HostIdRuns text), or, for pages pulled before those were kept, the page
   * to open and read.
   */
  pages: ReadonlyArray<{ hostIds: string } | { open: () => Promise<Readable> }>;
  /** Host List Detection with the run's own filters, limited to these ids. */
  confirmAbsent(ranges: IdRanges): Promise<AbsentConfirmation>;
}

export async function reconcileHosts(input: ReconcileInput): Promise<Reconciliation> {
  const reconciler = new HostIdReconciler(input.list.ranges);
  for (const page of input.pages) {
    if ('hostIds' in page) {
      for (const id of hostIdsOfRuns(page.hostIds)) reconciler.add(id);
      continue;
    }
    for await (const hosts of readHosts(await page.open(), input.format, { detections: false })) {
      for (const host of hosts) reconciler.add(host.id);
    }
  }
  const result = reconciler.finish();
  let absentConfirmation: Reconciliation['absentConfirmation'] = null;
  if (result.absent > 0) {
    const calls = Math.ceil(reconciler.absentRanges.length / RANGES_PER_CALL);
    if (calls > MAX_CONFIRMATION_CALLS) {
      absentConfirmation = { notPerformed: `${result.absent} absent ids in ${reconciler.absentRanges.length} ranges would take ${calls} calls (at most ${MAX_CONFIRMATION_CALLS})` };
    } else {
      try {
        let found = 0;
        const first: number[] = [];
        for (let i = 0; i < reconciler.absentRanges.length; i += RANGES_PER_CALL) {
          const answer = await input.confirmAbsent(reconciler.absentRanges.slice(i, i + RANGES_PER_CALL));
          found += answer.hostsWithMatchingDetections;
          first.push(...answer.firstHostIds.slice(0, 10 - first.length));
        }
        absentConfirmation = { calls, hostsWithMatchingDetections: found, firstHostIds: first };
      } catch (err) {
        absentConfirmation = { notPerformed: `the confirmation call failed: ${(err as Error).message}` };
      }
    }
  }
  return {
    hostIdListKey: input.hostIdListKey,
    listedAt: input.list.listedAt,
    params: input.list.params,
    detectionFilters: input.detectionFilters,
    listed: input.list.count,
    inEvidence: result.inEvidence,
    matched: result.matched,
    absent: result.absent,
    extra: result.extra,
    absentConfirmation,
    sample: result.sample,
  };
}
