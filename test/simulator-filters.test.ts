import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipToInt } from '../simulator/ipv4.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { call, readHldXml, type HldPage } from './simulator-support.js';

const NOW = '2026-03-01T12:00:00Z';

describe('simulator: Host List Detection filters', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 250, seed: 5, now: NOW });
  });
  afterAll(() => sim.close());

  /** One unpaged answer, checked against dataset.expected() for the same parameters. */
  async function answer(params: Record<string, string>, version = '5.0'): Promise<HldPage> {
    const res = await call(sim, `/api/${version}/fo/asset/host/vm/detection/`, { action: 'list', truncation_limit: '0', show_results: '0', ...params });
    expect(res.status, await res.clone().text()).toBe(200);
    const page = readHldXml(await res.text());
    const expected = sim.dataset.expected({ truncation_limit: '0', ...params }, version as '5.0');
    expect(page.hosts.map((h) => h.id)).toEqual(expected.hostIds);
    expect(page.hosts.reduce((n, h) => n + h.detections.length, 0)).toBe(expected.detections);
    return page;
  }
  const detections = (page: HldPage) => page.hosts.flatMap((h) => h.detections);

  it('excludes Fixed and Info detections by default; status and show_igs bring them back', async () => {
    const base = await answer({});
    expect(new Set(detections(base).map((d) => d.status))).toEqual(new Set(['New', 'Active', 'Re-Opened']));
    expect(detections(base).some((d) => d.type === 'Info')).toBe(false);
    const fixed = await answer({ status: 'Fixed' });
    expect(new Set(detections(fixed).map((d) => d.status))).toEqual(new Set(['Fixed']));
    const all = await answer({ status: 'New,Active,Fixed,Re-Opened', show_igs: '1' });
    expect(new Set(detections(all).map((d) => d.type))).toEqual(new Set(['Confirmed', 'Potential', 'Info']));
    const total = sim.dataset.expected({ status: 'New,Active,Fixed,Re-Opened', show_igs: '1' });
    let generated = 0;
    for (const id of sim.dataset.hostIds()) generated += sim.dataset.hostDetail(id)!.detections.length;
    expect(total.detections).toBe(generated);
  });

  it('filters by severities (lists and ranges) and include_vuln_type', async () => {
    const page = await answer({ severities: '1,4-5' });
    expect(new Set(detections(page).map((d) => d.severity))).toEqual(new Set([1, 4, 5]));
    const confirmed = await answer({ include_vuln_type: 'confirmed' });
    expect(new Set(detections(confirmed).map((d) => d.type))).toEqual(new Set(['Confirmed']));
  });

  it('filters by host ids, id_min and id_max', async () => {
    const ids = sim.dataset.hostIds();
    const wanted = `${ids[3]},${ids[10]}-${ids[20]}`;
    const page = await answer({ ids: wanted, status: 'New,Active,Fixed,Re-Opened', show_igs: '1' });
    expect(page.hosts.every((h) => h.id === ids[3] || (h.id >= ids[10]! && h.id <= ids[20]!))).toBe(true);
    // Out of order, overlapping and touching ranges: the union, whatever their order.
    const shuffled = await answer({ ids: `${ids[15]}-${ids[20]},${ids[3]},${ids[10]}-${ids[16]}`, status: 'New,Active,Fixed,Re-Opened', show_igs: '1' });
    expect(shuffled.hosts.map((h) => h.id)).toEqual(page.hosts.map((h) => h.id));
    expect(page.hosts.length).toBeGreaterThan(5);
    const window = await answer({ id_min: String(ids[100]), id_max: String(ids[199]) });
    expect(window.hosts.every((h) => h.id >= ids[100]! && h.id <= ids[199]!)).toBe(true);
    expect(window.hosts.length).toBeGreaterThan(50);
  });

  it('filters by IP lists and ranges spanning several /24s', async () => {
    const page = await answer({ ips: '10.0.0.5,10.0.0.150-10.0.1.40' });
    const lo = ipToInt('10.0.0.150')!;
    const hi = ipToInt('10.0.1.40')!;
    expect(page.hosts.every((h) => h.ip === '10.0.0.5' || (ipToInt(h.ip)! >= lo && ipToInt(h.ip)! <= hi))).toBe(true);
    expect(new Set(page.hosts.map((h) => h.ip.split('.')[2]))).toEqual(new Set(['0', '1']));
    expect(page.hosts.length).toBeGreaterThan(40);
  });

  it('filters by asset groups with OR logic, by id or title', async () => {
    const [a, b] = sim.dataset.assetGroups.filter((g) => g.ipRanges.length > 0);
    const inGroup = (ip: string, g: typeof a) => g!.ipRanges.some(([lo, hi]) => ipToInt(ip)! >= lo && ipToInt(ip)! <= hi);
    const one = await answer({ ag_ids: String(a!.id) });
    expect(one.hosts.length).toBeGreaterThan(0);
    expect(one.hosts.every((h) => inGroup(h.ip, a))).toBe(true);
    const both = await answer({ ag_ids: `${a!.id},${b!.id}` });
    expect(both.hosts.every((h) => inGroup(h.ip, a) || inGroup(h.ip, b))).toBe(true);
    expect(both.hosts.length).toBeGreaterThanOrEqual(one.hosts.length);
    const byTitle = await answer({ ag_titles: a!.title });
    expect(byTitle.hosts.map((h) => h.id)).toEqual(one.hosts.map((h) => h.id));
  });

  it('filters by a dynamic search list (its QIDs) and by qids', async () => {
    const list = sim.dataset.searchLists.find((l) => l.title === 'Critical & urgent')!;
    const page = await answer({ include_search_list_ids: String(list.id) });
    expect(detections(page).length).toBeGreaterThan(0);
    expect(detections(page).every((d) => list.qids.includes(d.qid))).toBe(true);
    const excluded = await answer({ exclude_search_list_ids: String(list.id) });
    expect(detections(excluded).some((d) => list.qids.includes(d.qid))).toBe(false);
    const qids = list.qids.slice(0, 40);
    const byQid = await answer({ qids: qids.join(',') });
    expect(detections(byQid).every((d) => qids.includes(d.qid))).toBe(true);
  });

  it('filters by days since the last VM scan, relative to the clock', async () => {
    const page = await answer({ max_days_since_last_vm_scan: '10' });
    const cutoff = Date.parse(NOW) - 10 * 86_400_000;
    expect(page.hosts.length).toBeGreaterThan(0);
    expect(page.hosts.every((h) => Date.parse(h.lastVmScannedDate) >= cutoff)).toBe(true);
    const all = await answer({});
    expect(page.hosts.length).toBeLessThan(all.hosts.length);
  });

  it('applies arf_kernel_filter 1–4 on API 2.0 and marks kernel detections with AFFECT_RUNNING_KERNEL', async () => {
    const all = await answer({}, '2.0');
    const flags = detections(all).map((d) => d.affectsRunningKernel);
    expect(flags).toContain('0');
    expect(flags).toContain('1');
    expect(flags).toContain(null);
    const count = (page: HldPage, flag: string | null) => detections(page).filter((d) => d.affectsRunningKernel === flag).length;
    const f1 = await answer({ arf_kernel_filter: '1' }, '2.0');
    expect(count(f1, '0')).toBe(0);
    expect(count(f1, '1')).toBe(count(all, '1'));
    expect(count(f1, null)).toBe(count(all, null));
    const f2 = await answer({ arf_kernel_filter: '2' }, '2.0');
    expect(detections(f2).every((d) => d.affectsRunningKernel === '0')).toBe(true);
    const f3 = await answer({ arf_kernel_filter: '3' }, '2.0');
    expect(detections(f3).every((d) => d.affectsRunningKernel === '1')).toBe(true);
    const f4 = await answer({ arf_kernel_filter: '4' }, '2.0');
    expect(detections(f4)).toHaveLength(count(all, '0') + count(all, '1'));
  });

  it('uses show_arf_data and arf_filter_keys from API 3.0 on', async () => {
    const hidden = await answer({});
    expect(detections(hidden).every((d) => d.affectsRunningKernel === null)).toBe(true);
    const shown = await answer({ show_arf_data: '1' });
    expect(detections(shown).some((d) => d.affectsRunningKernel === '0')).toBe(true);
    const filtered = await answer({ show_arf_data: '1', arf_filter_keys: 'non-running-kernel' });
    expect(detections(filtered).some((d) => d.affectsRunningKernel === '0')).toBe(false);
    expect(detections(filtered).some((d) => d.affectsRunningKernel === '1')).toBe(true);
  });

  it('applies active_kernels_only 1–3 on every version with the arf_kernel_filter meanings', async () => {
    for (const mode of ['1', '2', '3']) {
      const v5 = await answer({ active_kernels_only: mode });
      const v2 = await answer({ arf_kernel_filter: mode }, '2.0');
      expect(v5.hosts.map((h) => h.id)).toEqual(v2.hosts.map((h) => h.id));
      expect(detections(v5).map((d) => d.qid)).toEqual(detections(v2).map((d) => d.qid));
    }
  });

  it('filters by os_pattern and combines every filter with AND', async () => {
    const linux = await answer({ os_pattern: 'Linux' });
    expect(linux.hosts.every((h) => h.os.includes('Linux'))).toBe(true);
    const combined = await answer({ os_pattern: 'Linux', severities: '5', ips: '10.0.0.1-10.0.1.255' });
    expect(combined.hosts.every((h) => h.os.includes('Linux') && h.ip.startsWith('10.0.'))).toBe(true);
    expect(detections(combined).every((d) => d.severity === 5)).toBe(true);
    expect(combined.hosts.length).toBeLessThan(linux.hosts.length);
  });

  it('accepts the other documented parameters without simulating them', async () => {
    const page = await answer({ show_tags: '1', include_ignored: '1', detection_updated_since: '2025-01-01', host_metadata: 'all', filter_superseded_qids: '1' });
    expect(page.hosts.length).toBe((await answer({})).hosts.length);
  });
});
