import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import { HLD_CSV_COLUMNS } from '../simulator/render-hld-csv.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { HLD_PATH, call, readHldCsv } from './simulator-support.js';

describe('simulator: Host List Detection CSV', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 200, seed: 3, now: '2026-02-01T00:00:00Z' });
  });
  afterAll(() => sim.close());

  async function csv(params: Record<string, string>): Promise<string> {
    const res = await call(sim, HLD_PATH, { action: 'list', output_format: 'CSV', ...params });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    return res.text();
  }

  it('has header, body and footer sections, one row per detection, and a Finished footer when complete', async () => {
    const params = { truncation_limit: '0', severities: '4-5' };
    const answer = readHldCsv(await csv(params));
    expect(Object.keys(answer.sections)).toEqual(['RESPONSE_HEADER_CSV', 'RESPONSE_BODY_CSV', 'RESPONSE_FOOTER_CSV']);
    expect(Object.keys(answer.rows[0]!)).toEqual([...HLD_CSV_COLUMNS]);
    const expected = sim.dataset.expected(params);
    expect(answer.rows).toHaveLength(expected.detections);
    expect([...new Set(answer.rows.map((r) => Number(r['Host ID'])))]).toEqual(expected.hostIds);
    expect(answer.rows.filter((r) => r['Severity'] === '5')).toHaveLength(expected.severity['5']);
    expect(answer.footer).toEqual([['Status Message'], ['Finished']]);
  });

  it('keeps multi-line RESULTS with quotes intact in one quoted field', async () => {
    const answer = readHldCsv(await csv({ truncation_limit: '0', show_igs: '1' }));
    const multiLine = answer.rows.filter((r) => r['Results']!.includes('\n'));
    expect(multiLine.length).toBeGreaterThan(100);
    const quoted = answer.rows.find((r) => r['Results']!.includes('"'))!;
    const detail = sim.dataset.hostDetail(Number(quoted['Host ID']))!;
    expect(quoted['Results']).toBe(detail.detections.find((d) => d.qid === Number(quoted['QID']))!.results);
  });

  it('ends a truncated page with the Next ID and Next URL footer, and the chain covers each host once', async () => {
    const params = { truncation_limit: '30' };
    const expected = sim.dataset.expected(params);
    let current: Record<string, string> = params;
    const hostIds: number[] = [];
    let pages = 0;
    for (;;) {
      const answer = readHldCsv(await csv(current));
      pages++;
      hostIds.push(...new Set(answer.rows.map((r) => Number(r['Host ID']))));
      const [header, values] = answer.footer;
      if (values![0] === 'Finished') break;
      expect(header).toEqual(['Status Message', 'Next ID', 'Next URL']);
      expect(values![0]).toBe('Truncated');
      const next = new URL(values![2]!);
      expect(next.searchParams.get('id_min')).toBe(values![1]);
      expect(next.searchParams.get('output_format')).toBe('CSV');
      current = Object.fromEntries(next.searchParams.entries());
      delete current['action'];
    }
    expect(pages).toBe(expected.pages);
    expect(hostIds).toEqual(expected.hostIds);
  });

  it('writes a host-only row, then the detection rows with blank host columns, with suppress_duplicated_data_from_csv=1', async () => {
    const params = { truncation_limit: '0', suppress_duplicated_data_from_csv: '1', severities: '5' };
    const answer = readHldCsv(await csv(params));
    const hostRows = answer.rows.filter((r) => r['Host ID'] !== '');
    for (const row of hostRows) {
      expect(row['IP Address']).not.toBe('');
      // A host row carries no detection at all.
      for (const column of HLD_CSV_COLUMNS.slice(HLD_CSV_COLUMNS.indexOf('QID'))) expect(row[column], column).toBe('');
    }
    const detectionRows = answer.rows.filter((r) => r['Host ID'] === '');
    for (const row of detectionRows) {
      expect(row['IP Address']).toBe('');
      expect(row['QID']).not.toBe('');
    }
    expect(answer.rows[0]!['Host ID']).not.toBe('');
    // Every host the host filters select is listed, those without a severity-5 detection as their host row alone.
    const expected = sim.dataset.expected({ ...params, output_format: 'CSV' });
    expect(hostRows.map((r) => Number(r['Host ID']))).toEqual(expected.hostIds);
    expect(hostRows).toHaveLength(sim.dataset.hostCount);
    expect(detectionRows).toHaveLength(expected.detections);
    expect(expected.detections).toBeLessThan(sim.dataset.expected({ severities: '5' }).detections + 1);
  });

  it('answers CSV_NO_METADATA as the bare table, truncated silently', async () => {
    const text = await csv({ output_format: 'CSV_NO_METADATA', truncation_limit: '5' });
    expect(text).not.toContain('----');
    const rows = parseCsv(text, { columns: true }) as Array<Record<string, string>>;
    expect(new Set(rows.map((r) => r['Host ID'])).size).toBe(5);
  });

  it('has an empty body section and a Finished footer when nothing matches', async () => {
    const text = await csv({ qids: '1-2' });
    expect(text).toBe(
      '----BEGIN_RESPONSE_HEADER_CSV\n----END_RESPONSE_HEADER_CSV\n----BEGIN_RESPONSE_BODY_CSV\n----END_RESPONSE_BODY_CSV\n' +
        '----BEGIN_RESPONSE_FOOTER_CSV\n"Status Message"\n"Finished"\n----END_RESPONSE_FOOTER_CSV\n',
    );
  });

  it('accepts the _MS_EXCEL variants', async () => {
    const text = await csv({ output_format: 'CSV_MS_EXCEL', truncation_limit: '2' });
    expect(readHldCsv(text).rows.length).toBeGreaterThan(0);
  });
});
