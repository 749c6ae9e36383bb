/**
 * The fetcher plans end to end against the simulator over HTTP: running-kernel
 * option 4 on the default API 5.0 gives what API 2.0's arf_kernel_filter=4
 * gives, and a mixed IPv4/IPv6 list gives every host matching any address.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQualysClient, type QualysClient } from '../qualys/client.js';
import { hostListDetectionFiltersSchema, planHostListDetection, withResolvedHostIds, type HostListDetectionFiltersInput } from '../qualys/hld-params.js';
import { pullDetections } from '../qualys/pull.js';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';

let sim: SimulatorHandle;
let client: QualysClient;

beforeAll(async () => {
  sim = await startSimulator({ hosts: 400, seed: 17, now: '2026-07-01T00:00:00Z' });
  client = createQualysClient({ apiBaseUrl: sim.url, username: 'demo', password: 'demo-pass' });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

/** Pulls every page, keeping the bytes only to count them independently. */
async function pull(params: Record<string, string>, postFilter: 'kernel-related' | null) {
  const pages: Buffer[] = [];
  const result = await pullDetections(client, {
    params,
    postFilter,
    target: async () => {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      });
      return { sink, commit: async () => pages.push(Buffer.concat(chunks)), abort: async () => {} };
    },
  });
  return { summary: result.summary, pages };
}

const plan = (filters: HostListDetectionFiltersInput) =>
  planHostListDetection(hostListDetectionFiltersSchema.parse(filters), { apiVersion: '5.0', truncationLimit: 40 });

describe('fetcher plans against the simulator', () => {
  it('gives running-kernel option 4 on API 5.0 exactly the hosts and detections API 2.0 gives for arf_kernel_filter=4', async () => {
    for (const format of ['XML', 'CSV'] as const) {
      const p = plan({ runningKernelFilter: 4, format, statuses: ['New', 'Active', 'Re-Opened', 'Fixed'] });
      expect(p.postFilter).toBe('kernel-related');
      const { summary, pages } = await pull(p.params, p.postFilter);
      const reference = sim.dataset.expected({ status: 'New,Active,Re-Opened,Fixed', arf_kernel_filter: '4', truncation_limit: '0' }, '2.0');
      expect(reference.hosts).toBeGreaterThan(10);
      expect(summary.hosts, format).toBe(reference.hosts);
      expect(summary.detections, format).toBe(reference.detections);
      expect(summary.minHostId).toBe(reference.minHostId);
      expect(summary.maxHostId).toBe(reference.maxHostId);
      // An independent count over the stored bytes: every kept detection is kernel-related.
      const text = pages.map((b) => b.toString('utf8')).join('');
      if (format === 'XML') {
        expect(text.split('<DETECTION>').length - 1).toBe(reference.detections);
        expect(text.split('<AFFECT_RUNNING_KERNEL>').length - 1).toBe(reference.detections);
      }
    }
  });

  it('gives a mixed IPv4/IPv6 list every host matching any listed address, each once, in host order', async () => {
    const details = sim.dataset.hostIds().map((id) => sim.dataset.hostDetail(id)!);
    const v6Hosts = details.filter((h) => h.ipv6 !== '').slice(3, 9);
    const v4Hosts = details.filter((h) => h.ipv6 === '').slice(0, 5);
    // One dual-stack host is listed by both its addresses: it must come once.
    const both = v6Hosts[0]!;
    const ips = [...v4Hosts.map((h) => h.ip), both.ip, ...v6Hosts.map((h) => h.ipv6)].join(', ');
    const p = plan({ ips, statuses: ['New', 'Active', 'Re-Opened', 'Fixed'], extraParams: { show_igs: 1 } });
    expect(p.addressLookups).toHaveLength(2);
    const found = [];
    for (const lookup of p.addressLookups) found.push((await client.listHostIds(lookup)).ranges);
    const params = withResolvedHostIds(p, found);
    const { summary, pages } = await pull(params, null);
    const wanted = [...new Set([...v4Hosts, both, ...v6Hosts].map((h) => h.id))].sort((a, b) => a - b);
    const withDetections = wanted.filter((id) => sim.dataset.hostDetail(id)!.detections.length > 0);
    const ids = pages.flatMap((b) => [...b.toString('utf8').matchAll(/<HOST>\s*<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1])));
    expect(ids).toEqual(withDetections);
    expect(summary.hosts).toBe(withDetections.length);
    // What sending both parameters would have given instead: only the one host matching one of each.
    const anded = sim.dataset.expected({ ips: [...v4Hosts.map((h) => h.ip), both.ip].join(','), ipv6: v6Hosts.map((h) => h.ipv6).join(','), show_igs: '1', status: 'New,Active,Re-Opened,Fixed' });
    expect(anded.hostIds).toEqual(withDetections.includes(both.id) ? [both.id] : []);
  });
});
