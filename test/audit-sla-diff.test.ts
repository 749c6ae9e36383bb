/**
 * SLA as of a date and the diff of two pulls: boundaries on hand-built
 * detections, then real sealed evidence from the simulator checked against
 * counts computed independently from the simulator's own data.
 */
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffHosts } from '../audit/diff.js';
import { databaseEvidenceSource } from '../audit/evidence-source.js';
import { openEvidenceHosts } from '../audit/evidence-hosts.js';
import { readHosts, type Detection } from '../audit/host-reader.js';
import { assessDetection, fixedDetectionsWarning, slaReport, slaSummary, type SlaOptions } from '../audit/sla.js';
import { BUILT_IN_POLICIES, parsePolicy } from '../audit/sla-policy.js';
import { getEvidence } from '../db/evidence.js';
import type { EvidenceRow } from '../db/schema.js';
import { HldMatcher } from '../simulator/hld-matcher.js';
import { parseHldQuery } from '../simulator/hld-query.js';
import { Params } from '../simulator/request-params.js';
import { DETECTION_STATUSES, TYPE_INFO } from '../simulator/vocabulary.js';
import { buildHostListDetectionParams, hostListDetectionFiltersSchema, type HostListDetectionFiltersInput } from '../qualys/hld-params.js';
import { startRunStack, type RunStack } from './support/run-stack.js';

const run = promisify(execFile);
const HOST = { id: 1, ip: '10.0.0.1' };

function det(overrides: Partial<Detection>): Detection {
  return {
    qid: 100,
    type: 'Confirmed',
    severity: 4,
    port: '443',
    protocol: 'tcp',
    ssl: '1',
    status: 'Active',
    firstFound: '2026-01-01T10:00:00Z',
    lastFixed: '',
    lastReopened: '',
    ignored: false,
    disabled: false,
    ...overrides,
  };
}

const commercial = (asOf: string, strict = false): SlaOptions => ({ asOf, policy: BUILT_IN_POLICIES.commercial!, strict });
const verdict = (d: Detection, options: SlaOptions) => {
  const r = assessDetection(HOST, d, options);
  return 'skip' in r ? r.skip : { verdict: r.verdict, daysOver: r.daysOver, exception: r.exception, dueDate: r.dueDate };
};

describe('SLA verdicts at the boundaries (commercial: High 30 days)', () => {
  it('fixed on day 30 is on time, on day 31 is late by one day', () => {
    expect(verdict(det({ status: 'Fixed', lastFixed: '2026-01-31T23:00:00Z' }), commercial('2026-03-01'))).toEqual({ verdict: 'on-time', daysOver: 0, exception: null, dueDate: '2026-01-31' });
    expect(verdict(det({ status: 'Fixed', lastFixed: '2026-02-01T00:30:00Z' }), commercial('2026-03-01'))).toMatchObject({ verdict: 'fixed-late', daysOver: 1 });
  });

  it('open on day 30 is within the SLA, on day 31 overdue', () => {
    expect(verdict(det({}), commercial('2026-01-31'))).toMatchObject({ verdict: 'open-within-sla', daysOver: 0 });
    expect(verdict(det({}), commercial('2026-02-01'))).toMatchObject({ verdict: 'overdue', daysOver: 1 });
  });

  it('a fix after the as-of date leaves the detection open on that date', () => {
    expect(verdict(det({ status: 'Fixed', lastFixed: '2026-03-10T00:00:00Z' }), commercial('2026-01-20'))).toMatchObject({ verdict: 'open-within-sla' });
    expect(verdict(det({ status: 'Fixed', lastFixed: '2026-03-10T00:00:00Z' }), commercial('2026-02-20'))).toMatchObject({ verdict: 'overdue', daysOver: 20 });
  });

  it('a re-open restarts the clock, except in strict mode; a re-open after the as-of date does not count yet', () => {
    const reopened = det({ status: 'Re-Opened', firstFound: '2025-01-01T00:00:00Z', lastFixed: '2025-12-01T00:00:00Z', lastReopened: '2026-01-10T00:00:00Z' });
    expect(verdict(reopened, commercial('2026-01-20'))).toMatchObject({ verdict: 'open-within-sla', dueDate: '2026-02-09' });
    expect(verdict(reopened, commercial('2026-01-20', true))).toMatchObject({ verdict: 'overdue', daysOver: 354 });
    // On 2026-01-05 it was still fixed (since 2025-12-01), 334 days after it was found.
    expect(verdict(reopened, commercial('2026-01-05'))).toMatchObject({ verdict: 'fixed-late', daysOver: 304 });
  });

  it('lists disabled and ignored detections as exceptions, and leaves out Info and the not yet found', () => {
    expect(verdict(det({ disabled: true }), commercial('2026-03-01'))).toMatchObject({ verdict: 'overdue', exception: 'disabled' });
    expect(verdict(det({ ignored: true }), commercial('2026-01-02'))).toMatchObject({ exception: 'ignored' });
    expect(verdict(det({ type: 'Info' }), commercial('2026-03-01'))).toBe('info');
    expect(verdict(det({}), commercial('2025-12-31'))).toBe('found-after-as-of');
  });

  it('applies each policy by the recorded severity mapping, and custom policies from JSON', () => {
    const critical = det({ severity: 5 });
    expect(verdict(critical, { asOf: '2026-01-20', policy: BUILT_IN_POLICIES.commercial!, strict: false })).toMatchObject({ verdict: 'overdue', daysOver: 4 });
    expect(verdict(critical, { asOf: '2026-01-20', policy: BUILT_IN_POLICIES.fedramp!, strict: false })).toMatchObject({ verdict: 'open-within-sla' });
    expect(verdict(det({ severity: 2 }), { asOf: '2026-05-01', policy: BUILT_IN_POLICIES['pci-dss']!, strict: false })).toMatchObject({ verdict: 'overdue', daysOver: 30 });
    const custom = parsePolicy('{"name":"ours","days":{"critical":7,"high":10,"medium":60,"low":120}}');
    expect(verdict(det({}), { asOf: '2026-01-12', policy: custom, strict: false })).toMatchObject({ verdict: 'overdue', daysOver: 1 });
    expect(() => parsePolicy('{"days":{"critical":-1,"high":1,"medium":1,"low":1}}')).toThrow('custom policy days.critical: must not be negative');
    expect(() => parsePolicy('nist')).toThrow(/unknown policy "nist"/);
  });

  it('says so when the fetcher left Fixed detections out', () => {
    expect(fixedDetectionsWarning({ action: 'list' })).toMatch(/did not ask for Fixed detections/);
    expect(fixedDetectionsWarning({ status: 'New,Active' })).toMatch(/asked only for New,Active detections/);
    expect(fixedDetectionsWarning({ status: 'New,Fixed' })).toBeNull();
  });

  it('streams JSON with the exception list before the counts', async () => {
    async function* hosts() {
      yield [{ id: 1, ip: '10.0.0.1', start: 0, end: 0, detections: [det({}), det({ qid: 2, status: 'Fixed', lastFixed: '2026-01-05T00:00:00Z' }), det({ qid: 3, disabled: true })] }];
    }
    let text = '';
    for await (const chunk of slaReport(hosts(), commercial('2026-03-01'), { format: 'json', head: { evidenceId: 'e' }, warnings: [] })) text += chunk;
    const report = JSON.parse(text);
    expect(Object.keys(report)).toEqual(['evidenceId', 'exceptions', 'asOf', 'policy', 'severityMapping', 'counts', 'withinSlaPercent', 'warnings']);
    expect(report.exceptions.map((e: { reason: string; qid: number }) => [e.reason, e.qid])).toEqual([
      ['overdue', 100],
      ['disabled', 3],
    ]);
    expect(report.counts.total).toEqual({ 'on-time': 1, 'fixed-late': 0, overdue: 1, 'open-within-sla': 0 });
    expect(report.withinSlaPercent).toBe(50);
    expect(report.severityMapping).toEqual({ '1': 'low', '2': 'low', '3': 'medium', '4': 'high', '5': 'critical' });
  });
});

function xmlOf(hosts: Array<{ id: number; detections: Array<Partial<Detection>> }>): Buffer {
  const body = hosts
    .map(
      (h) =>
        `<HOST><ID>${h.id}</ID><IP>10.0.0.${h.id}</IP><DETECTION_LIST>${h.detections
          .map((d) => {
            const x = det(d);
            return `<DETECTION><QID>${x.qid}</QID><TYPE>${x.type}</TYPE><SEVERITY>${x.severity}</SEVERITY><PORT>${x.port}</PORT><PROTOCOL>${x.protocol}</PROTOCOL><SSL>${x.ssl}</SSL><RESULTS><![CDATA[<ID>999</ID>]]></RESULTS><STATUS>${x.status}</STATUS><FIRST_FOUND_DATETIME>${x.firstFound}</FIRST_FOUND_DATETIME>${x.lastReopened ? `<LAST_REOPENED_DATETIME>${x.lastReopened}</LAST_REOPENED_DATETIME>` : ''}</DETECTION>`;
          })
          .join('')}</DETECTION_LIST></HOST>`,
    )
    .join('');
  return Buffer.from(`<?xml version="1.0"?><HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>x</DATETIME><HOST_LIST>${body}</HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>`);
}

describe('the diff of two pulls', () => {
  it('classifies each detection change by host and detection key', async () => {
    const before = xmlOf([
      { id: 1, detections: [{ qid: 10 }, { qid: 11 }, { qid: 12, status: 'Fixed' }, { qid: 13 }, { qid: 14, port: '80' }] },
      { id: 2, detections: [{ qid: 20, severity: 5 }] },
      { id: 3, detections: [{ qid: 30 }] },
    ]);
    const after = xmlOf([
      { id: 1, detections: [{ qid: 14, port: '443' }, { qid: 10 }, { qid: 11, status: 'Fixed' }, { qid: 12, status: 'Re-Opened', lastReopened: '2026-02-01T00:00:00Z' }, { qid: 15, severity: 5 }] },
      { id: 3, detections: [{ qid: 30 }] },
      { id: 4, detections: [{ qid: 40, severity: 3 }] },
    ]);
    const changes: string[] = [];
    const summary = await diffHosts(readHosts(Readable.from([before]), 'XML'), readHosts(Readable.from([after]), 'XML'), (c) => changes.push(`${c.change} ${c.hostId}/${c.detection.qid}:${c.detection.port}`));
    expect(changes).toEqual(['fixed 1/11:443', 'reopened 1/12:443', 'absent 1/13:443', 'absent 1/14:80', 'new 1/14:443', 'new 1/15:443', 'new 4/40:443']);
    expect(summary.hosts).toEqual({ inBoth: 2, appeared: 1, disappeared: 1, firstAppeared: [4], firstDisappeared: [2] });
    expect(summary.detections['new']).toEqual({ total: 3, bySeverity: { '1': 0, '2': 0, '3': 1, '4': 1, '5': 1 } });
    expect(summary.detections['still-open'].total).toBe(2);
    expect(summary.detections.onDisappearedHosts).toEqual({ total: 1, bySeverity: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 1 } });
  });
});

describe('on sealed simulator evidence', () => {
  let stack: RunStack;
  beforeAll(async () => {
    stack = await startRunStack({ simulator: { hosts: 300 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function evidenceOf(filters: HostListDetectionFiltersInput): Promise<{ row: EvidenceRow; params: Record<string, string> }> {
    const fetcher = await stack.addHldFetcher(await stack.addConnection(), filters, { pageSize: 70 });
    const { result } = await stack.runToEnd(fetcher);
    const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse(filters), { apiVersion: '5.0', truncationLimit: 70 });
    return { row: (await getEvidence(stack.database.db, result.evidence.evidenceId))!, params };
  }

  /** SLA counts straight from the simulator's generator, with the rules written out again in seconds. */
  function independentSla(params: Record<string, string>, asOf: string, days: Record<number, number>) {
    const data = stack.sim.dataset;
    const query = parseHldQuery(Params.fromRecord({ action: 'list', ...params }), '5.0', data, data.clock.nowMs());
    const matcher = new HldMatcher(data, query);
    const counts = { 'on-time': 0, 'fixed-late': 0, overdue: 0, 'open-within-sla': 0 };
    const asOfDay = Date.parse(`${asOf}T00:00:00Z`) / 86_400_000;
    const day = (ago: number) => Math.floor((data.anchorSec - ago) / 86_400);
    while (matcher.next()) {
      const d = matcher.detections;
      for (let m = 0; m < matcher.matchedCount; m++) {
        const k = matcher.matched[m]!;
        const qi = d.qidIndex[k]!;
        if (data.catalog.type[qi] === TYPE_INFO) continue;
        const status = DETECTION_STATUSES[d.status[k]!];
        const start = status === 'Re-Opened' ? day(d.reopenedAgo[k]!) : day(d.firstFoundAgo[k]!);
        const allowed = days[data.catalog.severity[qi]!]!;
        if (status === 'Fixed') counts[day(d.lastFixedAgo[k]!) - start <= allowed ? 'on-time' : 'fixed-late']++;
        else counts[asOfDay - start <= allowed ? 'open-within-sla' : 'overdue']++;
      }
    }
    return counts;
  }

  it('counts SLA verdicts on real evidence exactly as an independent count from the simulator data', async () => {
    const { row, params } = await evidenceOf({ statuses: ['New', 'Active', 'Re-Opened', 'Fixed'], extraParams: { show_reopened_info: 1 } });
    const { hosts, manifest } = await openEvidenceHosts(databaseEvidenceSource(row, stack.blobStore));
    expect(fixedDetectionsWarning(manifest.qualys.params)).toBeNull();
    const asOf = new Date(stack.sim.dataset.anchorSec * 1000).toISOString().slice(0, 10);
    const summary = await slaSummary(hosts, { asOf, policy: BUILT_IN_POLICIES.commercial!, strict: false }, []);
    const expected = independentSla(params, asOf, { 5: 15, 4: 30, 3: 90, 2: 180, 1: 180 });
    expect(summary.counts.total).toEqual(expected);
    expect(expected.overdue + expected['on-time'] + expected['fixed-late']).toBeGreaterThan(100);
    expect(Object.values(expected).filter((n) => n > 0).length).toBeGreaterThanOrEqual(3);
  });

  it('diffs two pulls: detections of a widened filter are new, the rest still open, hosts appearing counted', async () => {
    const statuses: Array<'New' | 'Active' | 'Re-Opened' | 'Fixed'> = ['New', 'Active', 'Re-Opened', 'Fixed'];
    const a = await evidenceOf({ severities: [4, 5], statuses });
    const b = await evidenceOf({ severities: [3, 4, 5], statuses });
    const [ea, eb] = [stack.sim.dataset.expected(a.params), stack.sim.dataset.expected(b.params)];
    const sev3 = eb.bySeverityStatusType['3'];
    const sum = (s: Record<string, number>) => Object.values(s).reduce((x, y) => x + y, 0);
    const open45 = (['4', '5'] as const).reduce((n, s) => n + ea.bySeverityStatusType[s].New.Confirmed + sum(ea.bySeverityStatusType[s].New) - ea.bySeverityStatusType[s].New.Confirmed + sum(ea.bySeverityStatusType[s].Active) + sum(ea.bySeverityStatusType[s]['Re-Opened']), 0);
    const summary = await diffHosts(
      (await openEvidenceHosts(databaseEvidenceSource(a.row, stack.blobStore))).hosts,
      (await openEvidenceHosts(databaseEvidenceSource(b.row, stack.blobStore))).hosts,
    );
    expect(summary.hosts).toMatchObject({ inBoth: ea.hosts, appeared: eb.hosts - ea.hosts, disappeared: 0 });
    expect(summary.detections['new'].total).toBe(sum(sev3.New) + sum(sev3.Active));
    expect(summary.detections.reopened.total).toBe(sum(sev3['Re-Opened']));
    expect(summary.detections['still-open'].total).toBe(open45);
    expect(summary.detections.fixed.total + summary.detections.absent.total).toBe(0);

    const cli = await run(process.execPath, ['--import', 'tsx', 'scripts/diff.ts', a.row.id, b.row.id], { env: { ...process.env, DATABASE_URL: stack.databaseUrl!, BLOB_DIR: stack.blobDir } });
    expect(JSON.parse(cli.stdout.trim().split('\n').at(-1)!).detections['new'].total).toBe(summary.detections['new'].total);
    const sla = await run(process.execPath, ['--import', 'tsx', 'scripts/sla.ts', a.row.id, '--as-of', '2026-11-01', '--policy', 'fedramp'], { env: { ...process.env, DATABASE_URL: stack.databaseUrl!, BLOB_DIR: stack.blobDir } });
    const report = JSON.parse(sla.stdout);
    expect(report.policy.name).toBe('fedramp');
    expect(report.counts.assessed).toBeGreaterThan(0);
    expect(report.exceptions.length).toBe(report.counts.total.overdue + report.counts.total['fixed-late']);
  });
});
