/**
 * Verification re-performs the seal of real evidence (a fetcher run through
 * Temporal against the simulator), in the database and from an exported
 * folder, and names the place of every kind of tampering.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseEvidenceSource, folderEvidenceSource } from '../audit/evidence-source.js';
import { buildExportZip } from '../audit/export-zip.js';
import { verifyEvidence, type VerificationReport } from '../audit/verify.js';
import { getEvidence } from '../db/evidence.js';
import { evidence as evidenceTable, type EvidenceRow } from '../db/schema.js';
import { buildHostListDetectionParams, hostListDetectionFiltersSchema } from '../qualys/hld-params.js';
import { startRunStack, type RunStack } from './support/run-stack.js';
import { unzipTo } from './support/unzip.js';

const run = promisify(execFile);
let stack: RunStack;
let work: string;
let row: EvidenceRow;
/** An unzipped export of `row`; each test copies it before changing anything. */
let exported: string;
const FILTERS = { severities: [3, 4, 5], statuses: ['New', 'Active', 'Re-Opened', 'Fixed'] as Array<'New' | 'Active' | 'Re-Opened' | 'Fixed'> };
const PAGE_SIZE = 60;

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function sealedRun(): Promise<EvidenceRow> {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, FILTERS, { pageSize: PAGE_SIZE });
  const { result } = await stack.runToEnd(fetcher);
  return (await getEvidence(stack.database.db, result.evidence.evidenceId))!;
}

/** A fresh copy of the exported evidence folder. */
async function copyOfExport(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(work, 'copy-'));
  await fs.cp(exported, dir, { recursive: true });
  return path.join(dir, row.id);
}

function check(report: VerificationReport, name: string) {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${JSON.stringify(report.checks)}`);
  return found;
}

/** Changes one byte at `offset` (a digit becomes another digit, so XML stays well-formed). */
async function flipDigit(file: string, offset: number): Promise<void> {
  const bytes = await fs.readFile(file);
  const b = bytes[offset]!;
  if (b < 0x30 || b > 0x39) throw new Error(`byte ${offset} of ${file} is not a digit`);
  bytes[offset] = b === 0x39 ? 0x30 : b + 1;
  await fs.writeFile(file, bytes);
}

/** Offset of the first digit of the n-th host's IP in an XML document, and that host's id. */
function ipDigitOfHost(xml: string, n: number): { offset: number; hostId: number } {
  let at = -1;
  for (let i = 0; i < n; i++) at = xml.indexOf('<HOST>', at + 1);
  const id = Number(/<ID>(\d+)<\/ID>/.exec(xml.slice(at))![1]);
  // Read as Latin-1: string positions are byte offsets.
  return { offset: xml.indexOf('<IP>', at) + 4, hostId: id };
}

beforeAll(async () => {
  stack = await startRunStack({ simulator: { hosts: 300 } });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-verify-'));
  row = await sealedRun();
  const zip = await buildExportZip(stack.blobStore, [{ row, verification: null }], {
    pages: true,
    request: { id: 'req', title: 'test', periodStart: '2026-01-01', periodEnd: '2026-12-31', status: 'open' },
    generatedAt: new Date(),
    generatedBy: 'test',
  });
  exported = path.join(work, 'export');
  await unzipTo(await streamToBuffer(zip.stream), exported);
});

afterAll(async () => {
  await stack?.close();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('verification', () => {
  it('verifies sealed evidence in the database, re-deriving hosts and detections from the raw pages', async () => {
    const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse(FILTERS), { apiVersion: '5.0', truncationLimit: PAGE_SIZE });
    const expected = stack.sim.dataset.expected(params);
    expect(expected.pages).toBeGreaterThan(3);
    const report = await verifyEvidence(databaseEvidenceSource(row, stack.blobStore));
    expect(report.checks.filter((c) => c.ok !== true)).toEqual([]);
    expect(report).toMatchObject({ verdict: 'verified', sha256: row.sha256, hosts: expected.hosts, detections: expected.detections, manifestVersion: 2 });
    expect(report.checks.map((c) => c.name)).toEqual([
      'manifest',
      'manifest-sha256',
      'evidence-record',
      'page-sha256',
      'page-chain',
      'counts',
      'sealed-file-rederived',
      'sealed-file-sha256',
    ]);
  });

  it('verifies an exported folder offline with the CLI, whose last line is the JSON verdict', async () => {
    const file = path.join(await copyOfExport(), row.filename);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', file], { cwd: process.cwd() });
    const last = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ verdict: 'verified', sha256: row.sha256, hosts: (row.summary as { hosts: number }).hosts });
    expect(last.checks.every((c: { ok: boolean }) => c.ok === true)).toBe(true);
  });

  it('verifies by evidence id from the configured database with the CLI', async () => {
    const env = { ...process.env, DATABASE_URL: stack.databaseUrl!, BLOB_DIR: stack.blobDir, LOG_LEVEL: 'silent' };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', row.id], { env });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ verdict: 'verified', evidenceId: row.id, completeness: 'complete' });
  });

  it('names the page, byte and host when one byte of a raw page changes', async () => {
    const dir = await copyOfExport();
    const page = path.join(dir, 'pages', 'page-0002.xml');
    const { offset, hostId } = ipDigitOfHost(await fs.readFile(page, 'latin1'), 3);
    await flipDigit(page, offset);
    const report = await verifyEvidence(await folderEvidenceSource(path.join(dir, row.filename)));
    expect(report.verdict).toBe('failed');
    expect(check(report, 'page-sha256')).toMatchObject({ ok: false, detail: expect.stringMatching(/page 2 .*page-0002\.xml.* hashes to .*its content changed/) });
    expect(check(report, 'sealed-file-rederived')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(`page 2, byte ${offset} of the page, inside host id ${hostId}`),
    });
    // The sealed file itself is untouched.
    expect(check(report, 'sealed-file-sha256').ok).toBe(true);
  });

  it('names the byte range, page and host when one byte of the sealed file changes, and the CLI exits non-zero', async () => {
    const dir = await copyOfExport();
    const file = path.join(dir, row.filename);
    const { offset, hostId } = ipDigitOfHost(await fs.readFile(file, 'latin1'), 100);
    await flipDigit(file, offset);
    const report = await verifyEvidence(await folderEvidenceSource(file));
    expect(check(report, 'sealed-file-sha256').ok).toBe(false);
    expect(check(report, 'sealed-file-rederived')).toMatchObject({ ok: false, detail: expect.stringContaining(`at bytes ${offset}–${offset}`) });
    expect(check(report, 'sealed-file-rederived').detail).toMatch(new RegExp(`page \\d+, byte \\d+ of the page, inside host id ${hostId}`));
    expect(check(report, 'page-sha256').ok).toBe(true);
    const cli = await run(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', file]).catch((err: { code: number; stdout: string }) => err);
    expect('code' in cli && cli.code).toBe(1);
    expect(JSON.parse(cli.stdout.trim().split('\n').at(-1)!).verdict).toBe('failed');
  });

  it('detects a changed manifest against the hash in index.json and names the page whose hash it changed', async () => {
    const dir = await copyOfExport();
    const manifestPath = path.join(dir, 'manifest.json');
    const text = await fs.readFile(manifestPath, 'utf8');
    const manifest = JSON.parse(text);
    const pageHash: string = manifest.pages[1].sha256;
    const at = text.indexOf(`"sha256":"${pageHash}"`) + '"sha256":"'.length + 63;
    const flipped = text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1);
    await fs.writeFile(manifestPath, flipped);
    const report = await verifyEvidence(await folderEvidenceSource(path.join(dir, row.filename)));
    expect(check(report, 'manifest-sha256')).toMatchObject({ ok: false, detail: expect.stringContaining('index.json') });
    // The schema refuses a page hash that no longer matches its blob key, naming the field.
    expect(check(report, 'manifest')).toMatchObject({ ok: false, detail: expect.stringContaining('pages.1.sha256') });
  });

  it('names the first changed field when the manifest in the database differs from the one sealed', async () => {
    const other = await sealedRun();
    const manifest = structuredClone(other.manifest) as { fetcher: { name: string } };
    manifest.fetcher.name = `${manifest.fetcher.name}!`;
    await stack.database.db.update(evidenceTable).set({ manifest }).where(eq(evidenceTable.id, other.id));
    const report = await verifyEvidence(databaseEvidenceSource((await getEvidence(stack.database.db, other.id))!, stack.blobStore));
    expect(report.verdict).toBe('failed');
    expect(check(report, 'manifest-sha256')).toMatchObject({ ok: false, detail: expect.stringMatching(/first difference at fetcher\.name \(sealed "HLD .*", now "HLD .*!"\)/) });
  });

  it('names a dropped page', async () => {
    const dir = await copyOfExport();
    await fs.rm(path.join(dir, 'pages', 'page-0003.xml'));
    const report = await verifyEvidence(await folderEvidenceSource(path.join(dir, row.filename)));
    expect(report.verdict).toBe('failed');
    expect(check(report, 'page-sha256')).toMatchObject({ ok: false, detail: expect.stringContaining('page 3 is missing') });
  });

  it('names two swapped pages', async () => {
    const dir = await copyOfExport();
    const [p2, p3] = [path.join(dir, 'pages', 'page-0002.xml'), path.join(dir, 'pages', 'page-0003.xml')];
    await fs.rename(p2, `${p2}.tmp`);
    await fs.rename(p3, p2);
    await fs.rename(`${p2}.tmp`, p3);
    const report = await verifyEvidence(await folderEvidenceSource(path.join(dir, row.filename)));
    expect(check(report, 'page-sha256').detail).toContain('page 2 holds the bytes of page 3');
    expect(check(report, 'page-sha256').detail).toContain('page 3 holds the bytes of page 2');
    expect(check(report, 'page-chain')).toMatchObject({ ok: false, detail: expect.stringMatching(/page 3 starts at host id \d+, not above host id \d+ that ends page 2/) });
  });

  it('drops a page from the manifest in the database: the chain and the re-derived file say where', async () => {
    const other = await sealedRun();
    const manifest = structuredClone(other.manifest) as { pages: Array<{ pageNo: number }> };
    manifest.pages.splice(2, 1);
    manifest.pages.forEach((p, i) => (p.pageNo = i + 1));
    await stack.database.db.update(evidenceTable).set({ manifest }).where(eq(evidenceTable.id, other.id));
    const report = await verifyEvidence(databaseEvidenceSource((await getEvidence(stack.database.db, other.id))!, stack.blobStore));
    // Within a range the cursor names the gap; across ranges of a range-parallel pull, the range bounds do.
    expect(check(report, 'page-chain')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/page 3 (was requested with id_min \d+ but page 2 named \d+ as the next id_min|starts a range at id_min \d+ but the previous range ended at id_max \d+)/),
    });
    expect(check(report, 'sealed-file-rederived')).toMatchObject({ ok: false, detail: expect.stringMatching(/differs from the pages sealed again at bytes \d+.*page 3/) });
  });

  it('verifies what it can without the raw pages and says what it could not: partial', async () => {
    const dir = await copyOfExport();
    await fs.rm(path.join(dir, 'pages'), { recursive: true });
    const report = await verifyEvidence(await folderEvidenceSource(path.join(dir, row.filename)));
    expect(report.verdict).toBe('partial');
    expect(check(report, 'sealed-file-sha256').ok).toBe(true);
    expect(check(report, 'counts')).toMatchObject({ ok: true, detail: expect.stringContaining('from the sealed file alone') });
    expect(check(report, 'page-sha256')).toMatchObject({ ok: null, detail: expect.stringContaining('raw pages are not at hand') });
    expect(report.hosts).toBe((row.summary as { hosts: number }).hosts);
  });
});
