/**
 * What other Qualys clients call first: about.php, the host list on every API
 * version, the knowledge base list, the parameters current Qualys accepts,
 * and HTTPS with a certificate a client can verify.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQualysClient } from '../qualys/client.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { HLD_PATH, basic, call, child, childText, parseXml, readHldXml, simpleReturn, type XmlElement } from './simulator-support.js';

const NOW = '2026-06-01T00:00:00Z';

describe('simulator: other endpoints and parameters', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 250, seed: 8, now: NOW, limits: { rateLimit: 5000, concurrencyLimit: 3 } });
  });
  afterAll(() => sim.close());

  it('answers GET /msp/about.php with the versions and the limit headers, even without X-Requested-With', async () => {
    const res = await fetch(`${sim.url}/msp/about.php`, { headers: { Authorization: basic() } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(res.headers.get('x-concurrency-limit-limit')).toBe('3');
    const doc = parseXml(await res.text());
    expect(doc.root.name).toBe('ABOUT');
    expect(childText(doc.root, 'WEB-VERSION')).toMatch(/^\d+\.\d+/);
    expect(child(doc.root, 'API-VERSION')!.attributes).toMatchObject({ MAJOR: '1', MINOR: '0' });
    const refused = await fetch(`${sim.url}/msp/about.php`, { headers: { Authorization: basic('demo', 'nope') } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-ratelimit-limit')).toBeNull();
  });

  const hostList = async (version: string, params: Record<string, string>) => {
    const res = await call(sim, `/api/${version}/fo/asset/host/`, { action: 'list', ...params });
    expect(res.status).toBe(200);
    return parseXml(await res.text());
  };
  const hosts = (doc: ReturnType<typeof parseXml>): XmlElement[] => child(child(doc.root, 'RESPONSE')!, 'HOST_LIST')?.children ?? [];

  it('serves the host list on 2.0 to 5.0, with ASSET_ID on show_asset_id=1 and DNS_DATA from 3.0', async () => {
    const ids = sim.dataset.hostIds().slice(0, 40);
    for (const version of ['2.0', '3.0', '4.0', '5.0']) {
      const doc = await hostList(version, { truncation_limit: '40', show_asset_id: '1' });
      expect(doc.doctype).toContain(`/api/${version}/fo/asset/host/`);
      const list = hosts(doc);
      expect(list.map((h) => Number(childText(h, 'ID')))).toEqual(ids);
      for (const h of list) {
        expect(h.children[1]!.name).toBe('ASSET_ID');
        if (child(h, 'DNS')) expect(child(h, 'DNS_DATA') !== undefined).toBe(version !== '2.0');
      }
      expect(childText(child(child(doc.root, 'RESPONSE')!, 'WARNING')!, 'CODE')).toBe('1980');
    }
    const plain = hosts(await hostList('5.0', { truncation_limit: '3' }));
    expect(plain.every((h) => child(h, 'ASSET_ID') === undefined)).toBe(true);
  });

  it('accepts the host list TruRisk and asset risk parameters, with scores and range filters', async () => {
    const list = hosts(await hostList('5.0', { truncation_limit: '0', show_trurisk: '1', show_trurisk_factors: '1', show_ars: '1', trurisk_min: '700' }));
    expect(list.length).toBeGreaterThan(10);
    for (const h of list) {
      expect(Number(childText(h, 'TRURISK_SCORE'))).toBeGreaterThanOrEqual(700);
      expect(Number(childText(h, 'ASSET_CRITICALITY_SCORE'))).toBeGreaterThanOrEqual(1);
      expect(childText(h, 'ASSET_RISK_SCORE')).toMatch(/^\d+$/);
    }
    const ids = await hostList('2.0', { details: 'None', truncation_limit: '0', show_asset_id: '1' });
    expect(child(child(ids.root, 'RESPONSE')!, 'ID_SET')!.children.every((c) => c.name === 'ID')).toBe(true);
  });

  it('lists the knowledge base for the simulated QIDs, paged by truncation_limit with a 1980 warning', async () => {
    const seen: number[] = [];
    let params: Record<string, string> = { action: 'list', details: 'All', truncation_limit: '700' };
    for (let page = 0; page < 10; page++) {
      const res = await call(sim, '/api/2.0/fo/knowledge_base/vuln/', params);
      expect(res.status).toBe(200);
      const doc = parseXml(await res.text());
      expect(doc.root.name).toBe('KNOWLEDGE_BASE_VULN_LIST_OUTPUT');
      const response = child(doc.root, 'RESPONSE')!;
      const vulns = child(response, 'VULN_LIST')!.children;
      for (const v of vulns) {
        expect(['Vulnerability', 'Potential Vulnerability', 'Information Gathered']).toContain(childText(v, 'VULN_TYPE'));
        expect(childText(v, 'DIAGNOSIS')).toBeTruthy();
      }
      seen.push(...vulns.map((v) => Number(childText(v, 'QID'))));
      const warning = child(response, 'WARNING');
      if (!warning) break;
      expect(childText(warning, 'CODE')).toBe('1980');
      params = Object.fromEntries(new URL(childText(warning, 'URL')!).searchParams.entries());
    }
    expect(seen).toHaveLength(2048);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    // Every QID a detection carries is in the knowledge base, with the same severity.
    const detail = sim.dataset.hostDetail(sim.dataset.hostIds()[0]!)!;
    const one = detail.detections[0]!;
    const kb = parseXml(await (await call(sim, '/api/2.0/fo/knowledge_base/vuln/', { action: 'list', ids: String(one.qid) })).text());
    const vuln = child(child(child(kb.root, 'RESPONSE')!, 'VULN_LIST')!, 'VULN')!;
    expect(Number(childText(vuln, 'SEVERITY_LEVEL'))).toBe(one.severity);
    const unknown = await call(sim, '/api/2.0/fo/knowledge_base/vuln/', { action: 'list', show_everything: '1' });
    expect(simpleReturn(await unknown.text()).code).toBe(1901);
  });

  it('accepts the current Host List Detection parameters: MITRE details and QDS factors from 3.0, QDS ranges; refuses TruRisk there', async () => {
    const page = readHldXml(await (await call(sim, HLD_PATH, { action: 'list', truncation_limit: '20', mitre_attack_details: '1', show_qds: '1', show_qds_factors: '1', qds_min: '70', qds_max: '100' })).text());
    expect(page.hosts.length).toBeGreaterThan(0);
    for (const d of page.hosts.flatMap((h) => h.detections)) {
      expect(d.severity).toBeGreaterThanOrEqual(4);
      expect(d.children).toContain('QDS_FACTORS');
    }
    expect(sim.dataset.expected({ qds_min: '90' }).severity['4']).toBe(0);
    const v2 = await call(sim, '/api/2.0/fo/asset/host/vm/detection/', { action: 'list', mitre_attack_details: '1' });
    expect(simpleReturn(await v2.text()).code).toBe(1901);
    const trurisk = await call(sim, HLD_PATH, { action: 'list', show_trurisk: '1' });
    expect(simpleReturn(await trurisk.text()).code).toBe(1901);
    const backwards = await call(sim, HLD_PATH, { action: 'list', qds_min: '80', qds_max: '20' });
    expect(simpleReturn(await backwards.text()).code).toBe(1905);
  });
});

describe('simulator: HTTPS', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 60, now: NOW, tls: true });
  });
  afterAll(() => sim.close());

  it('serves https with a self-signed certificate a client verifies, and uses the scheme in every URL it writes', async () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.certPath).toMatch(/\.pem$/);
    const dispatcher = new Agent({ connect: { ca: sim.ca! } });
    const res = await undiciFetch(`${sim.url}${HLD_PATH}?action=list&truncation_limit=5`, {
      headers: { Authorization: basic(), 'X-Requested-With': 'tls-test' },
      dispatcher,
    });
    const page = readHldXml(await res.text());
    expect(page.doc.doctype).toContain(`"${sim.url}/api/5.0/`);
    expect(new URL(page.warning!.url).origin).toBe(sim.url);
    // Without the certificate, verification fails: nothing is switched off.
    await expect(undiciFetch(`${sim.url}/msp/about.php`, { headers: { Authorization: basic() } })).rejects.toThrow();
    await dispatcher.close();
  });

  it('lets the Qualys client connect with its `ca` setting and follow truncation on the same origin', async () => {
    const client = createQualysClient({ apiBaseUrl: sim.url, username: 'demo', password: 'demo-pass', ca: sim.ca! });
    try {
      const check = await client.checkConnection();
      expect(check.serverTime).toBe('2026-06-01T00:00:00Z');
      const ids = await client.listHostIds({ truncation_limit: '7' });
      expect(ids.count).toBe(60);
    } finally {
      await client.close();
    }
    const untrusting = createQualysClient({ apiBaseUrl: sim.url, username: 'demo', password: 'demo-pass' });
    await expect(untrusting.checkConnection()).rejects.toMatchObject({ name: 'QualysSecurityError' });
    await untrusting.close();
  });
});
