/**
 * Is a pull complete? The verdict rests on checks anyone can repeat from the
 * manifest and the raw pages:
 *
 * - `no-truncation`: the last page carries no truncation notice;
 * - `page-numbers`: pages run 1, 2, 3, … with none skipped;
 * - `cursor-chain`: every page after the first was requested with the id_min
 *   the page before it named, and starts above that page's last host id (a
 *   range-parallel pull restarts the chain at each range: a page whose idMax
 *   differs begins a new range, which must start right after the previous
 *   range's idMax, the previous range having ended without truncation);
 * - `host-id-list`: where the filters allow it, the host IDs in the evidence
 *   against Qualys's host ID list for the same host-level filters, taken
 *   before the pull. Host List Detection leaves out hosts without a matching
 *   detection, so listed ids absent from the evidence are confirmed with one
 *   more Host List Detection call for exactly those ids and the run's own
 *   filters: it must return no host. A host in the evidence but not in the
 *   list fails the check as well (the population changed during the pull).
 *
 * Verdict: `incomplete` (with the reason) when any check fails; `unknown`
 * when the others pass but a reconciliation that applies was not performed
 * (no host ID list was taken, or its confirmation call failed); `complete`
 * otherwise. When the filters do not allow a reconciliation the chain checks
 * decide alone, and the check says why it did not apply.
 */
import { fail, notPerformed, pass, type Check } from './check.js';

type CompletenessVerdict = 'complete' | 'incomplete' | 'unknown';

export interface ChainPage {
  pageNo: number;
  /** Range pulls: the range the page belongs to (pages come in range order). */
  rangeNo?: number;
  /** The cursor the page was requested with (null: from the start). */
  idMin: number | null;
  /** The upper bound of the range the page belongs to, in a range-parallel pull (null: open-ended). */
  idMax?: number | null;
  /** Host ids of the page's first and last host (null: no host, or not known for this kind of answer). */
  firstHostId: number | null;
  lastHostId: number | null;
  truncated: boolean;
  nextIdMin: number | null;
}

export interface Reconciliation {
  /** The stored host ID list (blob key) and when Qualys was asked for it. */
  hostIdListKey: string;
  listedAt: string;
  /** Host list parameters used (the run's host-level filters). */
  params: Record<string, string>;
  /** Detection-level filters of the run, which explain listed hosts absent from the evidence. */
  detectionFilters: string[];
  listed: number;
  inEvidence: number;
  matched: number;
  /** Listed, not in the evidence. */
  absent: number;
  /** In the evidence, not listed. */
  extra: number;
  /** The confirmation call for the absent ids: how many hosts it returned (must be 0), or why it was not made. */
  absentConfirmation: { calls: number; hostsWithMatchingDetections: number; firstHostIds: number[] } | { notPerformed: string } | null;
  /** A few ids of each kind, to look up. */
  sample: { absent: number[]; extra: number[] };
}

export interface Completeness {
  verdict: CompletenessVerdict;
  /** Why it is not complete; null when complete. */
  reason: string | null;
  checks: Check[];
  reconciliation: Reconciliation | null;
}

export function checkPageChain(pages: readonly ChainPage[], options: { hostIds: boolean }): Check[] {
  const checks: Check[] = [];
  const last = pages.at(-1);
  checks.push(
    !last
      ? fail('no-truncation', 'the pull has no pages')
      : last.truncated
        ? fail('no-truncation', `page ${last.pageNo}, the last, ends with a truncation notice (next id_min ${last.nextIdMin ?? 'unknown'}): hosts remain unpulled`)
        : pass('no-truncation', `page ${last.pageNo}, the last, ends without a truncation notice`),
  );

  const skipped = pages.findIndex((p, i) => p.pageNo !== i + 1);
  checks.push(
    skipped < 0
      ? pass('page-numbers', `pages 1 to ${pages.length}, none skipped`)
      : fail('page-numbers', `page ${skipped + 1} is missing: the page after ${skipped === 0 ? 'the start' : `page ${pages[skipped - 1]!.pageNo}`} is numbered ${pages[skipped]!.pageNo}`),
  );

  const problems: string[] = [];
  const first = pages[0];
  if (first && first.idMin !== null && (first.idMax ?? null) === null) {
    problems.push(`page ${first.pageNo}, the first, was requested from id_min ${first.idMin} instead of from the start`);
  }
  for (let i = 1; i < pages.length; i++) {
    const prev = pages[i - 1]!;
    const page = pages[i]!;
    const newRange = page.rangeNo !== undefined && prev.rangeNo !== undefined ? page.rangeNo !== prev.rangeNo : (page.idMax ?? null) !== (prev.idMax ?? null);
    if (newRange) {
      if (prev.truncated) problems.push(`page ${page.pageNo} starts a new range although page ${prev.pageNo} was truncated (its range was not finished)`);
      else if (prev.idMax == null || page.idMin !== prev.idMax + 1) {
        problems.push(`page ${page.pageNo} starts a range at id_min ${page.idMin} but the previous range ended at id_max ${prev.idMax ?? 'none'}: ranges must follow each other`);
      }
    } else {
      if (!prev.truncated) problems.push(`page ${page.pageNo} follows page ${prev.pageNo}, which was not truncated and named no next page`);
      else if (page.idMin !== prev.nextIdMin) {
        problems.push(`page ${page.pageNo} was requested with id_min ${page.idMin} but page ${prev.pageNo} named ${prev.nextIdMin} as the next id_min: a page is missing or out of place`);
      }
    }
    if (options.hostIds && page.firstHostId !== null) {
      const before = lastHostBefore(pages, i);
      if (before !== null && page.firstHostId <= before.lastHostId!) {
        problems.push(`page ${page.pageNo} starts at host id ${page.firstHostId}, not above host id ${before.lastHostId} that ends page ${before.pageNo}`);
      }
      if (page.idMin !== null && page.firstHostId < page.idMin) {
        problems.push(`page ${page.pageNo} starts at host id ${page.firstHostId}, below the id_min ${page.idMin} it was requested with`);
      }
    }
  }
  if (last && (last.idMax ?? null) !== null && !last.truncated) {
    problems.push(`the last page ${last.pageNo} ends a range at id_max ${last.idMax}: hosts above it were never requested`);
  }
  checks.push(
    problems.length === 0
      ? pass('cursor-chain', pages.length <= 1 ? 'one page: no cursor to follow' : `each of the ${pages.length - 1} later pages continues where the one before it stopped${options.hostIds ? ', above its last host id' : ''}`)
      : fail('cursor-chain', problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '')),
  );
  return checks;
}

function lastHostBefore(pages: readonly ChainPage[], index: number): ChainPage | null {
  for (let i = index - 1; i >= 0; i--) if (pages[i]!.lastHostId !== null) return pages[i]!;
  return null;
}

export type ReconciliationOutcome =
  | { kind: 'performed'; reconciliation: Reconciliation }
  | { kind: 'not-applicable'; reason: string }
  | { kind: 'not-performed'; reason: string };

function reconciliationCheck(outcome: ReconciliationOutcome): Check {
  if (outcome.kind === 'not-applicable') return notPerformed('host-id-list', `does not apply: ${outcome.reason}`);
  if (outcome.kind === 'not-performed') return notPerformed('host-id-list', `not performed: ${outcome.reason}`);
  const r = outcome.reconciliation;
  const counts = `${r.listed} listed, ${r.inEvidence} in the evidence, ${r.matched} in both, ${r.absent} listed but absent, ${r.extra} not listed`;
  if (r.extra > 0) {
    return fail('host-id-list', `${counts}: ${r.extra} host(s) in the evidence are not in the host ID list (first: ${r.sample.extra.join(', ')})`);
  }
  const confirmation = r.absentConfirmation;
  if (r.absent > 0) {
    if (!confirmation || 'notPerformed' in confirmation) {
      return notPerformed('host-id-list', `${counts}; the absent hosts could not be confirmed to lack matching detections: ${confirmation?.notPerformed ?? 'no confirmation call'}`);
    }
    if (confirmation.hostsWithMatchingDetections > 0) {
      return fail(
        'host-id-list',
        `${counts}: at least ${confirmation.hostsWithMatchingDetections} listed host(s) missing from the evidence do have matching detections (first: ${confirmation.firstHostIds.join(', ')})`,
      );
    }
    return pass('host-id-list', `${counts}; a Host List Detection call for the ${r.absent} absent id(s) with the run's filters returned no host: they have no matching detection`);
  }
  return pass('host-id-list', counts);
}

export function completenessOf(chain: Check[], reconciliation: ReconciliationOutcome): Completeness {
  const checks = [...chain, reconciliationCheck(reconciliation)];
  const failed = checks.filter((c) => c.ok === false);
  const record = reconciliation.kind === 'performed' ? reconciliation.reconciliation : null;
  if (failed.length > 0) return { verdict: 'incomplete', reason: failed.map((c) => `${c.name}: ${c.detail}`).join(' | '), checks, reconciliation: record };
  const open = checks.find((c) => c.ok === null && reconciliation.kind !== 'not-applicable');
  if (open) return { verdict: 'unknown', reason: `${open.name}: ${open.detail}`, checks, reconciliation: record };
  return { verdict: 'complete', reason: null, checks, reconciliation: record };
}

/** Inclusive id ranges, ascending and merged, as the host ID list gives them. */
export type IdRanges = ReadonlyArray<readonly [number, number]>;

const SAMPLE = 10;

/**
 * Merges the listed ranges with the evidence's host ids (ascending, as a
 * Host List Detection answer lists them), keeping counts, the absent ids as
 * ranges (for the confirmation call) and a few ids of each kind.
 */
export class HostIdReconciler {
  private rangeIndex = 0;
  /** Next listed id not yet accounted for. */
  private cursor: number;
  private inEvidence = 0;
  private matched = 0;
  private extra = 0;
  private lastId = -1;
  readonly absentRanges: Array<[number, number]> = [];
  private readonly extraSample: number[] = [];
  private outOfOrder: number | null = null;

  constructor(private readonly listed: IdRanges) {
    this.cursor = listed[0]?.[0] ?? Number.MAX_SAFE_INTEGER;
  }

  add(id: number): void {
    this.inEvidence++;
    if (id <= this.lastId) {
      this.outOfOrder ??= id;
      return;
    }
    this.lastId = id;
    this.skipTo(id);
    const range = this.listed[this.rangeIndex];
    if (range && id >= range[0] && id <= range[1]) {
      this.matched++;
      this.cursor = id + 1;
    } else {
      this.extra++;
      if (this.extraSample.length < SAMPLE) this.extraSample.push(id);
    }
  }

  /** Listed ids below `id` not seen in the evidence become absent. */
  private skipTo(id: number): void {
    while (this.rangeIndex < this.listed.length) {
      const [, hi] = this.listed[this.rangeIndex]!;
      const from = Math.max(this.cursor, this.listed[this.rangeIndex]![0]);
      if (id > hi) {
        if (from <= hi) this.addAbsent(from, hi);
        this.rangeIndex++;
        this.cursor = this.listed[this.rangeIndex]?.[0] ?? Number.MAX_SAFE_INTEGER;
        continue;
      }
      if (id > from) this.addAbsent(from, id - 1);
      this.cursor = Math.max(from, id);
      return;
    }
  }

  private addAbsent(lo: number, hi: number): void {
    const last = this.absentRanges.at(-1);
    if (last && last[1] + 1 === lo) last[1] = hi;
    else this.absentRanges.push([lo, hi]);
  }

  finish(): { inEvidence: number; matched: number; absent: number; extra: number; outOfOrder: number | null; sample: { absent: number[]; extra: number[] } } {
    this.skipTo(Number.MAX_SAFE_INTEGER);
    const absent = this.absentRanges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
    const absentSample: number[] = [];
    for (const [lo, hi] of this.absentRanges) {
      for (let id = lo; id <= hi && absentSample.length < SAMPLE; id++) absentSample.push(id);
      if (absentSample.length >= SAMPLE) break;
    }
    return { inEvidence: this.inEvidence, matched: this.matched, absent, extra: this.extra, outOfOrder: this.outOfOrder, sample: { absent: absentSample, extra: this.extraSample } };
  }
}
