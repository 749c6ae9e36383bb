/**
 * Benchmarks `verify`, `sla` and `diff`: the auditor procedures over about
 * 1 GB of evidence (72 pages of 1000 hosts without RESULTS, the orchestration
 * benchmark's kind of pull), against bare saxes tokenizing the same sealed
 * file, side by side in one run: ROUNDS interleaved rounds, each contender in
 * a fresh process, medians and ranges. MB/s counts the sealed file's bytes
 * (both files for diff), though verification also reads every raw page.
 * Targets: each ≥ 0.5 × bare saxes, peak RSS < 200 MB.
 *
 * The evidence is made without Temporal or a database: pages pulled from the
 * simulator (in its own process) into a local blob store, sealed with the
 * connector's own seal, its manifest written, laid out as an export folder.
 * `diff` compares it with a second pull taken after the simulator's clock
 * moved a month (same detections, shifted dates). BENCH_AUDIT_PAGES changes
 * the size; BENCH_AUDIT_EVIDENCE=<folder> keeps the evidence there and
 * reuses it on the next run.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPageChain, completenessOf } from '../audit/completeness.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import { buildManifest, manifestBytes } from '../evidence/manifest.js';
import { CURRENT_SEAL_VERSION, sealPages } from '../evidence/seal.js';
import { createQualysClient } from '../qualys/client.js';
import { addSummaries, summaryToJson, type PageSummary } from '../qualys/page-summary.js';
import { PRODUCT } from '../qualys/product.js';
import { CACHE_DIR } from '../runtime/paths.js';
import { spawnSimulator, type SpawnedSimulator } from '../simulator/spawn.js';
import { bundleForNode, runChild } from './child.js';

const PAGES = Number(process.env.BENCH_AUDIT_PAGES ?? 72);
const HOSTS_PER_PAGE = 1000;
const ROUNDS = 3;
const USER = { user: 'bench', password: 'bench-pass' };

interface Measured {
  bytes: number;
  seconds: number;
  peakRssMB: number;
}

const say = (m: string) => process.stderr.write(`audit: ${m}\n`);
const mbps = (m: Measured) => m.bytes / 1e6 / m.seconds;
const round1 = (n: number) => Math.round(n * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Pulls every page, seals them and lays the evidence out as an export folder; returns the sealed file's path. */
async function makeEvidence(sim: SpawnedSimulator, dir: string, params: Record<string, string>): Promise<string> {
  const store = createLocalBlobStore(path.join(dir, 'blobs'));
  const client = createQualysClient({ apiBaseUrl: sim.url, username: USER.user, password: USER.password });
  const startedAt = new Date();
  const pages: Array<{ pageNo: number; idMin: number | null; key: string; sha256: string; bytes: number; summary: PageSummary; at: Date }> = [];
  try {
    let idMin: number | null = null;
    for (let pageNo = 1; ; pageNo++) {
      const staged = await store.stage();
      const answer = await client.fetchDetectionPage({ params, idMin, sink: staged.sink });
      const blob = await staged.commit();
      pages.push({ pageNo, idMin, key: blob.key, sha256: blob.sha256, bytes: blob.bytes, summary: answer.summary, at: new Date() });
      if (!answer.summary.truncated) break;
      idMin = answer.summary.nextIdMin;
    }
  } finally {
    await client.close();
  }
  const sealed = await sealPages({ store, format: 'XML', pages: pages.map((p) => ({ blobKey: p.key, layout: p.summary.layout })) });
  const chain = pages.map((p) => ({ pageNo: p.pageNo, idMin: p.idMin, firstHostId: p.summary.minHostId, lastHostId: p.summary.maxHostId, truncated: p.summary.truncated, nextIdMin: p.summary.nextIdMin }));
  const manifest = buildManifest({
    product: PRODUCT,
    fetcher: { id: 'bench', name: 'bench', kind: 'host_list_detection', definition: {} },
    qualys: { platform: null, apiBaseUrl: sim.url, apiVersion: '5.0', endpoint: '/api/5.0/fo/asset/host/vm/detection/', method: 'POST', params },
    run: { id: 'bench', trigger: 'cli', triggeredBy: null, workflowId: 'bench', startedAt, finishedAt: new Date(), collectedAt: pages.at(-1)!.at, backfill: false },
    pages: pages.map((p) => ({
      pageNo: p.pageNo,
      idMin: p.idMin,
      blobKey: p.key,
      bytes: p.bytes,
      sha256: p.sha256,
      qualysDatetime: p.summary.datetime,
      attempts: 1,
      hosts: p.summary.hosts,
      detections: p.summary.detections,
      firstHostId: p.summary.minHostId,
      lastHostId: p.summary.maxHostId,
      truncated: p.summary.truncated,
      nextIdMin: p.summary.nextIdMin,
    })),
    waits: [],
    retries: 0,
    summary: summaryToJson(pages.slice(1).reduce((sum, p) => addSummaries(sum, p.summary), pages[0]!.summary)),
    evidence: { blobKey: sealed.key, sha256: sealed.sha256, bytes: sealed.bytes, format: 'XML', contentType: 'application/xml', filename: 'bench.xml', sealVersion: CURRENT_SEAL_VERSION },
    complete: true,
    completeness: completenessOf(checkPageChain(chain, { hostIds: true }), { kind: 'not-performed', reason: 'benchmark evidence' }),
  });
  // The export layout (audit/evidence-source.ts), with the blobs linked rather than copied.
  const folder = path.join(dir, 'export', 'ev');
  await fs.mkdir(path.join(folder, 'pages'), { recursive: true });
  for (const p of pages) await fs.link(store.pathOf(p.key)!, path.join(folder, 'pages', `page-${String(p.pageNo).padStart(4, '0')}.xml`));
  await fs.link(store.pathOf(sealed.key)!, path.join(folder, 'bench.xml'));
  const bytes = manifestBytes(manifest);
  await fs.writeFile(path.join(folder, 'manifest.json'), bytes);
  const { createHash } = await import('node:crypto');
  await fs.writeFile(path.join(dir, 'export', 'index.json'), JSON.stringify({ evidence: [{ id: 'ev', manifestSha256: createHash('sha256').update(bytes).digest('hex') }] }));
  say(`${dir}: ${pages.length} pages, ${(sealed.bytes / 1e6).toFixed(0)} MB sealed`);
  return path.join(folder, 'bench.xml');
}

interface Fixture {
  a: string;
  b: string;
  child: string;
}

let fixture: Promise<Fixture> | null = null;
const cleanups: Array<() => Promise<unknown>> = [];

/** Made once per `npm run bench` and shared by the three benchmarks. */
function evidenceFixture(): Promise<Fixture> {
  fixture ??= (async () => {
    const kept = process.env.BENCH_AUDIT_EVIDENCE;
    const work = kept ?? (await fs.mkdtemp(path.join(CACHE_DIR, 'audit-bench-')));
    if (!kept) cleanups.push(() => fs.rm(work, { recursive: true, force: true }));
    const child = await bundleForNode(fileURLToPath(new URL('./audit-child.ts', import.meta.url)));
    cleanups.push(() => child.cleanup());
    const made = { a: path.join(work, 'a', 'export', 'ev', 'bench.xml'), b: path.join(work, 'b', 'export', 'ev', 'bench.xml') };
    if (kept && (await fs.stat(made.b).catch(() => null))) {
      say(`reusing the evidence in ${work}`);
      return { ...made, child: child.file };
    }
    const hosts = Math.ceil((PAGES * HOSTS_PER_PAGE) / 0.85);
    say(`simulator with ${hosts} hosts; pulling ${PAGES} pages twice`);
    const sim = await spawnSimulator({ hosts, seed: 3, now: '2026-11-01T00:00:00Z', ...USER });
    try {
      const common = { action: 'list', truncation_limit: String(HOSTS_PER_PAGE), show_results: '0', status: 'New,Active,Re-Opened,Fixed' };
      // Exactly PAGES pages: host IDs up to the one before page PAGES + 1 starts.
      const all = sim.dataset.expected(common);
      if (all.pages <= PAGES) throw new Error(`the simulated subscription gives only ${all.pages} pages`);
      const params = { ...common, output_format: 'XML', show_reopened_info: '1', ids: `1-${all.pageIdMins[PAGES - 1]! - 1}` };
      const a = await makeEvidence(sim, path.join(work, 'a'), params);
      await sim.configure({ now: '2026-12-01T00:00:00Z' });
      const b = await makeEvidence(sim, path.join(work, 'b'), params);
      return { a, b, child: child.file };
    } finally {
      await sim.close();
    }
  })();
  return fixture;
}

/** Interleaved rounds of bare saxes and the procedure; medians, ranges and the ratio of medians. */
async function compare(name: string, procedureArgs: (f: Fixture) => string[]): Promise<Record<string, unknown>> {
  const f = await evidenceFixture();
  const saxes: Measured[] = [];
  const runs: Measured[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const s = await runChild<Measured>(f.child, ['saxes', f.a]);
    const r = await runChild<Measured>(f.child, procedureArgs(f));
    saxes.push(s);
    runs.push(r);
    say(`${name} round ${round}: ${mbps(r).toFixed(1)} MB/s (${r.peakRssMB} MB RSS) · bare saxes ${mbps(s).toFixed(1)} MB/s`);
  }
  const m = median(runs.map(mbps));
  const s = median(saxes.map(mbps));
  return {
    [`${name}MBps`]: round1(m),
    [`${name}PeakRssMB`]: Math.max(...runs.map((r) => r.peakRssMB)),
    saxesMBps: round1(s),
    ratio: Math.round((m / s) * 100) / 100,
    [`${name}MBpsRange`]: [round1(Math.min(...runs.map(mbps))), round1(Math.max(...runs.map(mbps)))],
    saxesMBpsRange: [round1(Math.min(...saxes.map(mbps))), round1(Math.max(...saxes.map(mbps)))],
    evidenceMB: Math.round(saxes[0]!.bytes / 1e6),
    rounds: ROUNDS,
  };
}

const AUDIT_BENCHMARKS = ['verify', 'sla', 'diff'];

/** The shared evidence goes with the last audit benchmark of the run (`npm run bench -- verify sla diff` makes it once). */
async function measured(name: string, args: (f: Fixture) => string[]): Promise<Record<string, unknown>> {
  const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const order = (requested.length > 0 ? requested : AUDIT_BENCHMARKS).filter((n) => AUDIT_BENCHMARKS.includes(n));
  try {
    return await compare(name, args);
  } finally {
    if (order.at(-1) === name) for (const cleanup of cleanups.splice(0)) await cleanup();
  }
}

export const runVerify = () => measured('verify', (f) => ['verify', f.a]);
export const runSla = () => measured('sla', (f) => ['sla', f.a, '2026-11-01', 'fedramp']);
export const runDiff = () => measured('diff', (f) => ['diff', f.a, f.b]);
