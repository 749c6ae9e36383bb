/**
 * Fetcher runs of the Host List Detection kind through Temporal, with real
 * activities against the simulator: XML and CSV, one page and many pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SaxesParser } from 'saxes';
import { parse as parseCsv } from 'csv-parse/sync';
import { listAttachmentsFor } from '../db/attachments.js';
import { findControl } from '../db/controls.js';
import { getEvidence } from '../db/evidence.js';
import { listRunPages } from '../db/run-pages.js';
import { getRun } from '../db/runs.js';
import { createRequest } from '../db/requests.js';
import { buildHostListDetectionParams, hostListDetectionFiltersSchema } from '../qualys/hld-params.js';
import { startRunStack, type RunStack } from './support/run-stack.js';
import { currentPeriod } from './support/period.js';

let stack: RunStack;

beforeAll(async () => {
  // One range: this file checks the sequential page chain; test/run-range-pulls.test.ts checks ranges.
  stack = await startRunStack({ simulator: { hosts: 300 }, rangePulls: { maxParallel: 1 } });
});
afterAll(async () => {
  await stack?.close();
});

async function readBlob(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stack.blobStore.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function expectedFor(filters: Parameters<typeof hostListDetectionFiltersSchema.parse>[0], pageSize: number) {
  const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse(filters), { apiVersion: '5.0', truncationLimit: pageSize });
  return stack.sim.dataset.expected(params);
}

/** Host IDs in document order, with how often each appears. */
function hostIdsInXml(xml: string): number[] {
  const ids: number[] = [];
  const parser = new SaxesParser();
  let path: string[] = [];
  let text = '';
  parser.on('opentag', (t) => {
    path.push(t.name);
    text = '';
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (t) => {
    if (t.name === 'ID' && path.at(-2) === 'HOST') ids.push(Number(text.trim()));
    path = path.slice(0, -1);
  });
  parser.write(xml).close();
  return ids;
}

describe('Host List Detection runs', () => {
  it('pulls dozens of XML pages into one sealed document with every host exactly once, and files it', async () => {
    const connection = await stack.addConnection();
    const filters = { severities: [3, 4, 5], statuses: ['New', 'Active', 'Re-Opened', 'Fixed'] as const };
    const fetcher = await stack.addHldFetcher(connection, { ...filters, statuses: [...filters.statuses] }, {
      pageSize: 4,
      controls: [
        ['PCI DSS v3.2.1', '11.2'],
        ['FedRAMP Moderate', 'RA-5'],
      ],
    });
    const pci = (await findControl(stack.database.db, 'PCI DSS v3.2.1', '11.2'))!;
    const request = await createRequest(stack.database.db, {
      title: 'Q4 PCI evidence',
      ...currentPeriod(),
      dueDate: '2027-01-15',
      controlIds: [pci.id],
    });

    const expected = expectedFor({ ...filters, statuses: [...filters.statuses] }, 4);
    expect(expected.pages).toBeGreaterThan(50);

    const { run, result } = await stack.runToEnd(fetcher);
    expect(result.status).toBe('succeeded');
    expect(result.totals.pages).toBe(expected.pages);
    expect(result.totals.hosts).toBe(expected.hosts);
    expect(result.totals.detections).toBe(expected.detections);

    const evidence = (await getEvidence(stack.database.db, result.evidence.evidenceId))!;
    expect(evidence.format).toBe('XML');
    expect(evidence.complete).toBe(true);
    const summary = evidence.summary as Record<string, unknown>;
    expect(summary.hosts).toBe(expected.hosts);
    expect(summary.detections).toBe(expected.detections);
    expect(summary.severity).toEqual(expected.severity);
    expect(summary.status).toEqual(expected.status);
    expect(summary.type).toEqual(expected.type);

    const sealed = await readBlob(evidence.blobKey);
    expect(sealed.length).toBe(evidence.bytes);
    const xml = sealed.toString('utf8');
    const ids = hostIdsInXml(xml);
    expect(ids).toEqual(expected.hostIds);
    expect(xml).not.toContain('<WARNING>');
    expect(xml).toContain('<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT');

    // The manifest names every raw page, which stays in the blob store byte for byte.
    const manifest = evidence.manifest as { pages: Array<{ pageNo: number; blobKey: string; sha256: string; idMin: number | null }>; complete: boolean; qualys: { params: Record<string, string> } };
    expect(manifest.complete).toBe(true);
    // One range, and still reconciled with the host ID list the run took before pulling.
    const { completeness } = evidence.manifest as { completeness: { verdict: string; reconciliation: { listed: number; extra: number } } };
    expect(completeness.verdict).toBe('complete');
    expect(completeness.reconciliation).toMatchObject({ listed: 300, extra: 0 });
    expect(manifest.pages.map((p) => p.idMin)).toEqual([null, ...expected.pageIdMins]);
    expect(manifest.qualys.params).toMatchObject({ severities: '3,4,5', truncation_limit: '4' });
    expect(JSON.stringify(manifest)).not.toContain('demo-pass');
    for (const page of manifest.pages.slice(0, 3)) expect((await stack.blobStore.stat(page.blobKey))?.sha256).toBe(page.sha256);

    const pages = await listRunPages(stack.database.db, run.id);
    expect(pages.map((p) => p.pageNo)).toEqual(Array.from({ length: expected.pages }, (_, i) => i + 1));

    const row = (await getRun(stack.database.db, run.id))!;
    expect(row.status).toBe('succeeded');
    expect(row.evidenceId).toBe(evidence.id);
    expect(row.progress).toMatchObject({ pages: expected.pages, hosts: expected.hosts, detections: expected.detections });

    expect(result.attachedTo.controls.map((c) => c.code).sort()).toEqual(['11.2', 'RA-5']);
    expect(result.attachedTo.requestIds).toEqual([request.id]);
    const onControl = await listAttachmentsFor(stack.database.db, { targetType: 'control', targetId: pci.id });
    expect(onControl.items.map((a) => a.evidence.id)).toContain(evidence.id);
    const onRequest = await listAttachmentsFor(stack.database.db, { targetType: 'request', targetId: request.id });
    expect(onRequest.items.map((a) => a.evidence.id)).toEqual([evidence.id]);
  });

  it('pulls a CSV answer over several pages into one CSV with a single header and a Finished footer', async () => {
    const connection = await stack.addConnection();
    const filters = { format: 'CSV' as const, severities: [5] };
    const fetcher = await stack.addHldFetcher(connection, filters, { pageSize: 40 });
    const expected = expectedFor(filters, 40);
    expect(expected.pages).toBeGreaterThan(1);

    const { result } = await stack.runToEnd(fetcher);
    const evidence = (await getEvidence(stack.database.db, result.evidence.evidenceId))!;
    expect(evidence.format).toBe('CSV');
    expect(evidence.contentType).toBe('text/csv');
    const csv = (await readBlob(evidence.blobKey)).toString('utf8');
    expect(csv.match(/----BEGIN_RESPONSE_BODY_CSV/g)).toHaveLength(1);
    expect(csv.match(/"Host ID"/g)).toHaveLength(1);
    expect(csv).toMatch(/----BEGIN_RESPONSE_FOOTER_CSV\r?\n"Status Message"\r?\n"Finished"/);
    expect(csv).not.toContain('"Truncated"');

    const body = csv.slice(csv.indexOf('----BEGIN_RESPONSE_BODY_CSV') + 28, csv.indexOf('----END_RESPONSE_BODY_CSV'));
    const rows = parseCsv(body, { columns: true, relax_column_count: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(expected.detections);
    expect(new Set(rows.map((r) => r['Host ID'])).size).toBe(expected.hosts);
    expect(rows.every((r) => r.Severity === '5')).toBe(true);
    expect((evidence.summary as { detections: number }).detections).toBe(expected.detections);
  });

  it('handles a one-page answer and an empty result', async () => {
    const connection = await stack.addConnection();
    const onePage = await stack.addHldFetcher(connection, { ips: '10.0.0.1-10.255.255.255', severities: [1] }, { pageSize: 1000 });
    const expected = expectedFor({ ips: '10.0.0.1-10.255.255.255', severities: [1] }, 1000);
    const { result } = await stack.runToEnd(onePage);
    expect(result.totals.pages).toBe(1);
    expect(result.totals.hosts).toBe(expected.hosts);

    const empty = await stack.addHldFetcher(connection, { ips: '192.0.2.1' });
    const { result: emptyResult } = await stack.runToEnd(empty);
    expect(emptyResult.totals).toMatchObject({ pages: 1, hosts: 0, detections: 0 });
    const xml = (await readBlob(emptyResult.evidence.blobKey)).toString('utf8');
    expect(xml).not.toContain('<HOST_LIST>');
    expect(hostIdsInXml(xml)).toEqual([]);
  });
});
