/**
 * Completeness: the page chain rules on their own, and the whole verdict
 * through the real activities (prepare → list hosts → pull pages → seal)
 * against the simulator, with a host missing against the host ID list.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import { checkPageChain, completenessOf, HostIdReconciler, type ChainPage } from '../audit/completeness.js';
import { hostListFiltersFor } from '../audit/host-list-filters.js';
import { getEvidence } from '../db/evidence.js';
import { getRun } from '../db/runs.js';
import { listRunPages } from '../db/run-pages.js';
import { runPages } from '../db/schema.js';
import { hostIdsOfRuns } from '../qualys/host-id-runs.js';
import { eq } from 'drizzle-orm';
import { attachmentTargetsForFetcher } from '../db/attachments.js';
import { createRequest } from '../db/requests.js';
import { createSchedule } from '../db/schedules.js';
import { setFetcherRequests } from '../db/fetchers.js';
import type { EvidenceRow, FetcherRow } from '../db/schema.js';
import { readManifest, type Manifest } from '../evidence/manifest.js';
import { intToIp, ipToInt } from '../simulator/ipv4.js';
import type { PageRecord, RangePlan, RunPlan, SealedEvidence } from '../shared/contracts.js';
import { currentPeriod } from './support/period.js';
import { startRunStack, type RunStack } from './support/run-stack.js';
import { quietActivityEnvironment } from './support/quiet-activity-environment.js';

function chain(pages: Array<Partial<ChainPage> & { pageNo: number }>): ChainPage[] {
  return pages.map((p) => ({ idMin: null, firstHostId: null, lastHostId: null, truncated: false, nextIdMin: null, ...p }));
}

const GOOD = chain([
  { pageNo: 1, idMin: null, firstHostId: 10, lastHostId: 99, truncated: true, nextIdMin: 100 },
  { pageNo: 2, idMin: 100, firstHostId: 100, lastHostId: 199, truncated: true, nextIdMin: 205 },
  { pageNo: 3, idMin: 205, firstHostId: 205, lastHostId: 250, truncated: false },
]);

describe('the page chain', () => {
  const byName = (checks: ReturnType<typeof checkPageChain>) => Object.fromEntries(checks.map((c) => [c.name, c]));

  it('passes a chain that ends untruncated with contiguous cursors', () => {
    expect(checkPageChain(GOOD, { hostIds: true }).every((c) => c.ok)).toBe(true);
  });

  it('names a missing page: numbering and cursor both tell', () => {
    const missing = [GOOD[0]!, { ...GOOD[2]!, pageNo: 3 }];
    const checks = byName(checkPageChain(missing, { hostIds: true }));
    expect(checks['page-numbers']).toMatchObject({ ok: false, detail: 'page 2 is missing: the page after page 1 is numbered 3' });
    expect(checks['cursor-chain']).toMatchObject({ ok: false, detail: expect.stringContaining('page 3 was requested with id_min 205 but page 1 named 100') });
    const verdict = completenessOf(checkPageChain(missing, { hostIds: true }), { kind: 'not-applicable', reason: 'test' });
    expect(verdict.verdict).toBe('incomplete');
    expect(verdict.reason).toContain('page 2 is missing');
  });

  it('names a truncated last page and a page that starts inside the previous one', () => {
    const truncated = byName(checkPageChain(GOOD.slice(0, 2), { hostIds: true }));
    expect(truncated['no-truncation']).toMatchObject({ ok: false, detail: expect.stringContaining('next id_min 205') });
    const overlap = chain([GOOD[0]!, { ...GOOD[1]!, firstHostId: 99 }, GOOD[2]!]);
    expect(byName(checkPageChain(overlap, { hostIds: true }))['cursor-chain'].detail).toContain('page 2 starts at host id 99, not above host id 99 that ends page 1');
  });

  it('follows range-parallel pulls: each range restarts the chain right after the previous range', () => {
    const ranges = chain([
      { pageNo: 1, idMin: null, idMax: 149, firstHostId: 10, lastHostId: 99, truncated: true, nextIdMin: 100 },
      { pageNo: 2, idMin: 100, idMax: 149, firstHostId: 100, lastHostId: 149, truncated: false },
      { pageNo: 3, idMin: 150, idMax: null, firstHostId: 150, lastHostId: 250, truncated: false },
    ]);
    expect(checkPageChain(ranges, { hostIds: true }).every((c) => c.ok)).toBe(true);
    const gap = chain([ranges[0]!, ranges[1]!, { ...ranges[2]!, idMin: 160 }]);
    expect(byName(checkPageChain(gap, { hostIds: true }))['cursor-chain'].detail).toContain('page 3 starts a range at id_min 160 but the previous range ended at id_max 149');
  });

  it('is unknown when the host ID list was not taken, and complete when it does not apply', () => {
    const chainChecks = checkPageChain(GOOD, { hostIds: true });
    expect(completenessOf(chainChecks, { kind: 'not-performed', reason: 'no host ID list was taken before the pull' })).toMatchObject({
      verdict: 'unknown',
      reason: 'host-id-list: not performed: no host ID list was taken before the pull',
    });
    expect(completenessOf(chainChecks, { kind: 'not-applicable', reason: 'custom' }).verdict).toBe('complete');
  });
});

describe('host ID list reconciliation', () => {
  it('counts matched, absent and extra ids in one sorted merge, keeping absent ids as ranges', () => {
    const r = new HostIdReconciler([
      [1, 5],
      [10, 10],
      [20, 25],
    ]);
    for (const id of [1, 2, 4, 7, 10, 21, 30]) r.add(id);
    const result = r.finish();
    expect(result).toMatchObject({ inEvidence: 7, matched: 5, extra: 2, absent: 7, sample: { extra: [7, 30], absent: [3, 5, 20, 22, 23, 24, 25] } });
    expect(r.absentRanges).toEqual([
      [3, 3],
      [5, 5],
      [20, 20],
      [22, 25],
    ]);
  });

  it('maps host-level filters to the host list and sets detection filters aside', () => {
    const now = new Date('2026-11-01T12:00:00Z');
    expect(hostListFiltersFor({ action: 'list', ag_ids: '1,2', status: 'New', severities: '4-5', max_days_since_last_vm_scan: '30', truncation_limit: '50' }, now)).toEqual({
      applies: true,
      params: { ag_ids: '1,2', vm_scan_since: '2026-10-02T12:00:00Z' },
      detectionFilters: ['severities', 'status'],
    });
    expect(hostListFiltersFor({ made_up: '1' }, now)).toMatchObject({ applies: false, reason: expect.stringContaining('made_up') });
  });
});

describe('completeness through the activities', () => {
  let stack: RunStack;
  const env = quietActivityEnvironment();
  let activities: ReturnType<typeof createActivities>;
  let lastEvidence: EvidenceRow;

  beforeAll(async () => {
    stack = await startRunStack({ simulator: { hosts: 300 }, startWorker: false });
    activities = createActivities({ db: stack.database.db, blobStore: stack.blobStore, secretBox: stack.secretBox, logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** prepare → list hosts → every page (pulled with `pullPlan`, default the run's own) → seal; returns the manifest. */
  async function pullAndSeal(
    fetcher: FetcherRow,
    adjust: (plan: RunPlan) => RunPlan = (p) => p,
    start: { runId?: string; scheduleId?: string; workflowId?: string } = {},
    beforeSeal: (runId: string) => Promise<void> = async () => {},
  ): Promise<Manifest> {
    const runId = start.runId ?? randomUUID();
    const plan: RunPlan = await env.run(activities.prepareRun, {
      runId,
      fetcherId: fetcher.id,
      trigger: start.scheduleId ? ('schedule' as const) : ('api' as const),
      triggeredBy: 'test',
      scheduleId: start.scheduleId ?? null,
      workflowId: start.workflowId ?? `run-${runId}`,
    });
    // One range: planning takes and keeps the host ID list all the same.
    const planned = (await env.run(activities.planRanges, { plan, concurrencyLimit: 1 })) as RangePlan;
    expect(planned.ranges).toHaveLength(1);
    const listedKey = (await getRun(stack.database.db, runId))!.hostIdListKey;
    expect(listedKey).not.toBeNull();
    const pullPlan = adjust(plan);
    let idMin: number | null = null;
    for (let pageNo = 1; ; pageNo++) {
      const request = { plan: pullPlan, rangeNo: 1, pageNo, idMin, idMax: null, pageMaxAttempts: 3, concurrencyPauseMs: 1000 };
      const page = (await env.run(activities.pullPage, request)) as PageRecord;
      if (!page.truncated) break;
      idMin = page.nextIdMin;
    }
    await beforeSeal(runId);
    const sealed = (await env.run(activities.sealEvidence, {
      plan,
      trigger: start.scheduleId ? ('schedule' as const) : ('api' as const),
      triggeredBy: 'test',
      workflowId: start.workflowId ?? `run-${runId}`,
      refusals: { waits: [], waitCount: 0, waitedMs: 0 },
      retries: 0,
    })) as SealedEvidence;
    const row = (await getEvidence(stack.database.db, sealed.evidenceId))!;
    const read = readManifest(row.manifest);
    if (!read.ok || read.manifest.manifestVersion !== 2) throw new Error('expected a version 2 manifest');
    expect(row.completeness).toBe(read.manifest.completeness.verdict);
    expect(row.collectedAt.toISOString()).toBe(read.manifest.run.collectedAt);
    lastEvidence = row;
    return read.manifest;
  }

  it('is complete when every listed host is in the evidence or confirmed to have no matching detection', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, { severities: [4, 5] }, { pageSize: 40 });
    const manifest = await pullAndSeal(fetcher);
    const { completeness } = manifest;
    expect(completeness.checks.filter((c) => c.ok !== true)).toEqual([]);
    expect(completeness.verdict).toBe('complete');
    const r = completeness.reconciliation!;
    expect(r.listed).toBe(300);
    expect(r.extra).toBe(0);
    // Hosts without a severity 4–5 detection are listed but not in the evidence, and confirmed.
    expect(r.absent).toBeGreaterThan(0);
    expect(r.matched + r.absent).toBe(r.listed);
    expect(r.absentConfirmation).toEqual({ calls: 1, hostsWithMatchingDetections: 0, firstHostIds: [] });
    expect(r.detectionFilters).toEqual(['severities']);
    expect(manifest.pages.length).toBeGreaterThan(2);
    expect(manifest.run.collectedAt >= manifest.run.startedAt).toBe(true);
  });

  it('reconciles from the host ids each page recorded as it was pulled, and, for pages pulled before those were kept, by reading the pages', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, { severities: [4, 5] }, { pageSize: 40 });
    const expected = stack.sim.dataset.expected({ severities: '4,5', truncation_limit: '40' });
    let recorded: string[] = [];
    const fromRecorded = await pullAndSeal(fetcher, undefined, {}, async (runId) => {
      recorded = (await listRunPages(stack.database.db, runId)).map((p) => p.hostIds!);
    });
    // Every page's ids, in order, exactly the hosts the simulator listed.
    expect(recorded.flatMap((text) => [...hostIdsOfRuns(text)])).toEqual(expected.hostIds);
    const fromPages = await pullAndSeal(fetcher, undefined, {}, async (runId) => {
      await stack.database.db.update(runPages).set({ hostIds: null }).where(eq(runPages.runId, runId));
    });
    expect(fromPages.completeness.reconciliation).toEqual({ ...fromRecorded.completeness.reconciliation, hostIdListKey: fromPages.completeness.reconciliation!.hostIdListKey, listedAt: fromPages.completeness.reconciliation!.listedAt });
    expect(fromPages.completeness.verdict).toBe('complete');
  });

  it('is incomplete, naming the host, when a host with matching detections is missing from the pull', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, { severities: [4, 5] }, { pageSize: 40 });
    const expected = stack.sim.dataset.expected({ severities: '4,5' });
    const missing = expected.hostIds[Math.floor(expected.hostIds.length / 2)]!;
    const ip = ipToInt(stack.sim.dataset.hostDetail(missing)!.ip)!;
    // The pull leaves out one host that has matching detections, as a lossy pull would.
    const manifest = await pullAndSeal(fetcher, (plan) => ({ ...plan, params: { ...plan.params, ips: `0.0.0.1-${intToIp(ip - 1)},${intToIp(ip + 1)}-255.255.255.254` } }));
    const { completeness } = manifest;
    expect(completeness.verdict).toBe('incomplete');
    const check = completeness.checks.find((c) => c.name === 'host-id-list')!;
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`at least 1 listed host(s) missing from the evidence do have matching detections (first: ${missing})`);
    expect(completeness.reason).toContain(String(missing));
    expect(completeness.reconciliation!.absentConfirmation).toMatchObject({ hostsWithMatchingDetections: 1, firstHostIds: [missing] });
  });

  it('marks a backfilled scheduled run, and files it by when it collected, never by the period it was due in', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, { severities: [5] }, { pageSize: 100 });
    const schedule = await createSchedule(stack.database.db, { fetcherId: fetcher.id, temporalScheduleId: `sched-${randomUUID()}`, spec: {} });
    const due = '2026-01-01T02:00:00Z';
    const workflowId = `run-${schedule.temporalScheduleId}-${due}`;
    const manifest = await pullAndSeal(fetcher, undefined, { runId: workflowId.slice(4), scheduleId: schedule.id, workflowId });
    expect(manifest.run).toMatchObject({ backfill: true, collectedAt: expect.any(String) });
    expect(manifest.custody?.startedBy.scheduledFor).toBe('2026-01-01T02:00:00.000Z');
    expect(lastEvidence.scheduledFor?.toISOString()).toBe('2026-01-01T02:00:00.000Z');
    const earlier = await createRequest(stack.database.db, { title: 'Q1', periodStart: '2026-01-01', periodEnd: '2026-03-31' });
    const current = await createRequest(stack.database.db, { title: 'now', ...currentPeriod() });
    await setFetcherRequests(stack.database.db, fetcher.id, [earlier.id, current.id]);
    expect(await attachmentTargetsForFetcher(stack.database.db, fetcher.id, lastEvidence.collectedAt)).toEqual([{ targetType: 'request', targetId: current.id }]);
  });

});
