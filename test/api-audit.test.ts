/**
 * The auditor routes over real HTTP with evidence from real runs: request
 * periods, manual attach and detach as events, the export zip verified
 * offline, verification, SLA, diff, coverage, and the control upgrade.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAMEWORKS } from '../db/control-catalog.js';
import { controlId } from '../db/control-catalog.js';
import { getFetcher } from '../db/fetchers.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import { currentPeriod } from './support/period.js';
import { unzipTo } from './support/unzip.js';

const run = promisify(execFile);
let stack: ApiStack;
let work: string;
let connectionId: string;
let fetcherId: string;
let inPeriod: string;
let pastPeriod: string;
let evidenceA: string;
let evidenceB: string;
const PCI_4 = controlId(FRAMEWORKS.PCI_DSS_4, '11.3.1');
const PCI_3 = controlId(FRAMEWORKS.PCI_DSS, '11.2.1');
const FEDRAMP_OLD = controlId(FRAMEWORKS.FEDRAMP_MODERATE, 'RA-5');

const api = (method: string, url: string, options: Parameters<ApiStack['request']>[2] = {}) => stack.request(method, url, options);

function expectProblem(res: Awaited<ReturnType<typeof api>>, status: number, field?: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
}

async function runFetcher(id: string): Promise<string> {
  const { result } = await stack.run.runToEnd((await getFetcher(stack.run.database.db, id))!);
  return result.evidence.evidenceId;
}

beforeAll(async () => {
  stack = await startApiStack();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-api-audit-'));
  connectionId = (await api('POST', '/v1/connections', { body: { name: 'sim', apiBaseUrl: stack.run.sim.url, username: 'demo', password: 'demo-pass' } })).body.id;
  inPeriod = (await api('POST', '/v1/requests', { body: { title: 'This quarter', ...currentPeriod(), controlIds: [PCI_4] } })).body.id;
  pastPeriod = (await api('POST', '/v1/requests', { body: { title: 'Last year', periodStart: '2020-01-01', periodEnd: '2020-12-31', controlIds: [PCI_4] } })).body.id;
  const fetcher = await api('POST', '/v1/fetchers', {
    body: { kind: 'host_list_detection', connectionId, name: 'PCI scan', filters: { severities: [3, 4, 5], statuses: ['New', 'Active', 'Re-Opened', 'Fixed'] }, pageSize: 80, controlIds: [PCI_4] },
  });
  expect(fetcher.status).toBe(201);
  fetcherId = fetcher.body.id;
  evidenceA = await runFetcher(fetcherId);
  evidenceB = await runFetcher(fetcherId);
});

afterAll(async () => {
  await stack?.close();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('audit requests and periods', () => {
  it('files new evidence only under open requests whose period holds the day it was collected', async () => {
    const current = await api('GET', `/v1/requests/${inPeriod}/evidence`);
    expect(current.body.items.map((e: { id: string }) => e.id).sort()).toEqual([evidenceA, evidenceB].sort());
    expect(current.body.items[0]).toMatchObject({ completeness: expect.stringMatching(/^(complete|unknown)$/), collectedAt: expect.any(String) });
    expect((await api('GET', `/v1/requests/${pastPeriod}/evidence`)).body.items).toEqual([]);
    const events = await api('GET', `/v1/requests/${inPeriod}/attachment-events`, { token: stack.auditorToken });
    expect(events.body.items).toHaveLength(2);
    expect(events.body.items[0]).toMatchObject({ action: 'attach', source: 'run', actor: expect.any(String), targetType: 'request', targetId: inPeriod });
  });

  it('refuses to attach evidence collected outside the period, naming the field, and to change a closed request', async () => {
    const refused = await api('POST', `/v1/requests/${pastPeriod}/evidence/${evidenceA}`);
    expectProblem(refused, 422, 'evidenceId');
    expect(refused.body.errors[0].reason).toMatch(/^was collected on \d{4}-\d{2}-\d{2}, outside the request's period 2020-01-01 to 2020-12-31$/);
    const closed = (await api('POST', '/v1/requests', { body: { title: 'Closed', ...currentPeriod() } })).body.id;
    await api('POST', `/v1/requests/${closed}/close`);
    expectProblem(await api('POST', `/v1/requests/${closed}/evidence/${evidenceA}`), 409);
    expectProblem(await api('POST', `/v1/requests/${inPeriod}/evidence/nope`), 404);
    expect((await api('GET', `/v1/requests/${pastPeriod}/attachment-events`)).body.items).toEqual([]);
  });

  it('records manual detach and attach as events with who and when; nothing is deleted', async () => {
    const request = (await api('POST', '/v1/requests', { body: { title: 'Manual', ...currentPeriod() } })).body.id;
    const attached = await api('POST', `/v1/requests/${request}/evidence/${evidenceA}`, { token: stack.auditorToken, body: { reason: 'asked by the QSA' } });
    expect(attached.status).toBe(200);
    expect(attached.body).toMatchObject({ evidenceId: evidenceA, targetType: 'request', targetId: request, detachedAt: null, changed: true });
    expect((await api('POST', `/v1/requests/${request}/evidence/${evidenceA}`)).body.changed).toBe(false);
    const detached = await api('DELETE', `/v1/requests/${request}/evidence/${evidenceA}?reason=wrong%20scope`);
    expect(detached.body).toMatchObject({ changed: true, detachedAt: expect.any(String) });
    expect((await api('GET', `/v1/requests/${request}/evidence`)).body.items).toEqual([]);
    expect((await api('DELETE', `/v1/requests/${request}/evidence/${evidenceA}`)).body.changed).toBe(false);
    expectProblem(await api('DELETE', `/v1/requests/${request}/evidence/${evidenceB}`), 404);
    await api('POST', `/v1/requests/${request}/evidence/${evidenceA}`);
    const events = (await api('GET', `/v1/requests/${request}/attachment-events`)).body.items;
    expect(events.map((e: { action: string; actor: string; reason: string | null }) => [e.action, e.actor, e.reason])).toEqual([
      ['attach', 'test-admin', null],
      ['detach', 'test-admin', 'wrong scope'],
      ['attach', 'test-auditor', 'asked by the QSA'],
    ]);
    // The evidence itself is untouched throughout.
    expect((await api('GET', `/v1/evidence/${evidenceA}`)).status).toBe(200);
  });

  it('attaches and detaches evidence on controls the same way', async () => {
    const other = controlId(FRAMEWORKS.SWIFT_CSF, '2.7');
    expect((await api('POST', `/v1/controls/${other}/evidence/${evidenceA}`)).body.changed).toBe(true);
    expect((await api('GET', `/v1/controls/${other}/evidence`)).body.items.map((e: { id: string }) => e.id)).toEqual([evidenceA]);
    expect((await api('DELETE', `/v1/controls/${other}/evidence/${evidenceA}`)).body.changed).toBe(true);
    expect((await api('GET', `/v1/controls/${other}/evidence`)).body.items).toEqual([]);
    expect((await api('GET', `/v1/controls/${other}/attachment-events`)).body.items.map((e: { action: string }) => e.action)).toEqual(['detach', 'attach']);
  });
});

describe('export', () => {
  it('streams a zip with its exact Content-Length that verifies offline', async () => {
    const res = await fetch(`${stack.baseUrl}/v1/requests/${inPeriod}/export`, { headers: { authorization: `Bearer ${stack.auditorToken}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    const zip = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(zip.length);
    const dir = path.join(work, 'export');
    const names = await unzipTo(zip, dir);
    expect(names.slice(0, 2)).toEqual(['README.txt', 'index.json']);
    const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8'));
    expect(index.evidence.map((e: { id: string }) => e.id).sort()).toEqual([evidenceA, evidenceB].sort());
    const entry = index.evidence[0];
    expect(entry).toMatchObject({ verification: 'verified', file: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, manifestSha256: entry.manifest.sha256 });
    expect(entry.pages.length).toBeGreaterThan(1);
    expect(await fs.readFile(path.join(dir, 'README.txt'), 'utf8')).toContain('npm run verify --');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', path.join(dir, entry.file.path)]);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ verdict: 'verified', sha256: entry.file.sha256 });
  });

  it('leaves the raw pages out on request: offline verification is then partial', async () => {
    const res = await fetch(`${stack.baseUrl}/v1/requests/${inPeriod}/export?pages=false&verify=false`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    const dir = path.join(work, 'export-no-pages');
    const names = await unzipTo(Buffer.from(await res.arrayBuffer()), dir);
    expect(names.some((n) => n.includes('/pages/'))).toBe(false);
    const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8'));
    expect(index.evidence[0]).toMatchObject({ pages: null, verification: null });
    const cli = await run(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', path.join(dir, index.evidence[0].file.path)]).catch((err: { code: number; stdout: string }) => err);
    expect('code' in cli && cli.code).toBe(1);
    expect(JSON.parse(cli.stdout.trim().split('\n').at(-1)!).verdict).toBe('partial');
  });
});

describe('evidence procedures', () => {
  it('verifies evidence and shows its completeness, collection time and manifest hash', async () => {
    const res = await api('GET', `/v1/evidence/${evidenceA}/verification`, { token: stack.auditorToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ evidenceId: evidenceA, verdict: 'verified', manifestVersion: 2 });
    const evidence = (await api('GET', `/v1/evidence/${evidenceA}`)).body;
    expect(evidence).toMatchObject({ manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/), scheduledFor: null, links: { verification: `/v1/evidence/${evidenceA}/verification` } });
    expect(evidence.manifest.completeness.checks.map((c: { name: string }) => c.name)).toEqual(['no-truncation', 'page-numbers', 'cursor-chain', 'host-id-list']);
    expectProblem(await api('GET', '/v1/evidence/nope/verification'), 404);
  });

  it('reports the SLA as of a date in JSON and CSV, and names a bad policy', async () => {
    const json = await api('GET', `/v1/evidence/${evidenceA}/sla?asOf=2026-11-01&policy=pci-dss`);
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ evidenceId: evidenceA, asOf: '2026-11-01', policy: { name: 'pci-dss', strict: false }, warnings: [expect.stringContaining('carry no re-open date')] });
    expect(json.body.exceptions.length).toBe(json.body.counts.total.overdue + json.body.counts.total['fixed-late']);
    const csv = await api('GET', `/v1/evidence/${evidenceA}/sla?asOf=2026-11-01&policy=pci-dss&format=csv&strict=true`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe('host_id,ip,qid,port,protocol,ssl,severity,category,status,first_found,clock_start,end,due_date,verdict,days_over,exception');
    expect(lines.length - 1).toBe(json.body.counts.assessed + json.body.counts.exceptions.disabled + json.body.counts.exceptions.ignored);
    expectProblem(await api('GET', `/v1/evidence/${evidenceA}/sla?asOf=2026-11-01&policy=${encodeURIComponent('{"days":{"critical":1}}')}`), 422, 'query.policy');
    expectProblem(await api('GET', `/v1/evidence/${evidenceA}/sla?asOf=2026-13-01&policy=fedramp`), 422, 'query.asOf');
  });

  it('diffs two pulls of the same data: nothing changed', async () => {
    const res = await api('GET', `/v1/evidence/${evidenceA}/diff/${evidenceB}`);
    expect(res.status).toBe(200);
    expect(res.body.hosts).toMatchObject({ appeared: 0, disappeared: 0 });
    expect(res.body.detections['new'].total + res.body.detections.fixed.total + res.body.detections.absent.total).toBe(0);
    expect(res.body.detections['still-open'].total).toBeGreaterThan(0);
    const csv = await api('GET', res.body.links.csv);
    expect(csv.text.trim().split('\n')).toEqual(['change,host_id,ip,qid,port,protocol,ssl,severity,type,status_before,status_after,first_found,last_fixed']);
  });
});

describe('coverage and catalog', () => {
  it('lists calendar quarters with the evidence collected in each and names the ones without', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const res = await api('GET', `/v1/controls/${PCI_4}/coverage?from=2026-01-01&to=${today}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ cadence: 'quarterly', rule: expect.stringContaining('calendar quarters'), freshness: { rule: expect.stringContaining('rolling'), state: 'fresh' } });
    const last = res.body.windows.at(-1);
    expect(last.evidence.map((e: { id: string }) => e.id).sort()).toEqual([evidenceA, evidenceB].sort());
    expect(['covered', 'unverified']).toContain(last.status);
    expect(res.body.windows[0]).toMatchObject({ start: '2026-01-01', end: '2026-03-31', label: '2026-Q1', status: 'missing', evidence: [] });
    expect(res.body.windowsWithoutCompleteEvidence).toContain('2026-Q1');
    const weekly = await api('GET', `/v1/controls/${PCI_4}/coverage?from=2026-01-01&to=2026-01-31&cadence=weekly`);
    expect(weekly.body.windows.map((w: { label: string }) => w.label)).toEqual(['2026-W01', '2026-W02', '2026-W03', '2026-W04', '2026-W05']);
    expectProblem(await api('GET', `/v1/controls/${PCI_4}/coverage?from=2026-02-01&to=2026-01-01`), 422, 'query.to');
    expectProblem(await api('GET', `/v1/controls/${controlId(FRAMEWORKS.SWIFT_CSF, '2.7')}/coverage?from=2026-01-01&to=2026-02-01`), 422, 'query.cadence');
  });

  it('re-maps a fetcher from old controls to their successors in one call', async () => {
    const fetcher = await api('POST', '/v1/fetchers', { body: { kind: 'host_list_detection', connectionId, name: 'Old mapping', filters: {}, controlIds: [PCI_3, FEDRAMP_OLD] } });
    const res = await api('POST', `/v1/fetchers/${fetcher.body.id}/controls/upgrade`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.controlIds).toEqual(
      [controlId(FRAMEWORKS.FEDRAMP_REV5, 'RA-5'), PCI_4, controlId(FRAMEWORKS.PCI_DSS_4, '11.3.1.1'), controlId(FRAMEWORKS.PCI_DSS_4, '11.3.1.2')].sort(),
    );
    expect(res.body.upgraded).toContainEqual({ from: FEDRAMP_OLD, to: controlId(FRAMEWORKS.FEDRAMP_REV5, 'RA-5') });
    expect((await api('GET', `/v1/controls/${PCI_4}`)).body.succeeds).toBe(PCI_3);
    expectProblem(await api('POST', `/v1/fetchers/${fetcher.body.id}/controls/upgrade`, { body: { controlIds: [PCI_3] } }), 422, 'controlIds');
    expectProblem(await api('POST', `/v1/fetchers/${fetcher.body.id}/controls/upgrade`, { token: stack.auditorToken }), 403);
  });
});
