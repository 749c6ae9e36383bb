/**
 * Fetcher runs through Temporal over every answer shape the simulator
 * produces, each sealed evidence file recounted by a method of its own (a
 * strict XML parse, or csv-parse over the body) and compared with both the
 * evidence summary and the simulator's expected totals.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { SaxesParser } from 'saxes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../db/evidence.js';
import { buildHostListDetectionParams, hostListDetectionFiltersSchema, type HostListDetectionFiltersInput } from '../qualys/hld-params.js';
import type { ShapeConfig } from '../simulator/shapes.js';
import { startRunStack, type RunStack } from './support/run-stack.js';

let stack: RunStack;

beforeAll(async () => {
  stack = await startRunStack({ simulator: { hosts: 240, seed: 29 } });
});
afterAll(async () => {
  await stack?.close();
});

async function readBlob(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stack.blobStore.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface Recount {
  hostIds: number[];
  detections: number;
  withoutSeverity: number;
  withoutStatus: number;
}

/** Hosts and detections by a strict XML parse, independent of the connector's reader. */
function recountXml(xml: Buffer): Recount {
  const parser = new SaxesParser();
  const stack: string[] = [];
  const out: Recount = { hostIds: [], detections: 0, withoutSeverity: 0, withoutStatus: 0 };
  let text = '';
  let seen = new Set<string>();
  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    text = '';
    if (tag.name === 'DETECTION') seen = new Set();
    if (stack.at(-2) === 'DETECTION') seen.add(tag.name);
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (tag) => {
    if (tag.name === 'ID' && stack.at(-2) === 'HOST') out.hostIds.push(Number(text));
    if (tag.name === 'DETECTION') {
      out.detections++;
      if (!seen.has('SEVERITY')) out.withoutSeverity++;
      if (!seen.has('STATUS')) out.withoutStatus++;
    }
    stack.pop();
  });
  parser.write(xml.toString('utf8')).close();
  return out;
}

/** Hosts and detections by csv-parse over the body: a host starts at each filled Host ID, a detection is a row with a QID. */
function recountCsv(csv: Buffer): Recount & { columns: number } {
  const text = csv.toString('utf8');
  const body = text.slice(text.indexOf('\n', text.indexOf('----BEGIN_RESPONSE_BODY_CSV')) + 1, text.indexOf('----END_RESPONSE_BODY_CSV'));
  const rows = parseCsv(body, { columns: true }) as Array<Record<string, string>>;
  const out = { hostIds: [] as number[], detections: 0, withoutSeverity: 0, withoutStatus: 0, columns: Object.keys(rows[0] ?? {}).length };
  for (const row of rows) {
    const id = row['Host ID'] ?? '';
    if (id !== '' && Number(id) !== out.hostIds.at(-1)) out.hostIds.push(Number(id));
    if ((row['QID'] ?? '') === '') continue;
    out.detections++;
    if ((row['Severity'] ?? '') === '') out.withoutSeverity++;
    if ((row['Status'] ?? '') === '') out.withoutStatus++;
  }
  return out;
}

interface Shape {
  name: string;
  apiVersion: '2.0' | '5.0';
  filters: HostListDetectionFiltersInput;
  shapes?: Partial<ShapeConfig>;
  columns?: number;
}

const ALL_STATUSES = ['New', 'Active', 'Re-Opened', 'Fixed'] as const;
const SHAPES: Shape[] = [
  {
    name: 'XML with detections lacking PORT, SEVERITY or STATUS',
    apiVersion: '5.0',
    filters: { statuses: [...ALL_STATUSES], extraParams: { show_igs: 1 } },
    shapes: { igWithoutSeverityShare: 0.5, igWithoutStatusShare: 0.5, portlessShare: 0.5 },
  },
  { name: 'XML in the API 2.0 element order', apiVersion: '2.0', filters: { severities: [3, 4, 5] } },
  { name: 'XML of a trial subscription (comments around the root)', apiVersion: '5.0', filters: { severities: [4, 5] }, shapes: { trial: true } },
  { name: 'XML filtered by IPv6 addresses', apiVersion: '5.0', filters: { statuses: [...ALL_STATUSES], extraParams: { show_igs: 1 } } },
  {
    name: 'CSV with suppressed duplicates (host-only rows, hosts without detections)',
    apiVersion: '5.0',
    filters: { format: 'CSV', severities: [5], extraParams: { suppress_duplicated_data_from_csv: 1, show_igs: 1 } },
    columns: 38,
  },
  { name: 'CSV of API 2.0 (32 columns) with bare cells', apiVersion: '2.0', filters: { format: 'CSV', extraParams: { show_igs: 1 } }, shapes: { csvUnquoted: true, igWithoutStatusShare: 1 }, columns: 32 },
];

describe('fetcher runs over every answer shape', () => {
  it.each(SHAPES)('seals $name, recounted independently', async (shape) => {
    stack.sim.reset();
    if (shape.shapes) stack.sim.configure({ shapes: shape.shapes });
    let filters = shape.filters;
    if (shape.name.includes('IPv6')) {
      const dual = stack.sim.dataset.hostIds().map((id) => stack.sim.dataset.hostDetail(id)!).filter((h) => h.ipv6 !== '');
      filters = { ...filters, ips: dual.slice(0, 12).map((h) => h.ipv6).join(', ') };
    }
    const connection = await stack.addConnection({ apiVersion: shape.apiVersion, name: shape.name });
    const fetcher = await stack.addHldFetcher(connection, filters, { pageSize: 40 });
    const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse(filters), { apiVersion: shape.apiVersion, truncationLimit: 40 });
    const expected = stack.sim.dataset.expected(params, shape.apiVersion);
    expect(expected.hosts).toBeGreaterThan(0);

    const { result } = await stack.runToEnd(fetcher);
    expect(result.status).toBe('succeeded');
    const evidence = (await getEvidence(stack.database.db, result.evidence.evidenceId))!;
    expect(evidence.complete).toBe(true);
    const sealed = await readBlob(evidence.blobKey);
    const recount = filters.format === 'CSV' ? recountCsv(sealed) : recountXml(sealed);
    const summary = evidence.summary as { hosts: number; detections: number; severity: Record<string, number>; status: Record<string, number> };

    expect(recount.hostIds).toEqual(expected.hostIds);
    expect(recount.detections).toBe(expected.detections);
    expect(summary.hosts).toBe(recount.hostIds.length);
    expect(summary.detections).toBe(recount.detections);
    expect(summary.severity.none).toBe(recount.withoutSeverity);
    expect(summary.status.none).toBe(recount.withoutStatus);
    expect(summary.severity).toEqual(expected.severity);
    expect(summary.status).toEqual(expected.status);
    if (shape.columns) expect((recount as Recount & { columns: number }).columns).toBe(shape.columns);
    if (shape.shapes?.trial) expect(sealed.toString('utf8')).toMatch(/-->\n<HOST_LIST_VM_DETECTION_OUTPUT>/);
  });

  it('covers the rare shapes at all: the chosen runs saw detections without severity and status, and hosts without detections', () => {
    const suppressed = stack.sim.dataset.expected({ output_format: 'CSV', severities: '5', suppress_duplicated_data_from_csv: '1', truncation_limit: '0' });
    const plain = stack.sim.dataset.expected({ severities: '5', truncation_limit: '0' });
    expect(suppressed.hosts).toBeGreaterThan(plain.hosts);
  });
});
