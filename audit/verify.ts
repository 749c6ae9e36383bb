/**
 * Verification: re-performs the seal of a piece of evidence and checks every
 * claim its manifest makes, naming the place of any difference.
 *
 * Checks, by name:
 * - `manifest`: the manifest is JSON and a valid manifest (version 1 or 2);
 * - `manifest-sha256`: it is the manifest written at sealing (against the
 *   content-addressed copy kept then, or an export's index.json), naming the
 *   first field that differs when the sealed copy is at hand;
 * - `evidence-record`: the database row names the same file (hash, size, format);
 * - `page-sha256`: every raw page is there and hashes to the manifest's
 *   SHA-256 and size (a page holding another page's bytes is named as such);
 * - `page-chain`: the pages form one pull: no page skipped, each requested
 *   with the cursor the one before named, host ids ascending across pages;
 * - `counts`: hosts and detections (records, for custom lists) re-counted from
 *   the pages match the manifest's per-page counts and totals;
 * - `sealed-file-rederived`: sealing the pages again gives the sealed file
 *   byte for byte; otherwise the first differing byte range is named, with the
 *   page, its byte range and the host it falls in;
 * - `sealed-file-sha256`: the sealed file hashes to the manifest's SHA-256.
 * With no raw pages at hand (an export without pages), the sealed file is
 * hashed and re-counted on its own, the page checks are reported as not
 * performed, and the verdict is `partial`.
 *
 * One pass over each page (hash + parse), one over the sealed file (hash +
 * byte comparison with the pages re-sealed): flat memory whatever the size.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createDetectionPageParser, pageSummaryOf } from '../qualys/detection-page-reader.js';
import { createGenericPageParser, genericSummaryOf, type GenericPageSummary } from '../qualys/generic-page-reader.js';
import { ingestIterable, PageIngest } from '../qualys/page-ingest.js';
import type { CsvLayout, PageSummary, XmlLayout } from '../qualys/page-summary.js';
import { readManifest, type AnyManifest } from '../evidence/manifest.js';
import { planSeal } from '../evidence/seal.js';
import type { Segment } from '../evidence/seal-plan.js';
import { fail, notPerformed, pass, type Check } from './check.js';
import { checkPageChain, type ChainPage } from './completeness.js';
import type { EvidenceSource, PageRef } from './evidence-source.js';
import { readHosts } from './host-reader.js';
import { inSlices } from './slices.js';
import { compareStreams } from './stream-compare.js';

type VerificationVerdict = 'verified' | 'failed' | 'partial';

export interface VerificationReport {
  verdict: VerificationVerdict;
  checks: Check[];
  /** SHA-256 of the sealed file as read now. */
  sha256: string | null;
  /** Hosts and detections as re-derived now (from the pages, else from the sealed file). */
  hosts: number | null;
  detections: number | null;
  evidenceId: string | null;
  manifestVersion: number | null;
  /** The completeness verdict the manifest records (version 2), for reference. */
  completeness: 'complete' | 'incomplete' | 'unknown' | null;
}

interface PageRead {
  ref: PageRef;
  sha256: string;
  bytes: number;
  layout: XmlLayout | CsvLayout | null;
  hosts: number | null;
  detections: number | null;
  records: number | null;
  firstHostId: number | null;
  lastHostId: number | null;
  truncated: boolean;
  nextIdMin: number | null;
}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function verdictOf(checks: readonly Check[]): VerificationVerdict {
  if (checks.some((c) => c.ok === false)) return 'failed';
  if (checks.some((c) => c.ok === null)) return 'partial';
  return 'verified';
}

export async function verifyEvidence(source: EvidenceSource): Promise<VerificationReport> {
  const checks: Check[] = [];
  const report = (manifest: AnyManifest | null, sha256: string | null, hosts: number | null, detections: number | null): VerificationReport => ({
    verdict: verdictOf(checks),
    checks,
    sha256,
    hosts,
    detections,
    evidenceId: source.evidenceId,
    manifestVersion: manifest?.manifestVersion ?? null,
    completeness: manifest && 'completeness' in manifest ? manifest.completeness.verdict : null,
  });

  // The manifest.
  const bytes = await source.manifestBytes();
  if (!Buffer.isBuffer(bytes)) {
    checks.push(fail('manifest', bytes.error));
    return report(null, null, null, null);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    checks.push(fail('manifest', `the manifest is not JSON: ${(err as Error).message}`));
    return report(null, null, null, null);
  }
  const read = readManifest(json);
  const hashCheck = await checkManifestHash(source, bytes, json);
  if (!read.ok) {
    checks.push(fail('manifest', `not a valid manifest: ${read.issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ')}`), hashCheck);
    return report(null, null, null, null);
  }
  const manifest = read.manifest;
  checks.push(pass('manifest', `manifest version ${manifest.manifestVersion}, ${manifest.pages.length} page(s), ${manifest.evidence.format} evidence`), hashCheck);
  if (source.record) checks.push(checkRecord(source, manifest));

  // The raw pages.
  const pagesAtHand = await source.pagesAvailable();
  let pages: PageRead[] | null = null;
  if (!pagesAtHand) {
    const why = 'the raw pages are not at hand (no pages/ folder beside the file)';
    checks.push(notPerformed('page-sha256', why), notPerformed('page-chain', `${why}; the manifest's own record was not re-checked`), notPerformed('sealed-file-rederived', why));
  } else {
    pages = await readPages(source, manifest, checks);
  }

  // The sealed file.
  const format = manifest.evidence.format;
  if (pages && format !== 'RAW') {
    checkChain(manifest, pages, checks);
    const counts = checkCounts(manifest, pages, checks);
    const sha256 = await rederive(source, manifest, pages, checks);
    return report(manifest, sha256, counts.hosts, counts.detections);
  }
  const sealed = await hashSealed(source, manifest, format !== 'RAW' && manifest.fetcher.kind === 'host_list_detection');
  if ('error' in sealed) {
    checks.push(fail('sealed-file-sha256', sealed.error));
    return report(manifest, null, null, null);
  }
  checks.push(sealedHashCheck(manifest, sealed.sha256, sealed.bytes));
  if (format === 'RAW') {
    if (pages) {
      // A raw answer is its single page, unchanged.
      const page = pages[0];
      checks.push(
        page && page.sha256 === sealed.sha256
          ? pass('sealed-file-rederived', 'a raw answer is sealed as its one page unchanged: the file and page 1 are the same bytes')
          : fail('sealed-file-rederived', `the file (sha256 ${sealed.sha256}) is not page 1 (sha256 ${page?.sha256 ?? 'missing'})`),
      );
    }
    return report(manifest, sealed.sha256, null, null);
  }
  if (sealed.unreadable) {
    checks.push(fail('counts', `the sealed file is not a readable Host List Detection answer: ${sealed.unreadable}`));
    return report(manifest, sealed.sha256, null, null);
  }
  if (sealed.counts) {
    const summary = manifest.summary as { hosts?: number; detections?: number };
    const problems: string[] = [];
    if (summary.hosts !== undefined && summary.hosts !== sealed.counts.hosts) problems.push(`the file holds ${sealed.counts.hosts} hosts, the manifest says ${summary.hosts}`);
    if (summary.detections !== undefined && summary.detections !== sealed.counts.detections) {
      problems.push(`the file holds ${sealed.counts.detections} detections, the manifest says ${summary.detections}`);
    }
    if (sealed.counts.truncated) problems.push('the file still carries a truncation notice');
    checks.push(
      problems.length === 0
        ? pass('counts', `re-counted from the sealed file alone: ${sealed.counts.hosts} hosts, ${sealed.counts.detections} detections, as the manifest says`)
        : fail('counts', problems.join('; ')),
    );
    return report(manifest, sealed.sha256, sealed.counts.hosts, sealed.counts.detections);
  }
  return report(manifest, sealed.sha256, null, null);
}

async function checkManifestHash(source: EvidenceSource, bytes: Buffer, json: unknown): Promise<Check> {
  const sealed = await source.sealedManifest();
  const actual = sha256Of(bytes);
  if (!sealed) {
    return notPerformed('manifest-sha256', source.record ? 'a version 1 manifest: no copy was kept at sealing to compare with' : 'no index.json beside the evidence folder records the manifest\'s SHA-256');
  }
  if (sealed.bytes && sha256Of(sealed.bytes) !== sealed.sha256) {
    return fail('manifest-sha256', `the copy kept at sealing (${sealed.origin}) no longer hashes to ${sealed.sha256}`);
  }
  if (actual === sealed.sha256) return pass('manifest-sha256', `the manifest hashes to ${actual}, as recorded in ${sealed.origin}`);
  let where = '';
  if (sealed.bytes) {
    const at = firstDifferingPath(JSON.parse(sealed.bytes.toString('utf8')), json, '');
    if (at) where = `: first difference at ${at.path} (sealed ${JSON.stringify(at.sealed)?.slice(0, 120)}, now ${JSON.stringify(at.now)?.slice(0, 120)})`;
  }
  return fail('manifest-sha256', `the manifest hashes to ${actual}, not to ${sealed.sha256} recorded in ${sealed.origin}: it was changed after sealing${where}`);
}

/** The first place two JSON values differ, as a path like `pages[1].sha256`. */
function firstDifferingPath(sealed: unknown, now: unknown, path: string): { path: string; sealed: unknown; now: unknown } | null {
  if (sealed === now) return null;
  if (typeof sealed !== 'object' || typeof now !== 'object' || sealed === null || now === null || Array.isArray(sealed) !== Array.isArray(now)) {
    return { path: path || '(root)', sealed, now };
  }
  if (Array.isArray(sealed) && Array.isArray(now)) {
    for (let i = 0; i < Math.max(sealed.length, now.length); i++) {
      const found = firstDifferingPath(sealed[i], now[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  const a = sealed as Record<string, unknown>;
  const b = now as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const found = firstDifferingPath(a[key], b[key], path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return null;
}

function checkRecord(source: EvidenceSource, manifest: AnyManifest): Check {
  const row = source.record!;
  const problems: string[] = [];
  if (row.sha256 !== manifest.evidence.sha256) problems.push(`sha256 ${row.sha256} ≠ manifest ${manifest.evidence.sha256}`);
  if (row.blobKey !== manifest.evidence.blobKey) problems.push(`blob ${row.blobKey} ≠ manifest ${manifest.evidence.blobKey}`);
  if (row.bytes !== manifest.evidence.bytes) problems.push(`${row.bytes} bytes ≠ manifest ${manifest.evidence.bytes}`);
  if (row.format !== manifest.evidence.format) problems.push(`format ${row.format} ≠ manifest ${manifest.evidence.format}`);
  return problems.length === 0
    ? pass('evidence-record', 'the database record names the same file as the manifest')
    : fail('evidence-record', `the database record of ${source.label} differs from its manifest: ${problems.join('; ')}`);
}

async function readPages(source: EvidenceSource, manifest: AnyManifest, checks: Check[]): Promise<PageRead[] | null> {
  const hld = manifest.fetcher.kind === 'host_list_detection';
  const byHash = new Map(manifest.pages.map((p) => [p.sha256, p.pageNo]));
  const problems: string[] = [];
  const reads: PageRead[] = [];
  for (const page of manifest.pages) {
    const ref = { pageNo: page.pageNo, blobKey: page.blobKey };
    const stream = await source.openPage(ref);
    if (!stream) {
      problems.push(`page ${page.pageNo} is missing (${source.pageLabel(ref)})`);
      continue;
    }
    let sha256: string;
    let bytes: number;
    let summary: PageSummary | GenericPageSummary | null = null;
    let parseError: string | null = null;
    const ingest = new PageIngest<unknown>(hld ? createDetectionPageParser() : createGenericPageParser());
    try {
      const result = await ingestIterable(inSlices(stream), ingest);
      sha256 = result.sha256;
      bytes = result.bytes;
      summary = hld ? pageSummaryOf(result.result as never) : genericSummaryOf(result.result as never);
    } catch (err) {
      // Parsing failed: the hash still tells whether these are the bytes Qualys sent.
      parseError = (err as Error).message;
      const rehash = await hashStream((await source.openPage(ref))!);
      sha256 = rehash.sha256;
      bytes = rehash.bytes;
    }
    if (sha256 !== page.sha256 || bytes !== page.bytes) {
      const other = byHash.get(sha256);
      problems.push(
        other !== undefined && other !== page.pageNo
          ? `page ${page.pageNo} holds the bytes of page ${other} (sha256 ${sha256}): pages are swapped or out of place`
          : `page ${page.pageNo} (${source.pageLabel(ref)}) hashes to ${sha256} (${bytes} bytes), the manifest says ${page.sha256} (${page.bytes} bytes): its content changed`,
      );
    }
    if (parseError) {
      problems.push(`page ${page.pageNo} is no longer a readable answer: ${parseError}`);
      continue;
    }
    const s = summary!;
    reads.push({
      ref,
      sha256,
      bytes,
      layout: s.layout,
      hosts: 'hosts' in s ? s.hosts : null,
      detections: 'detections' in s ? s.detections : null,
      records: 'records' in s ? s.records : null,
      firstHostId: 'minHostId' in s ? s.minHostId : null,
      lastHostId: 'maxHostId' in s ? s.maxHostId : null,
      truncated: s.truncated,
      nextIdMin: s.nextIdMin,
    });
  }
  checks.push(
    problems.length === 0
      ? pass('page-sha256', `all ${manifest.pages.length} page(s) hash to the manifest's SHA-256 and size`)
      : fail('page-sha256', problems.join('; ')),
  );
  return reads.length === manifest.pages.length ? reads : null;
}

async function hashStream(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function checkChain(manifest: AnyManifest, pages: PageRead[], checks: Check[]): void {
  const hld = manifest.fetcher.kind === 'host_list_detection';
  const chain: ChainPage[] = pages.map((p, i) => {
    const entry = manifest.pages[i]!;
    return {
      pageNo: entry.pageNo,
      rangeNo: entry.rangeNo,
      idMin: entry.idMin,
      idMax: entry.idMax ?? null,
      firstHostId: p.firstHostId,
      lastHostId: p.lastHostId,
      truncated: p.truncated,
      nextIdMin: p.nextIdMin,
    };
  });
  const results = checkPageChain(chain, { hostIds: hld });
  const failed = results.filter((c) => c.ok === false);
  // The manifest's own record of each page's cursors (version 2) must match the pages.
  const recorded: string[] = [];
  manifest.pages.forEach((page, i) => {
    if (!('firstHostId' in page)) return;
    const entry = page as Record<string, unknown>;
    const p = pages[i]!;
    for (const field of ['firstHostId', 'lastHostId', 'truncated', 'nextIdMin'] as const) {
      if (entry[field] !== p[field]) recorded.push(`page ${page.pageNo}: the manifest says ${field} ${String(entry[field])}, the page has ${p[field]}`);
    }
  });
  if (failed.length === 0 && recorded.length === 0) {
    checks.push(pass('page-chain', results.map((c) => c.detail).join('; ')));
  } else {
    checks.push(fail('page-chain', [...failed.map((c) => `${c.name}: ${c.detail}`), ...recorded.slice(0, 5)].join('; ')));
  }
}

function checkCounts(manifest: AnyManifest, pages: PageRead[], checks: Check[]): { hosts: number | null; detections: number | null } {
  const problems: string[] = [];
  const kinds = ['hosts', 'detections', 'records'] as const;
  pages.forEach((p, i) => {
    const entry = manifest.pages[i]! as Record<string, unknown>;
    for (const kind of kinds) {
      if (entry[kind] !== undefined && p[kind] !== null && entry[kind] !== p[kind]) {
        problems.push(`page ${entry.pageNo as number} holds ${p[kind]} ${kind}, the manifest says ${entry[kind] as number}`);
      }
    }
  });
  const total = (kind: (typeof kinds)[number]) => (pages.every((p) => p[kind] !== null) ? pages.reduce((n, p) => n + p[kind]!, 0) : null);
  const summary = manifest.summary as Record<string, unknown>;
  const totals = { hosts: total('hosts'), detections: total('detections'), records: total('records') };
  const counted: string[] = [];
  for (const kind of kinds) {
    const value = totals[kind];
    if (value === null || (kind === 'records' && manifest.fetcher.kind === 'host_list_detection')) continue;
    counted.push(`${value} ${kind}`);
    if (typeof summary[kind] === 'number' && summary[kind] !== value) problems.push(`the pages hold ${value} ${kind} in all, the manifest's summary says ${summary[kind] as number}`);
  }
  checks.push(
    problems.length === 0 ? pass('counts', `re-counted from the pages: ${counted.join(', ')}, as the manifest says`) : fail('counts', problems.join('; ')),
  );
  return { hosts: totals.hosts, detections: totals.detections };
}

/** Seals the pages again into a comparison with the sealed file; returns the sealed file's SHA-256. */
async function rederive(source: EvidenceSource, manifest: AnyManifest, pages: PageRead[], checks: Check[]): Promise<string | null> {
  const format = manifest.evidence.format as 'XML' | 'CSV';
  let segments: Segment[];
  try {
    segments = await planSeal(
      format,
      pages.map((p) => ({ pageNo: p.ref.pageNo, blobKey: p.ref.blobKey, bytes: p.bytes, layout: p.layout })),
      async (blobKey, start, end) => {
        const page = pages.find((p) => p.ref.blobKey === blobKey)!;
        const chunks: Buffer[] = [];
        for await (const chunk of (await source.openPage(page.ref, { start, end }))!) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      },
      // Evidence sealed before seal versions were recorded was joined the version 1 way.
      manifest.evidence.sealVersion ?? 1,
    );
  } catch (err) {
    checks.push(fail('sealed-file-rederived', `the pages cannot be sealed again: ${(err as Error).message}`));
    const sealed = await hashSealed(source, manifest, false);
    if ('error' in sealed) checks.push(fail('sealed-file-sha256', sealed.error));
    else checks.push(sealedHashCheck(manifest, sealed.sha256, sealed.bytes));
    return 'error' in sealed ? null : sealed.sha256;
  }
  let sealedStream: Readable;
  try {
    sealedStream = await source.openSealed(manifest.evidence.blobKey);
  } catch (err) {
    checks.push(fail('sealed-file-rederived', `the sealed file cannot be read: ${(err as Error).message}`), fail('sealed-file-sha256', `the sealed file cannot be read: ${(err as Error).message}`));
    return null;
  }
  const byKey = new Map(pages.map((p) => [p.ref.blobKey, p.ref]));
  const comparison = await compareStreams(streamSegments(source, segments, byKey), sealedStream);
  if (comparison.equal) {
    checks.push(pass('sealed-file-rederived', `sealing the ${pages.length} page(s) again gives the sealed file byte for byte (${comparison.actualBytes} bytes)`));
  } else {
    const diff = comparison.firstDifference!;
    const place = await locate(source, segments, byKey, diff.start, format);
    const lengths = comparison.expectedBytes === comparison.actualBytes ? '' : ` (re-sealed ${comparison.expectedBytes} bytes, sealed file ${comparison.actualBytes} bytes)`;
    checks.push(fail('sealed-file-rederived', `the sealed file differs from the pages sealed again at bytes ${diff.start}–${diff.end - 1}${lengths}: ${place}`));
  }
  checks.push(sealedHashCheck(manifest, comparison.actualSha256, comparison.actualBytes));
  return comparison.actualSha256;
}

async function* streamSegments(source: EvidenceSource, segments: Segment[], byKey: Map<string, PageRef>): AsyncGenerator<Buffer> {
  for (const segment of segments) {
    if (segment.kind === 'bytes') {
      yield segment.data;
      continue;
    }
    if (segment.end <= segment.start) continue;
    const stream = await source.openPage(byKey.get(segment.blobKey)!, { start: segment.start, end: segment.end });
    for await (const chunk of stream!) yield chunk as Buffer;
  }
}

/** Names the page, page bytes and host behind an offset of the sealed file. */
async function locate(source: EvidenceSource, segments: Segment[], byKey: Map<string, PageRef>, offset: number, format: 'XML' | 'CSV'): Promise<string> {
  let at = 0;
  for (const segment of segments) {
    const length = segment.kind === 'bytes' ? segment.data.length : segment.end - segment.start;
    if (offset < at + length) {
      if (segment.kind === 'bytes') return 'in the closing lines sealing writes itself (not from any page)';
      const ref = byKey.get(segment.blobKey)!;
      const pageOffset = segment.start + (offset - at);
      const host = await hostAt(source, ref, pageOffset, format);
      return `page ${ref.pageNo}, byte ${pageOffset} of the page${host === null ? '' : `, inside host id ${host}`}`;
    }
    at += length;
  }
  return 'past the end of what the pages give: the sealed file is longer';
}

async function hostAt(source: EvidenceSource, ref: PageRef, offset: number, format: 'XML' | 'CSV'): Promise<number | null> {
  if (format !== 'XML') return null;
  const stream = await source.openPage(ref);
  if (!stream) return null;
  try {
    for await (const hosts of readHosts(stream, 'XML', { detections: false })) {
      for (const host of hosts) if (host.start <= offset && offset < host.end) return host.id;
    }
  } catch {
    // A page too damaged to read past the change: its place is named by byte alone.
  }
  return null;
}

function sealedHashCheck(manifest: AnyManifest, sha256: string, bytes: number): Check {
  const expected = manifest.evidence;
  return sha256 === expected.sha256 && bytes === expected.bytes
    ? pass('sealed-file-sha256', `the sealed file hashes to ${sha256} (${bytes} bytes), as the manifest says`)
    : fail('sealed-file-sha256', `the sealed file hashes to ${sha256} (${bytes} bytes), the manifest says ${expected.sha256} (${expected.bytes} bytes)`);
}

/** Hashes the sealed file alone, re-counting hosts and detections when it is a Host List Detection file. */
async function hashSealed(
  source: EvidenceSource,
  manifest: AnyManifest,
  count: boolean,
): Promise<{ sha256: string; bytes: number; counts: { hosts: number; detections: number; truncated: boolean } | null; unreadable?: string } | { error: string }> {
  let stream: Readable;
  try {
    stream = await source.openSealed(manifest.evidence.blobKey);
  } catch (err) {
    return { error: `the sealed file cannot be read: ${(err as Error).message}` };
  }
  if (!count) return { ...(await hashStream(stream)), counts: null };
  const ingest = new PageIngest(createDetectionPageParser());
  try {
    const result = await ingestIterable(inSlices(stream), ingest);
    const summary = pageSummaryOf(result.result);
    return { sha256: result.sha256, bytes: result.bytes, counts: { hosts: summary.hosts, detections: summary.detections, truncated: summary.truncated } };
  } catch (err) {
    const rehash = await hashStream(await source.openSealed(manifest.evidence.blobKey));
    return { ...rehash, counts: null, unreadable: (err as Error).message };
  }
}
