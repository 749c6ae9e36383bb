import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { call, child, childText, parseXml, type XmlElement } from './simulator-support.js';

const GROUPS = '/api/2.0/fo/asset/group/';
const LISTS = '/api/2.0/fo/qid/search_list/dynamic/';
const HOSTS = '/api/2.0/fo/asset/host/';

async function xml(sim: SimulatorHandle, path: string, params: Record<string, string>) {
  const res = await call(sim, path, { action: 'list', ...params });
  expect(res.status).toBe(200);
  return parseXml(await res.text());
}

function expandIdSet(set: XmlElement): number[] {
  return set.children.flatMap((c) => {
    if (c.name === 'ID') return [Number(c.text)];
    const [lo, hi] = c.text.split('-').map(Number);
    return Array.from({ length: hi! - lo! + 1 }, (_, i) => lo! + i);
  });
}

describe('simulator: asset groups, search lists and the host list', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ hosts: 2500, now: '2026-01-10T00:00:00Z', assetGroups: 25 });
  });
  afterAll(() => sim.close());

  it('lists asset groups in pages chained by id_min, each with ID, TITLE (CDATA) and IP_SET', async () => {
    const seen: number[] = [];
    let params: Record<string, string> = { truncation_limit: '10' };
    for (let page = 0; page < 10; page++) {
      const doc = await xml(sim, GROUPS, params);
      expect(doc.root.name).toBe('ASSET_GROUP_LIST_OUTPUT');
      expect(doc.doctype).toContain('asset_group_list_output.dtd');
      const response = child(doc.root, 'RESPONSE')!;
      for (const g of child(response, 'ASSET_GROUP_LIST')!.children) {
        seen.push(Number(childText(g, 'ID')));
        expect(childText(g, 'TITLE')).toBeTruthy();
      }
      const warning = child(response, 'WARNING');
      if (!warning) break;
      expect(childText(warning, 'CODE')).toBe('1980');
      params = Object.fromEntries(new URL(childText(warning, 'URL')!).searchParams.entries());
    }
    expect(seen).toEqual(sim.dataset.assetGroups.map((g) => g.id));
    const first = await xml(sim, GROUPS, { ids: String(seen[1]) });
    const group = child(child(child(first.root, 'RESPONSE')!, 'ASSET_GROUP_LIST')!, 'ASSET_GROUP')!;
    expect(child(group, 'IP_SET')!.children.every((c) => c.name === 'IP' || c.name === 'IP_RANGE')).toBe(true);
  });

  it('lists the member host IDs with show_attributes=ALL, matching the ag_ids filter of Host List Detection', async () => {
    const target = sim.dataset.assetGroups.find((g) => g.ipRanges.length > 0)!;
    const doc = await xml(sim, GROUPS, { ids: String(target.id), show_attributes: 'ALL' });
    const group = child(child(child(doc.root, 'RESPONSE')!, 'ASSET_GROUP_LIST')!, 'ASSET_GROUP')!;
    const members = childText(group, 'HOST_IDS')!
      .split(',')
      .flatMap((r) => {
        const [lo, hi = lo] = r.split('-').map(Number);
        return sim.dataset.hostIds().filter((id) => id >= lo! && id <= hi!);
      });
    const expected = sim.dataset.expected({ ag_ids: String(target.id), truncation_limit: '0', status: 'New,Active,Fixed,Re-Opened', show_igs: '1' });
    expect(expected.hostIds.every((id) => members.includes(id))).toBe(true);
    expect(members.length).toBeGreaterThanOrEqual(expected.hosts);
  });

  it('lists dynamic search lists with their QIDs on request, and leaves DYNAMIC_LISTS out when there are none', async () => {
    const doc = await xml(sim, LISTS, { show_qids: '1' });
    expect(doc.root.name).toBe('DYNAMIC_SEARCH_LIST_OUTPUT');
    const lists = child(child(doc.root, 'RESPONSE')!, 'DYNAMIC_LISTS')!.children;
    expect(lists.map((l) => Number(childText(l, 'ID')))).toEqual(sim.dataset.searchLists.map((l) => l.id));
    const first = lists[0]!;
    expect(child(first, 'QIDS')!.children.map((q) => Number(q.text))).toEqual(sim.dataset.searchLists[0]!.qids);
    expect(lists.map((l) => l.children.map((c) => c.name).slice(0, 4))).toContainEqual(['ID', 'TITLE', 'GLOBAL', 'OWNER']);
    const bare = await xml(sim, LISTS, {});
    expect(child(child(bare.root, 'RESPONSE')!, 'DYNAMIC_LISTS')!.children.every((l) => !child(l, 'QIDS'))).toBe(true);

    const empty = await startSimulator({ hosts: 5, searchLists: 0 });
    try {
      const none = await xml(empty, LISTS, {});
      expect(child(none.root, 'RESPONSE')!.children.map((c) => c.name)).toEqual(['DATETIME']);
    } finally {
      await empty.close();
    }
  });

  it('lists every host ID as ID and ID_RANGE items with details=None, paged by truncation_limit', async () => {
    const doc = await xml(sim, HOSTS, { details: 'None', truncation_limit: '0' });
    expect(doc.root.name).toBe('HOST_LIST_OUTPUT');
    const set = child(child(doc.root, 'RESPONSE')!, 'ID_SET')!;
    expect(set.children.some((c) => c.name === 'ID_RANGE')).toBe(true);
    expect(expandIdSet(set)).toEqual(sim.dataset.hostIds());

    const paged: number[] = [];
    let params: Record<string, string> = { details: 'None', truncation_limit: '1000' };
    for (;;) {
      const page = await xml(sim, HOSTS, params);
      const response = child(page.root, 'RESPONSE')!;
      paged.push(...expandIdSet(child(response, 'ID_SET')!));
      const warning = child(response, 'WARNING');
      if (!warning) break;
      params = Object.fromEntries(new URL(childText(warning, 'URL')!).searchParams.entries());
    }
    expect(paged).toEqual(sim.dataset.hostIds());
  });

  it('lists basic host records by default and filters by ips', async () => {
    const doc = await xml(sim, HOSTS, { ips: '10.0.1.1-10.0.1.10' });
    const hosts = child(child(doc.root, 'RESPONSE')!, 'HOST_LIST')!.children;
    expect(hosts).toHaveLength(10);
    expect(hosts.every((h) => childText(h, 'IP')!.startsWith('10.0.1.'))).toBe(true);
    expect(hosts[0]!.children.slice(0, 3).map((c) => c.name)).toEqual(['ID', 'IP', 'TRACKING_METHOD']);
  });
});
