import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { evidenceFilename } from '../evidence/filename.js';
import { evidenceContentType } from '../evidence/format.js';
import { buildManifest, canonicalJson, ManifestValidationError, readManifest, type ManifestInput } from '../evidence/manifest.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const keyOf = (sha: string) => `sha256/${sha.slice(0, 2)}/${sha}`;
const [page1, page2, sealed] = [hash('page 1'), hash('page 2'), hash('sealed')];

function validInput(): ManifestInput {
  return {
    product: { name: 'qualys-evidence-connector', version: '0.1.0' },
    fetcher: {
      id: 'f-1',
      name: 'PCI quarterly scan',
      kind: 'host_list_detection',
      definition: { format: 'XML', severities: [4, 5], ips: '10.0.0.1-10.0.0.100', extra: { show_igs: '1' } },
    },
    qualys: {
      platform: 'US1',
      apiBaseUrl: 'https://qualysapi.qualys.com',
      apiVersion: '5.0',
      endpoint: '/api/5.0/fo/asset/host/vm/detection/',
      method: 'POST',
      params: { action: 'list', severities: '4-5', ips: '10.0.0.1-10.0.0.100', truncation_limit: '1000' },
    },
    run: {
      id: 'r-1',
      trigger: 'schedule',
      triggeredBy: 'pci-quarterly',
      workflowId: 'run-r-1',
      startedAt: new Date('2026-11-28T10:00:00Z'),
      finishedAt: '2026-11-28T11:30:00+01:00',
      collectedAt: '2026-11-28T10:02:11Z',
      backfill: true,
    },
    pages: [
      { pageNo: 1, idMin: null, idMax: null, blobKey: keyOf(page1), bytes: 1000, sha256: page1, qualysDatetime: '2026-11-28T10:00:05Z', attempts: 1, hosts: 1000, detections: 21000, firstHostId: 11, lastHostId: 5011, truncated: true, nextIdMin: 5012 },
      { pageNo: 2, idMin: 5012, idMax: null, blobKey: keyOf(page2), bytes: 800, sha256: page2, qualysDatetime: '2026-11-28T10:02:11Z', attempts: 3, hosts: 17, detections: 301, firstHostId: 5012, lastHostId: 5100, truncated: false, nextIdMin: null },
    ],
    waits: [{ reason: 'rate_limit', seconds: 42, at: '2026-11-28T10:01:00Z' }],
    retries: 2,
    summary: { hosts: 1017, detections: 21301, severity: { '4': 20000, '5': 1301 } },
    evidence: {
      blobKey: keyOf(sealed),
      sha256: sealed,
      bytes: 1790,
      format: 'XML',
      contentType: 'application/xml',
      filename: 'qualys-pci-quarterly-scan-2026-11-28.xml',
    },
    complete: true,
    completeness: { verdict: 'unknown', reason: 'host-id-list: not performed', checks: [{ name: 'no-truncation', ok: true, detail: 'x' }], reconciliation: null },
  };
}

describe('the evidence manifest', () => {
  it('builds a versioned manifest with timestamps normalised to UTC', () => {
    const manifest = buildManifest(validInput());
    expect(manifest.manifestVersion).toBe(2);
    expect(manifest.run.startedAt).toBe('2026-11-28T10:00:00.000Z');
    expect(manifest.run.finishedAt).toBe('2026-11-28T10:30:00.000Z');
    expect(manifest.waits[0]!.at).toBe('2026-11-28T10:01:00.000Z');
    expect(manifest.pages.map((p) => p.pageNo)).toEqual([1, 2]);
    // What comes out is plain JSON and builds the same manifest again.
    expect(buildManifest(JSON.parse(JSON.stringify(manifest)))).toEqual(manifest);
  });

  it('still reads version 1 manifests, which have no cursors, collection time or completeness', () => {
    const v2 = buildManifest(validInput());
    const { completeness: _c, ...rest } = v2;
    const v1 = {
      ...rest,
      manifestVersion: 1,
      run: { id: v2.run.id, trigger: v2.run.trigger, triggeredBy: v2.run.triggeredBy, workflowId: v2.run.workflowId, startedAt: v2.run.startedAt, finishedAt: v2.run.finishedAt },
      // A version 1 manifest of a range pull (before completeness) reads as well.
      ranges: [{ rangeNo: 1, idMin: null, idMax: null, listedHosts: 10 }],
      pages: v2.pages.map(({ idMax: _a, firstHostId: _b, lastHostId: _d, truncated: _e, nextIdMin: _f, ...page }) => page),
    };
    const read = readManifest(JSON.parse(JSON.stringify(v1)));
    expect(read.ok && read.manifest.manifestVersion).toBe(1);
    const broken = readManifest({ ...v1, pages: [] });
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.issues[0]!.path).toBe('pages');
    expect(readManifest(JSON.parse(JSON.stringify(v2)))).toEqual({ ok: true, manifest: v2 });
  });

  const invalid: Array<[string, (m: ManifestInput & Record<string, unknown>) => void, RegExp]> = [
    ['a credential among the request parameters', (m) => (m.qualys.params = { ...m.qualys.params, password: 'x' }), /qualys\.params: must not hold credentials/],
    ['credentials in the API URL', (m) => (m.qualys.apiBaseUrl = 'https://demo:secret@qualysapi.qualys.com'), /qualys\.apiBaseUrl: must not carry credentials/],
    ['a full URL as endpoint', (m) => (m.qualys.endpoint = 'https://evil.example/api'), /qualys\.endpoint: expected a path/],
    ['a page key that is not a blob key', (m) => (m.pages[0]!.blobKey = '../../etc/passwd'), /pages\.0\.blobKey: expected a blob key/],
    ['a page hash that does not match its key', (m) => (m.pages[1]!.sha256 = page1), /pages\.1\.sha256: sha256 does not match the hash in blobKey/],
    ['pages out of order', (m) => m.pages.reverse(), /pages: pageNo must run 1, 2, 3/],
    ['no pages', (m) => (m.pages = []), /pages: /],
    ['a run that ends before it starts', (m) => (m.run.finishedAt = '2026-11-28T09:00:00Z'), /run\.finishedAt: must not be before startedAt/],
    ['an unknown wait reason', (m) => (m.waits[0]!.reason = 'coffee' as 'rate_limit'), /waits\.0\.reason: /],
    ['a file name with a path', (m) => (m.evidence.filename = '../qualys.xml'), /evidence\.filename: expected a plain file name/],
    ['an unknown format', (m) => (m.evidence.format = 'pdf' as 'XML'), /evidence\.format: /],
    ['an unknown field', (m) => (m.extra = 1), /\(root\): Unrecognized key: "extra"/],
    ['negative retries', (m) => (m.retries = -1), /retries: /],
    ['a date that is not a timestamp', (m) => (m.run.startedAt = 'yesterday'), /run\.startedAt: /],
  ];
  it.each(invalid)('rejects %s, naming the field', (_, mutate, message) => {
    const input = validInput() as ManifestInput & Record<string, unknown>;
    mutate(input);
    expect(() => buildManifest(input)).toThrow(ManifestValidationError);
    expect(() => buildManifest(input)).toThrow(message);
  });
});

describe('canonical JSON', () => {
  it('writes keys in a stable order whatever order they were built in', () => {
    const a = { b: 1, a: { d: [3, { z: true, y: null }], c: 'é\n"' } };
    const b = { a: { c: 'é\n"', d: [3, { y: null, z: true }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":"é\\n\\"","d":[3,{"y":null,"z":true}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(canonicalJson({ b: undefined, a: 1, '\u00e9': 2, Z: 3 })).toBe('{"Z":3,"a":1,"é":2}');
    expect(canonicalJson([1e21, 0.1, -0])).toBe('[1e+21,0.1,0]');
  });

  it('gives a manifest the same text and hash however its input was ordered', () => {
    const reverseKeys = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reverseKeys)
        : value && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]))
          : value;
    const manifest = buildManifest(validInput());
    const reversed = buildManifest(reverseKeys(JSON.parse(JSON.stringify(manifest))) as ManifestInput);
    expect(JSON.stringify(reversed)).not.toBe(JSON.stringify(manifest));
    const text = canonicalJson(manifest);
    expect(canonicalJson(reversed)).toBe(text);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it('refuses values without a JSON form, naming where they are', () => {
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow('$.a[1]: NaN has no JSON form');
    expect(() => canonicalJson({ at: new Date() })).toThrow(/\$\.at: only plain objects .* got Date/);
    expect(() => canonicalJson([undefined])).toThrow('$[0]: a value of type undefined has no JSON form');
    expect(() => canonicalJson({ n: 1n })).toThrow('$.n: a value of type bigint has no JSON form');
  });
});

describe('evidence file names and content types', () => {
  const createdAt = new Date('2026-11-28T22:30:00Z');
  it.each([
    ['PCI Quarterly Scan', 'XML', 'qualys-pci-quarterly-scan-2026-11-28.xml'],
    ['FedRAMP RA-5 / monthly', 'CSV', 'qualys-fedramp-ra-5-monthly-2026-11-28.csv'],
    ['../../etc/passwd', 'XML', 'qualys-etc-passwd-2026-11-28.xml'],
    ['Zürich Café — Prod', 'XML', 'qualys-zurich-cafe-prod-2026-11-28.xml'],
    ['日本語のスキャン', 'CSV', 'qualys-evidence-2026-11-28.csv'],
    ['a"b\r\nContent-Type: text/html', 'XML', 'qualys-a-b-content-type-text-html-2026-11-28.xml'],
    ['x'.repeat(500), 'XML', `qualys-${'x'.repeat(60)}-2026-11-28.xml`],
  ] as const)('names %j evidence safely', (fetcherName, format, expected) => {
    expect(evidenceFilename({ fetcherName, createdAt, format })).toBe(expected);
  });

  it('uses the UTC date and picks a raw answer extension from its content type', () => {
    expect(evidenceFilename({ fetcherName: 'Scans', createdAt: new Date('2026-11-28T23:30:00-05:00'), format: 'XML' })).toBe('qualys-scans-2026-11-29.xml');
    expect(evidenceFilename({ fetcherName: 'Scans', createdAt, format: 'RAW', contentType: 'text/xml; charset=UTF-8' })).toBe('qualys-scans-2026-11-28.xml');
    expect(evidenceFilename({ fetcherName: 'Scans', createdAt, format: 'RAW', contentType: 'application/json' })).toBe('qualys-scans-2026-11-28.json');
    expect(evidenceFilename({ fetcherName: 'Scans', createdAt, format: 'RAW', contentType: null })).toBe('qualys-scans-2026-11-28.bin');
    expect(() => evidenceFilename({ fetcherName: 'Scans', createdAt: new Date('nope'), format: 'XML' })).toThrow('createdAt must be a valid Date');
  });

  it('serves sealed files with their format type and raw ones with the upstream type only when it is well formed', () => {
    expect(evidenceContentType('XML')).toBe('application/xml');
    expect(evidenceContentType('CSV', 'text/plain')).toBe('text/csv');
    expect(evidenceContentType('RAW', 'text/xml; charset=UTF-8')).toBe('text/xml; charset=UTF-8');
    expect(evidenceContentType('RAW', 'text/html\r\nSet-Cookie: a=b')).toBe('application/octet-stream');
    expect(evidenceContentType('RAW', 'nonsense')).toBe('application/octet-stream');
    expect(evidenceContentType('RAW')).toBe('application/octet-stream');
  });
});
