/**
 * The simulator produces every answer shape real Qualys answers come in, in
 * realistic proportions by default and on request (options, configure(),
 * POST /__sim/config), and dataset.expected() counts them the way the
 * connector's summaries do.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hldCsvColumns } from '../simulator/render-hld-csv.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { HLD_PATH, call, readHldCsv, readHldXml, type HldPage } from './simulator-support.js';

const NOW = '2026-06-01T00:00:00Z';
const ALL = { truncation_limit: '0', show_igs: '1', status: 'New,Active,Fixed,Re-Opened' };

describe('simulator: answer shapes', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 400, seed: 21, now: NOW });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  const xml = async (params: Record<string, string>, path = HLD_PATH): Promise<HldPage> => {
    const res = await call(sim, path, { action: 'list', ...params });
    expect(res.status).toBe(200);
    return readHldXml(await res.text());
  };
  const detections = (page: HldPage) => page.hosts.flatMap((h) => h.detections);

  it('varies detection elements by default in realistic proportions, and expected() counts the missing ones as `none`', async () => {
    const page = await xml(ALL);
    const all = detections(page);
    const expected = sim.dataset.expected(ALL);
    expect(all).toHaveLength(expected.detections);
    const info = all.filter((d) => d.type === 'Info');
    const others = all.filter((d) => d.type !== 'Info');
    const share = (list: typeof all, test: (d: (typeof all)[number]) => boolean) => list.filter(test).length / list.length;
    expect(share(others, (d) => !d.children.includes('PORT'))).toBeGreaterThan(0.2);
    expect(share(others, (d) => !d.children.includes('PORT'))).toBeLessThan(0.4);
    expect(share(info, (d) => !d.children.includes('PORT'))).toBeGreaterThan(0.45);
    for (const d of all.filter((x) => !x.children.includes('PORT'))) expect(d.children).not.toContain('PROTOCOL');
    const noSeverity = all.filter((d) => d.severity === null);
    const noStatus = all.filter((d) => d.status === null);
    expect(noSeverity.length).toBeGreaterThan(0);
    expect(noStatus.length).toBeGreaterThan(0);
    expect([...noSeverity, ...noStatus].every((d) => d.type === 'Info')).toBe(true);
    expect(noSeverity.length).toBe(expected.severity.none);
    expect(noStatus.length).toBe(expected.status.none);
    for (const counts of [expected.severity, expected.status, expected.type]) {
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(expected.detections);
    }
  });

  it('writes every information-gathered detection without SEVERITY and STATUS on request, and none without PORT when asked so', async () => {
    sim.configure({ shapes: { igWithoutSeverityShare: 1, igWithoutStatusShare: 1, portlessShare: 0, igPortlessShare: 0 } });
    const page = await xml(ALL);
    for (const d of detections(page)) {
      expect(d.children.includes('SEVERITY')).toBe(d.type !== 'Info');
      expect(d.children.includes('STATUS')).toBe(d.type !== 'Info');
      expect(d.children).toContain('PORT');
    }
    const expected = sim.dataset.expected(ALL);
    expect(expected.severity.none).toBe(expected.type.Info);
    expect(expected.status.none).toBe(expected.type.Info);
  });

  it('reports agent hosts without scan durations, other hosts with them, and IPV6 on dual-stack hosts', async () => {
    const page = await xml(ALL);
    const agents = page.hosts.filter((h) => sim.dataset.hostDetail(h.id)!.trackingMethod === 'AGENT');
    expect(agents.length).toBeGreaterThan(20);
    for (const host of page.hosts) {
      const detail = sim.dataset.hostDetail(host.id)!;
      const agent = detail.trackingMethod === 'AGENT';
      expect(host.children.includes('LAST_VM_SCANNED_DURATION'), `host ${host.id}`).toBe(!agent);
      if (agent) {
        expect(host.children).toContain('LAST_VM_AUTH_SCANNED_DATE');
        expect(host.children).not.toContain('LAST_VM_AUTH_SCANNED_DURATION');
      }
      expect(host.children.includes('IPV6')).toBe(detail.ipv6 !== '');
    }
    const dualStack = page.hosts.filter((h) => h.children.includes('IPV6')).length / page.hosts.length;
    expect(dualStack).toBeGreaterThan(0.05);
    expect(dualStack).toBeLessThan(0.3);
  });

  it('orders detection elements by API version: TIMES_FOUND after IS_DISABLED on 2.0, before LAST_TEST_DATETIME from 3.0', async () => {
    for (const version of ['2.0', '3.0', '5.0']) {
      const page = await xml({ truncation_limit: '5' }, `/api/${version}/fo/asset/host/vm/detection/`);
      for (const d of detections(page)) {
        const times = d.children.indexOf('TIMES_FOUND');
        expect(times > d.children.indexOf('IS_DISABLED')).toBe(version === '2.0');
        expect(times < d.children.indexOf('LAST_TEST_DATETIME')).toBe(version !== '2.0');
      }
    }
  });

  it('wraps the root in comments on a trial subscription (XML data answers), and not otherwise', async () => {
    const plain = await (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '1' })).text();
    expect(plain.indexOf('<!--')).toBeGreaterThan(plain.indexOf('</HOST_LIST_VM_DETECTION_OUTPUT>'));
    sim.configure({ shapes: { trial: true } });
    for (const path of [HLD_PATH, '/api/2.0/fo/asset/group/', '/api/5.0/fo/asset/host/', '/api/2.0/fo/knowledge_base/vuln/']) {
      const text = await (await call(sim, path, { action: 'list', truncation_limit: '1' })).text();
      const root = /<([A-Z_]+_OUTPUT)>/.exec(text)![1]!;
      const before = text.slice(0, text.indexOf(`<${root}>`));
      const after = text.slice(text.indexOf(`</${root}>`));
      expect(before, path).toMatch(/<!--[^]*-->\n$/);
      expect(after.match(/<!--/g), path).toHaveLength(2);
    }
    const page = readHldXml(await (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '2' })).text());
    expect(page.doc.comments).toHaveLength(3);
  });

  it('answers CSV with the columns of the API version: 32 on 2.0, 34 on 3.0, 38 on 4.0 and 5.0', async () => {
    for (const [version, count] of [['2.0', 32], ['3.0', 34], ['4.0', 38], ['5.0', 38]] as const) {
      const text = await (await call(sim, `/api/${version}/fo/asset/host/vm/detection/`, { action: 'list', output_format: 'CSV', truncation_limit: '3' })).text();
      const answer = readHldCsv(text);
      const columns = Object.keys(answer.rows[0]!);
      expect(columns, version).toHaveLength(count);
      const expected = hldCsvColumns(version);
      expect(columns).toEqual([...expected.host, ...expected.detection]);
    }
  });

  it('leaves CSV cells bare where nothing needs quoting on request, and the table reads the same', async () => {
    const params = { action: 'list', output_format: 'CSV', truncation_limit: '15', show_igs: '1' };
    const quoted = await (await call(sim, HLD_PATH, params)).text();
    sim.configure({ shapes: { csvUnquoted: true } });
    const bare = await (await call(sim, HLD_PATH, params)).text();
    expect(bare.length).toBeLessThan(quoted.length);
    const firstRow = bare.split('\n')[4]!;
    expect(firstRow).toMatch(/^\d+,\d+\.\d+\.\d+\.\d+,[A-Z0-9]+,/);
    expect(readHldCsv(bare).rows).toEqual(readHldCsv(quoted).rows);
  });

  it('is set over HTTP too: POST /__sim/config with shapes, shown by GET, restored by reset', async () => {
    const post = await fetch(`${sim.url}/__sim/config`, { method: 'POST', body: JSON.stringify({ shapes: { trial: true, portlessShare: 1 } }) });
    expect(post.status).toBe(200);
    expect(((await post.json()) as { shapes: { trial: boolean; portlessShare: number } }).shapes).toMatchObject({ trial: true, portlessShare: 1 });
    const bad = await fetch(`${sim.url}/__sim/config`, { method: 'POST', body: JSON.stringify({ shapes: { portlessShare: 2 } }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: Array<{ field: string }> }).issues[0]!.field).toBe('shapes.portlessShare');
    sim.reset();
    const current = (await (await fetch(`${sim.url}/__sim/config`)).json()) as { shapes: { trial: boolean } };
    expect(current.shapes.trial).toBe(false);
  });

  it('keeps answers byte-identical for the same seed, clock and shapes', async () => {
    sim.configure({ shapes: { csvUnquoted: true, igWithoutStatusShare: 0.5 } });
    const params = { action: 'list', output_format: 'CSV', truncation_limit: '20', show_igs: '1' };
    const a = await (await call(sim, HLD_PATH, params)).text();
    const b = await (await call(sim, HLD_PATH, params)).text();
    expect(a).toBe(b);
    const rows = parseCsv(a.split('----BEGIN_RESPONSE_BODY_CSV\n')[1]!.split('----END')[0]!, { columns: true }) as Array<Record<string, string>>;
    expect(rows.some((r) => r['Type'] === 'Info' && r['Status'] === '')).toBe(true);
  });
});

describe('simulator: IPv4 and IPv6 filters', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 600, seed: 5, now: NOW });
  });
  afterAll(() => sim.close());

  it('selects dual-stack hosts by ipv6 (in any spelling) and ANDs ips with ipv6, as Qualys combines every filter', async () => {
    const dual = sim.dataset.hostIds().map((id) => sim.dataset.hostDetail(id)!).filter((h) => h.ipv6 !== '');
    expect(dual.length).toBeGreaterThan(30);
    const [a, b, c] = dual;
    const long = (v6: string) => v6.replace('2001:db8:', '2001:0DB8:0000:');
    const params = { truncation_limit: '0', status: 'New,Active,Fixed,Re-Opened', show_igs: '1' };
    const byV6 = readHldXml(await (await call(sim, HLD_PATH, { action: 'list', ...params, ipv6: `${a!.ipv6},${long(b!.ipv6)}` })).text());
    expect(byV6.hosts.map((h) => h.id)).toEqual([a!.id, b!.id].filter((id) => sim.dataset.expected({ ...params, ids: String(id) }).hosts === 1));
    // Both filters: only a host matching one of each.
    const both = sim.dataset.expected({ ...params, ips: `${a!.ip},${c!.ip}`, ipv6: `${a!.ipv6},${b!.ipv6}` });
    expect(both.hostIds).toEqual([a!.id]);
    const none = sim.dataset.expected({ ...params, ips: c!.ip, ipv6: b!.ipv6 });
    expect(none.hosts).toBe(0);
    const res = await call(sim, HLD_PATH, { action: 'list', ipv6: '2001:db8::1-2001:db8::9' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('IPv6 ranges are not accepted');
  });
});
