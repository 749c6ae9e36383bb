/**
 * Fetcher runs whose filters Qualys cannot express as one request: a list of
 * both IPv4 and IPv6 addresses (looked up as host IDs when the run starts)
 * and running-kernel option 4 on API 5.0 (ARF data, filtered by the
 * connector), pulled through Temporal in parallel ranges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SaxesParser } from 'saxes';
import { getEvidence } from '../db/evidence.js';
import { startRunStack, type RunStack } from './support/run-stack.js';

let stack: RunStack;

beforeAll(async () => {
  stack = await startRunStack({ simulator: { hosts: 300, seed: 17 } });
});
afterAll(async () => {
  await stack?.close();
});

async function sealedHostIds(blobKey: string): Promise<number[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stack.blobStore.get(blobKey)) chunks.push(chunk as Buffer);
  const ids: number[] = [];
  const open: string[] = [];
  let text = '';
  const parser = new SaxesParser();
  parser.on('opentag', (t) => {
    open.push(t.name);
    text = '';
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (t) => {
    if (t.name === 'ID' && open.at(-2) === 'HOST') ids.push(Number(text));
    open.pop();
  });
  parser.write(Buffer.concat(chunks).toString('utf8')).close();
  return ids;
}

const ALL_STATUSES = ['New', 'Active', 'Re-Opened', 'Fixed'] as const;

describe('runs of fetchers that need more than one Qualys parameter set', () => {
  it('gives a mixed IPv4/IPv6 list every host matching any listed address, once each, in host order', async () => {
    const { dataset } = stack.sim;
    const details = dataset.hostIds().map((id) => dataset.hostDetail(id)!);
    const v6Hosts = details.filter((h) => h.ipv6 !== '').slice(2, 12);
    const v4Hosts = details.filter((h) => h.ipv6 === '').slice(0, 8);
    const ips = [...v4Hosts.map((h) => h.ip), v6Hosts[0]!.ip, ...v6Hosts.map((h) => h.ipv6)].join(',');
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, { ips, statuses: [...ALL_STATUSES] }, { pageSize: 3 });
    const { result } = await stack.runToEnd(fetcher);

    const wanted = new Set([...v4Hosts, ...v6Hosts].map((h) => h.id));
    const expected = dataset.expected({ ids: [...wanted].join(','), status: ALL_STATUSES.join(','), truncation_limit: '0' });
    const ids = await sealedHostIds(result.evidence.blobKey);
    expect(ids).toEqual(expected.hostIds);
    expect(ids.length).toBeGreaterThan(5);
    expect(new Set(ids).size).toBe(ids.length);
    const manifest = (await getEvidence(stack.database.db, result.evidence.evidenceId))!.manifest as {
      ranges: Array<{ listedHosts: number }>;
      qualys: { params: Record<string, string>; addressLookups: Array<Record<string, string>>; resolvedHostIds: { blobKey: string; count: number } };
    };
    expect(manifest.ranges.reduce((n, r) => n + r.listedHosts, 0)).toBe(wanted.size);
    // The manifest says how the hosts were selected: both lookups, and the ids every page sent.
    expect(manifest.qualys.addressLookups.map((l) => Object.keys(l))).toEqual([['ips'], ['ipv6']]);
    expect(manifest.qualys.resolvedHostIds.count).toBe(wanted.size);
    expect(manifest.qualys.params.ips).toBeUndefined();
    expect((await stack.blobStore.stat(manifest.qualys.resolvedHostIds.blobKey))?.bytes).toBeGreaterThan(0);
  });

  it('gives running-kernel option 4 on API 5.0 what API 2.0 gives for arf_kernel_filter=4', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, { runningKernelFilter: 4, statuses: [...ALL_STATUSES] }, { pageSize: 20 });
    const { result } = await stack.runToEnd(fetcher);
    const reference = stack.sim.dataset.expected({ status: ALL_STATUSES.join(','), arf_kernel_filter: '4', truncation_limit: '0' }, '2.0');
    expect(reference.hosts).toBeGreaterThan(5);
    expect(result.totals.hosts).toBe(reference.hosts);
    expect(result.totals.detections).toBe(reference.detections);
    expect(await sealedHostIds(result.evidence.blobKey)).toEqual(reference.hostIds);
    const manifest = (await getEvidence(stack.database.db, result.evidence.evidenceId))!.manifest as { qualys: { postFilter: string; params: Record<string, string> } };
    expect(manifest.qualys).toMatchObject({ postFilter: 'kernel-related', params: { show_arf_data: '1' } });
  });
});
