import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { HLD_PATH, call, pullAllXml, readHldXml } from './simulator-support.js';

const NOW = '2026-03-01T12:00:00Z';
const HOST_ORDER = [
  'ID', 'ASSET_ID', 'IP', 'IPV6', 'TRACKING_METHOD', 'OS', 'OS_CPE', 'DNS', 'DNS_DATA', 'CLOUD_PROVIDER', 'CLOUD_SERVICE',
  'CLOUD_RESOURCE_ID', 'EC2_INSTANCE_ID', 'NETBIOS', 'QG_HOSTID', 'LAST_SCAN_DATETIME', 'LAST_VM_SCANNED_DATE',
  'LAST_VM_SCANNED_DURATION', 'LAST_VM_AUTH_SCANNED_DATE', 'LAST_VM_AUTH_SCANNED_DURATION', 'LAST_PC_SCANNED_DATE',
  'DETECTION_LIST',
];
const DETECTION_ORDER = [
  'UNIQUE_VULN_ID', 'QID', 'TYPE', 'SEVERITY', 'PORT', 'PROTOCOL', 'SSL', 'RESULTS', 'STATUS', 'FIRST_FOUND_DATETIME',
  'LAST_FOUND_DATETIME', 'QDS', 'QDS_FACTORS', 'TIMES_FOUND', 'LAST_TEST_DATETIME', 'LAST_UPDATE_DATETIME', 'LAST_FIXED_DATETIME',
  'FIRST_REOPENED_DATETIME', 'LAST_REOPENED_DATETIME', 'TIMES_REOPENED', 'IS_IGNORED', 'IS_DISABLED',
  'AFFECT_RUNNING_KERNEL', 'LAST_PROCESSED_DATETIME',
];

/** True when `names` appear in the order `order` lists them. */
function inOrder(names: string[], order: string[]): boolean {
  const positions = names.map((n) => order.indexOf(n));
  return positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!));
}

describe('simulator: Host List Detection XML', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 300, seed: 11, now: NOW });
  });
  afterAll(() => sim.close());

  it('answers a Qualys-shaped document: declaration, DOCTYPE on the API host, root, DATETIME, trailing comment', async () => {
    const res = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '5' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/xml');
    const text = await res.text();
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM "')).toBe(true);
    const page = readHldXml(text);
    expect(page.doc.root.name).toBe('HOST_LIST_VM_DETECTION_OUTPUT');
    expect(page.doc.doctype).toContain(`${sim.url}/api/5.0/fo/asset/host/vm/detection/`);
    expect(page.doc.root.children.map((c) => c.name)).toEqual(['RESPONSE']);
    expect(page.doc.comments.some((c) => c.includes('CONFIDENTIAL AND PROPRIETARY'))).toBe(true);
    expect(page.datetime).toBe('2026-03-01T12:00:00Z');
    expect(page.hosts).toHaveLength(5);
    for (const host of page.hosts) {
      expect(inOrder(host.children, HOST_ORDER)).toBe(true);
      expect(host.detections.length).toBeGreaterThan(0);
      for (const d of host.detections) {
        expect(inOrder(d.children, DETECTION_ORDER)).toBe(true);
        expect(['Confirmed', 'Potential']).toContain(d.type);
        expect(d.severity).toBeGreaterThanOrEqual(1);
        expect(d.severity).toBeLessThanOrEqual(5);
        expect(['New', 'Active', 'Re-Opened']).toContain(d.status);
      }
    }
    const ids = page.hosts.map((h) => h.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('puts text in CDATA with entity escapes inside, and RESULTS byte-faithful to the data', async () => {
    const pages = await pullAllXml(sim, { truncation_limit: '0', show_igs: '1', status: 'New,Active,Fixed,Re-Opened' });
    const text = await (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '0', show_igs: '1', status: 'New,Active,Fixed,Re-Opened' })).text();
    expect(text).toContain('&apos;');
    expect(text).toMatch(/<RESULTS><!\[CDATA\[[^\]]*&amp;/);
    expect(Buffer.byteLength(text)).toBeGreaterThan(text.length); // multi-byte UTF-8 present
    const [page] = pages;
    let checked = 0;
    for (const host of page!.hosts.slice(0, 40)) {
      const detail = sim.dataset.hostDetail(host.id)!;
      expect(host.os).toBe(detail.os);
      for (const d of host.detections) {
        const expected = detail.detections.find((x) => x.qid === d.qid)!;
        expect(d.results).toBe(expected.results);
        expect(d.status).toBe(expected.statusWritten ? expected.status : null);
        expect(d.severity).toBe(expected.severityWritten ? expected.severity : null);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('follows the truncation chain over every matching host exactly once, with totals equal to dataset.expected()', async () => {
    const params = { truncation_limit: '37', severities: '2-5' };
    const pages = await pullAllXml(sim, params);
    const expected = sim.dataset.expected(params);
    expect(pages).toHaveLength(expected.pages);
    const ids = pages.flatMap((p) => p.hosts.map((h) => h.id));
    expect(ids).toEqual(expected.hostIds);
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages.flatMap((p) => p.hosts).reduce((n, h) => n + h.detections.length, 0)).toBe(expected.detections);
    for (const [i, page] of pages.entries()) {
      if (i === pages.length - 1) {
        expect(page.warning).toBeNull();
        continue;
      }
      expect(page.hosts).toHaveLength(37);
      expect(page.warning!.code).toBe('1980');
      expect(page.warning!.text).toBe('37 record limit exceeded. Use URL to get next batch of results.');
      const url = new URL(page.warning!.url);
      expect(url.origin).toBe(sim.url);
      expect(url.pathname).toBe(HLD_PATH);
      expect(url.searchParams.get('id_min')).toBe(String(expected.pageIdMins[i]));
      expect(url.searchParams.get('severities')).toBe('2-5');
    }
    const severities = pages.flatMap((p) => p.hosts.flatMap((h) => h.detections.map((d) => d.severity)));
    for (const s of [2, 3, 4, 5] as const) expect(severities.filter((x) => x === s)).toHaveLength(expected.severity[String(s) as '2']);
    expect(severities.filter((x) => x === null)).toHaveLength(expected.severity.none);
  });

  it('defaults truncation_limit to 1000 hosts and treats 0 as no limit', async () => {
    const big = await startSimulator({ hosts: 1200, now: NOW });
    try {
      const first = readHldXml(await (await call(big, HLD_PATH, { action: 'list', show_results: '0' })).text());
      expect(first.hosts).toHaveLength(1000);
      expect(first.warning?.code).toBe('1980');
      const all = readHldXml(await (await call(big, HLD_PATH, { action: 'list', show_results: '0', truncation_limit: '0' })).text());
      expect(all.warning).toBeNull();
      expect(all.hosts).toHaveLength(big.dataset.expected({}).hosts);
    } finally {
      await big.close();
    }
  });

  it('omits HOST_LIST entirely when nothing matches', async () => {
    const page = readHldXml(await (await call(sim, HLD_PATH, { action: 'list', qids: '1-5' })).text());
    expect(page.hasHostList).toBe(false);
    expect(page.warning).toBeNull();
    expect(page.hosts).toEqual([]);
  });

  it('omits RESULTS with show_results=0 and adds QDS, reopen info and ASSET_ID when asked', async () => {
    const plain = readHldXml(await (await call(sim, HLD_PATH, { action: 'list', show_results: '0', truncation_limit: '20' })).text());
    expect(plain.hosts.flatMap((h) => h.detections).every((d) => d.results === null)).toBe(true);
    const rich = readHldXml(
      await (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '50', show_qds: '1', show_reopened_info: '1', show_asset_id: '1' })).text(),
    );
    const detections = rich.hosts.flatMap((h) => h.detections);
    expect(detections.every((d) => d.children.includes('QDS'))).toBe(true);
    expect(detections.filter((d) => d.status === 'Re-Opened').every((d) => d.children.includes('TIMES_REOPENED'))).toBe(true);
    expect(rich.hosts.every((h) => h.children[1] === 'ASSET_ID')).toBe(true);
  });

  it('echoes the request with echo_request=1', async () => {
    const page = readHldXml(await (await call(sim, HLD_PATH, { action: 'list', echo_request: '1', truncation_limit: '1' })).text());
    const request = page.doc.root.children[0]!;
    expect(request.name).toBe('REQUEST');
    const params = request.children.find((c) => c.name === 'PARAM_LIST')!.children.map((p) => p.children.map((c) => c.text.trim()));
    expect(params).toContainEqual(['echo_request', '1']);
    expect(request.children.find((c) => c.name === 'USER_LOGIN')!.text).toBe('demo');
  });

  it('serves API 2.0 to 5.0, GET and POST alike', async () => {
    const params = { action: 'list', truncation_limit: '10', ips: '10.0.0.1-10.0.0.120' };
    const reference = await (await call(sim, HLD_PATH, params)).text();
    expect(await (await call(sim, HLD_PATH, params, { method: 'GET' })).text()).toBe(reference);
    for (const version of ['2.0', '3.0', '4.0']) {
      const res = await call(sim, `/api/${version}/fo/asset/host/vm/detection/`, params);
      expect(res.status).toBe(200);
      const page = readHldXml(await res.text());
      expect(page.doc.doctype).toContain(`/api/${version}/`);
      expect(page.hosts.map((h) => h.id)).toEqual(readHldXml(reference).hosts.map((h) => h.id));
    }
  });

  it('answers byte-identically for the same seed, hosts and fixed clock, even from another instance', async () => {
    const params = { action: 'list', truncation_limit: '25', show_igs: '1' };
    const a = await (await call(sim, HLD_PATH, params)).arrayBuffer();
    const b = await (await call(sim, HLD_PATH, params)).arrayBuffer();
    const twin = await startSimulator({ hosts: 300, seed: 11, now: NOW });
    try {
      const c = await (await call(twin, HLD_PATH, params)).text();
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      // Only the port in the DOCTYPE and URLs differs between the two servers.
      expect(c.replaceAll(twin.url, 'BASE')).toBe(Buffer.from(a).toString('utf8').replaceAll(sim.url, 'BASE'));
    } finally {
      await twin.close();
    }
    const other = await startSimulator({ hosts: 300, seed: 12, now: NOW });
    try {
      const d = await (await call(other, HLD_PATH, params)).text();
      expect(d.replaceAll(other.url, 'BASE')).not.toBe(Buffer.from(a).toString('utf8').replaceAll(sim.url, 'BASE'));
    } finally {
      await other.close();
    }
  });

  it('includes a host over 1 MB (the giant RESULTS) in a large subscription', async () => {
    const big = await startSimulator({ hosts: 3000, now: NOW });
    try {
      const text = await (await call(big, HLD_PATH, { action: 'list', truncation_limit: '0', status: 'New,Active,Fixed,Re-Opened', show_igs: '1' })).text();
      const hostSizes = text.split('<HOST>').slice(1).map((h) => Buffer.byteLength(h));
      expect(Math.max(...hostSizes)).toBeGreaterThan(1_000_000);
    } finally {
      await big.close();
    }
  });
});
