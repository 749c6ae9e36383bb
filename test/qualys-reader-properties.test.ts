/**
 * Property tests of the Host List Detection page readers (fast-check):
 * generated documents, in every shape Qualys writes them (optional PORT,
 * PROTOCOL, SEVERITY and STATUS; text as CDATA split anywhere, character
 * references or around comments; CSV cells quoted or not, spanning lines,
 * with suppressed duplicate host rows), fed in random chunkings, give the
 * summary a plain count of the generated model gives. Hostile documents
 * fail fast, without holding what they send.
 *
 * Seeded; FUZZ_RUNS multiplies the number of runs and FUZZ_SEED picks
 * another seed (see the README's testing section).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readDetectionPage } from '../qualys/detection-page-reader.js';
import { customRequestSchema } from '../qualys/custom-request.js';
import { ENDPOINT_PATH_PATTERN } from '../qualys/endpoint-path.js';
import { QualysContractError, QualysProtocolError, QualysSecurityError } from '../qualys/errors.js';
import { DETECTION_STATUSES, DETECTION_TYPES, SEVERITIES, type PageSummary } from '../qualys/page-summary.js';
import { MAX_DEPTH, MAX_PENDING_TEXT } from '../qualys/xml-source.js';
import { sha256 } from './fixtures/qualys/helpers.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1));
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const options = (numRuns: number) => ({ seed: SEED, numRuns: numRuns * RUNS });

// ---------------------------------------------------------------- the model

interface Detection {
  qid: number;
  type: string;
  severity?: string;
  status?: string;
  port?: number;
  protocol?: string;
  results?: string;
}

interface Host {
  id: number;
  detections: Detection[];
}

interface Page {
  datetime: string;
  hosts: Host[];
  /** The next page's id_min when the page is truncated. */
  nextIdMin: number | null;
}

/** Text that stresses the readers: markup look-alikes, CDATA ends, CSV quotes and markers, multi-byte characters. */
const nastyText = fc.string({
  unit: fc.constantFrom('a', 'Z', '0', ' ', '\n', '\r\n', '<', '>', '&', ']', ']]>', '"', ',', "'", '----BEGIN_RESPONSE_FOOTER_CSV', '<HOST><ID>1</ID>', 'é', '試', '🔒', '&amp;'),
  maxLength: 40,
});

const detectionArb: fc.Arbitrary<Detection> = fc.record(
  {
    qid: fc.integer({ min: 1, max: 999_999 }),
    type: fc.constantFrom(...DETECTION_TYPES, 'Ig'),
    severity: fc.constantFrom(...SEVERITIES, '0'),
    status: fc.constantFrom(...DETECTION_STATUSES, 'Unknown'),
    port: fc.integer({ min: 1, max: 65_535 }),
    protocol: fc.constantFrom('tcp', 'udp'),
    results: nastyText,
  },
  { requiredKeys: ['qid', 'type'] },
);

const pageArb: fc.Arbitrary<Page> = fc
  .record({
    datetime: fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().replace(/\.\d+Z$/, 'Z')),
    ids: fc.uniqueArray(fc.integer({ min: 1, max: 2_000_000_000 }), { maxLength: 7 }),
    detections: fc.array(fc.array(detectionArb, { maxLength: 4 }), { minLength: 7, maxLength: 7 }),
    truncated: fc.boolean(),
    gap: fc.integer({ min: 1, max: 1000 }),
  })
  .map(({ datetime, ids, detections, truncated, gap }) => {
    const sorted = [...ids].sort((a, b) => a - b);
    const hosts = sorted.map((id, i) => ({ id, detections: detections[i]! }));
    return { datetime, hosts, nextIdMin: truncated ? (sorted.at(-1) ?? 0) + gap : null };
  });

/** What the summary must say, counted straight from the model: a missing value in `none`, an undocumented one in `other`. */
function expectedSummary(page: Page): Partial<PageSummary> {
  const counts = (buckets: readonly string[]) => Object.fromEntries(buckets.map((k) => [k, 0])) as Record<string, number>;
  const severity = counts([...SEVERITIES, 'none', 'other']);
  const status = counts([...DETECTION_STATUSES, 'none', 'other']);
  const type = counts([...DETECTION_TYPES, 'none', 'other']);
  const bucket = (documented: readonly string[], value: string | undefined) => (value === undefined ? 'none' : documented.includes(value) ? value : 'other');
  const matrix: Record<string, number> = {};
  let detections = 0;
  for (const d of page.hosts.flatMap((h) => h.detections)) {
    detections++;
    const sev = bucket(SEVERITIES, d.severity);
    const st = bucket(DETECTION_STATUSES, d.status);
    const ty = bucket(DETECTION_TYPES, d.type);
    severity[sev]!++;
    status[st]!++;
    type[ty]!++;
    const key = `${sev}|${st}|${ty}`;
    matrix[key] = (matrix[key] ?? 0) + 1;
  }
  const ids = page.hosts.map((h) => h.id);
  return {
    hosts: page.hosts.length,
    detections,
    severity: severity as PageSummary['severity'],
    status: status as PageSummary['status'],
    type: type as PageSummary['type'],
    matrix,
    minHostId: ids.length ? Math.min(...ids) : null,
    maxHostId: ids.length ? Math.max(...ids) : null,
    datetime: page.datetime,
    truncated: page.nextIdMin !== null,
    nextIdMin: page.nextIdMin,
  };
}

const nextUrl = (idMin: number) => `https://qualysapi.qualys.com/api/5.0/fo/asset/host/vm/detection/?action=list&truncation_limit=7&id_min=${idMin}`;

// ------------------------------------------------------------- XML writing

/** How one text value is written; every style reads back as the same value. */
type TextStyle = { kind: 'plain' } | { kind: 'cdata' } | { kind: 'cdata-split'; at: number } | { kind: 'char-refs' } | { kind: 'comment-split'; at: number };

const styleArb: fc.Arbitrary<TextStyle> = fc.oneof(
  fc.constant({ kind: 'plain' as const }),
  fc.constant({ kind: 'cdata' as const }),
  fc.nat().map((at) => ({ kind: 'cdata-split' as const, at })),
  fc.constant({ kind: 'char-refs' as const }),
  fc.nat().map((at) => ({ kind: 'comment-split' as const, at })),
);

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cdata = (text: string) => `<![CDATA[${text.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;

function xmlText(value: string, style: TextStyle): string {
  const cut = (at: number) => Math.min(at % (value.length + 1), value.length);
  switch (style.kind) {
    case 'plain':
      return escapeXml(value);
    case 'cdata':
      return cdata(value);
    case 'cdata-split':
      return cdata(value.slice(0, cut(style.at))) + cdata(value.slice(cut(style.at)));
    case 'char-refs':
      return [...value].map((c, i) => (i % 2 ? `&#${c.codePointAt(0)};` : `&#x${c.codePointAt(0)!.toString(16)};`)).join('');
    case 'comment-split':
      return `${escapeXml(value.slice(0, cut(style.at)))}<!-- between -->${escapeXml(value.slice(cut(style.at)))}`;
  }
}

interface XmlShape {
  styles: TextStyle[];
  comments: boolean[];
  trialComments: boolean;
  indent: boolean;
}

const xmlShapeArb: fc.Arbitrary<XmlShape> = fc.record({
  styles: fc.array(styleArb, { minLength: 16, maxLength: 16 }),
  comments: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
  trialComments: fc.boolean(),
  indent: fc.boolean(),
});

function renderXml(page: Page, shape: XmlShape): string {
  let n = 0;
  const style = () => shape.styles[n++ % shape.styles.length]!;
  let c = 0;
  const maybeComment = () => (shape.comments[c++ % shape.comments.length] ? '<!-- Qualys comment é -->' : '');
  const nl = shape.indent ? '\n  ' : '';
  const leaf = (name: string, value: string) => `<${name}>${xmlText(value, style())}</${name}>${maybeComment()}${nl}`;
  const parts: string[] = [
    '<?xml version="1.0" encoding="UTF-8" ?>\n',
    '<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM "https://qualysapi.qualys.com/api/5.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd">\n',
    shape.trialComments ? '<!-- 試用版 trial subscription -->\n' : '',
    `<HOST_LIST_VM_DETECTION_OUTPUT>${nl}<RESPONSE>${nl}`,
    leaf('DATETIME', page.datetime),
  ];
  if (page.hosts.length > 0) {
    parts.push(`<HOST_LIST>${maybeComment()}${nl}`);
    for (const host of page.hosts) {
      parts.push(`<HOST>${nl}`, leaf('ID', String(host.id)), leaf('IP', '10.0.0.1'), '<DNS_DATA><HOSTNAME>h</HOSTNAME><DOMAIN/></DNS_DATA>');
      if (host.detections.length > 0) {
        parts.push(`<DETECTION_LIST>${nl}`);
        for (const d of host.detections) {
          parts.push(`<DETECTION>${maybeComment()}`, leaf('QID', String(d.qid)), leaf('TYPE', d.type));
          if (d.severity !== undefined) parts.push(leaf('SEVERITY', d.severity));
          if (d.port !== undefined) parts.push(leaf('PORT', String(d.port)));
          if (d.protocol !== undefined) parts.push(leaf('PROTOCOL', d.protocol));
          parts.push('<SSL>0</SSL>');
          if (d.results !== undefined) parts.push(`<RESULTS>${cdata(d.results)}</RESULTS>`);
          if (d.status !== undefined) parts.push(leaf('STATUS', d.status));
          parts.push(`</DETECTION>${nl}`);
        }
        parts.push(`</DETECTION_LIST>${nl}`);
      }
      parts.push(`</HOST>${maybeComment()}${nl}`);
    }
    parts.push(`</HOST_LIST>${nl}`);
  }
  if (page.nextIdMin !== null) {
    parts.push(`<WARNING>${nl}`, leaf('CODE', '1980'), leaf('TEXT', '7 record limit exceeded. Use URL to get next batch of results.'), leaf('URL', nextUrl(page.nextIdMin)), `</WARNING>${nl}`);
  }
  parts.push(`</RESPONSE>${nl}</HOST_LIST_VM_DETECTION_OUTPUT>\n<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. -->\n`);
  if (shape.trialComments) parts.push('<!-- trial ends -->\n');
  return parts.join('');
}

// ------------------------------------------------------------- CSV writing

const COLUMNS = ['Host ID', 'IP Address', 'Tracking Method', 'QID', 'Type', 'Port', 'Protocol', 'SSL', 'Status', 'Severity', 'Results', 'Times Found'] as const;
type Column = (typeof COLUMNS)[number];
const HOST_COLUMNS = new Set<Column>(['Host ID', 'IP Address', 'Tracking Method']);

interface CsvShape {
  columns: Column[];
  quoteAll: boolean;
  quoteSeed: boolean[];
  suppressDuplicates: boolean;
}

const csvShapeArb: fc.Arbitrary<CsvShape> = fc.record({
  columns: fc.shuffledSubarray([...COLUMNS], { minLength: COLUMNS.length, maxLength: COLUMNS.length }),
  quoteAll: fc.boolean(),
  quoteSeed: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
  suppressDuplicates: fc.boolean(),
});

function renderCsv(page: Page, shape: CsvShape): string {
  let q = 0;
  const cell = (value: string | undefined) => {
    if (value === undefined || value === '') return shape.quoteSeed[q++ % shape.quoteSeed.length] ? '""' : '';
    const mustQuote = /[",\r\n]/.test(value) || value.startsWith('-');
    return mustQuote || shape.quoteAll || shape.quoteSeed[q++ % shape.quoteSeed.length] ? `"${value.replace(/"/g, '""')}"` : value;
  };
  const row = (values: Partial<Record<Column, string>>) => shape.columns.map((column) => cell(values[column])).join(',');
  const hostValues = (host: Host): Partial<Record<Column, string>> => ({ 'Host ID': String(host.id), 'IP Address': '10.0.0.1', 'Tracking Method': 'IP' });
  const detectionValues = (d: Detection): Partial<Record<Column, string>> => ({
    QID: String(d.qid),
    Type: d.type,
    Port: d.port === undefined ? undefined : String(d.port),
    Protocol: d.protocol,
    SSL: '0',
    Status: d.status,
    Severity: d.severity,
    Results: d.results,
    'Times Found': '3',
  });
  const lines = [
    '----BEGIN_RESPONSE_HEADER_CSV',
    `"Request Datetime","${page.datetime}"`,
    '----END_RESPONSE_HEADER_CSV',
    '----BEGIN_RESPONSE_BODY_CSV',
    shape.columns.map((c) => `"${c}"`).join(','),
  ];
  for (const host of page.hosts) {
    if (shape.suppressDuplicates || host.detections.length === 0) lines.push(row(hostValues(host)));
    host.detections.forEach((d) => {
      const blankHost = Object.fromEntries([...HOST_COLUMNS].map((c) => [c, undefined]));
      lines.push(row({ ...(shape.suppressDuplicates ? blankHost : hostValues(host)), ...detectionValues(d) }));
    });
  }
  lines.push('----END_RESPONSE_BODY_CSV', '----BEGIN_RESPONSE_FOOTER_CSV');
  if (page.nextIdMin === null) lines.push('"Status Message"', '"Finished"');
  else lines.push('"Status Message","Next ID","Next URL"', `"Truncated","${page.nextIdMin}","${nextUrl(page.nextIdMin)}"`);
  lines.push('----END_RESPONSE_FOOTER_CSV', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- chunking

/** Where to cut the bytes: fractions of the length, or every byte. */
const chunkingArb = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }).map((cuts) => ({ kind: 'cuts' as const, cuts })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bytes' as const, cuts: [] as number[] }) },
);

function chunked(bytes: Buffer, chunking: { kind: 'cuts' | 'bytes'; cuts: number[] }): Buffer[] {
  if (chunking.kind === 'bytes') return [...bytes].map((b) => Buffer.from([b]));
  const positions = [...new Set(chunking.cuts.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const at of [...positions, bytes.length]) {
    if (at > from) pieces.push(bytes.subarray(from, at));
    from = Math.max(from, at);
  }
  return pieces;
}

async function* fromChunks(chunks: Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

async function readChunked(bytes: Buffer, chunking: { kind: 'cuts' | 'bytes'; cuts: number[] }) {
  return readDetectionPage(fromChunks(chunked(bytes, chunking)));
}

describe('Host List Detection readers against a reference count', () => {
  it('XML: any shape, any chunking, the same summary as the model', async () => {
    await fc.assert(
      fc.asyncProperty(pageArb, xmlShapeArb, chunkingArb, async (page, shape, chunking) => {
        const bytes = Buffer.from(renderXml(page, shape), 'utf8');
        const { summary, bytes: length, sha256: hash } = await readChunked(bytes, chunking);
        const expected = expectedSummary(page);
        expect(summary).toMatchObject({ format: 'XML', ...expected });
        expect(summary.matrix).toEqual(expected.matrix);
        expect(length).toBe(bytes.length);
        expect(hash).toBe(sha256(bytes));
      }),
      options(150),
    );
  });

  it('CSV: any quoting, multi-line cells, suppressed duplicate rows, any chunking, the same summary as the model', async () => {
    await fc.assert(
      fc.asyncProperty(pageArb, csvShapeArb, chunkingArb, async (page, shape, chunking) => {
        const bytes = Buffer.from(renderCsv(page, shape), 'utf8');
        const { summary, bytes: length } = await readChunked(bytes, chunking);
        const expected = expectedSummary(page);
        expect(summary).toMatchObject({ format: 'CSV', ...expected });
        expect(summary.matrix).toEqual(expected.matrix);
        expect(length).toBe(bytes.length);
      }),
      options(150),
    );
  });
});

// ------------------------------------------------------------ hostile XML

// A full collection before each memory sample, so that what is measured is what the reader holds, not garbage not yet collected.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;
const retainedHeap = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

/** Streams `head`, `count` repeats of `unit`, then `tail`, counting the bytes the reader pulled and sampling the heap it holds. */
function streamed(head: string, unit: Buffer, count: number, tail: string) {
  const pulled = { bytes: 0, peakHeapGrowth: 0 };
  const baseline = retainedHeap();
  let chunks = 0;
  async function* source(): AsyncGenerator<Buffer> {
    const step = (chunk: Buffer) => {
      pulled.bytes += chunk.length;
      if (++chunks % 64 === 0) pulled.peakHeapGrowth = Math.max(pulled.peakHeapGrowth, retainedHeap() - baseline);
      return chunk;
    };
    yield step(Buffer.from(head));
    for (let i = 0; i < count; i++) yield step(unit);
    yield step(Buffer.from(tail));
  }
  return { source: source(), pulled };
}

const MB = 1024 * 1024;
const HEAD = '<?xml version="1.0" encoding="UTF-8" ?>\n<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE>';
const hosts = (n: number) => Buffer.from('<HOST><ID>1</ID><DETECTION_LIST><DETECTION><TYPE>Confirmed</TYPE></DETECTION></DETECTION_LIST></HOST>'.repeat(n));

describe('hostile XML fails fast, in flat memory', () => {
  it.each([
    ['an internal DTD', '<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT [ <!ENTITY x "y"> ]>'],
    ['a billion-laughs DTD', `<!DOCTYPE lolz [ <!ENTITY lol "lol"> ${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join(' ')} ]>`],
    ['an external entity', '<!DOCTYPE x [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>'],
  ])('%s: refused as a security error before the body is read', async (_name, doctype) => {
    const { source, pulled } = streamed(`<?xml version="1.0"?>\n${doctype}\n<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>&lol9;</DATETIME><HOST_LIST>`, hosts(1000), 500, '</HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>');
    const err = await readDetectionPage(source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysSecurityError);
    expect(err).toMatchObject({ retryable: false });
    expect(pulled.bytes).toBeLessThan(MB);
  });

  it('an entity reference without a DTD: never expanded, a protocol error', async () => {
    const { source } = streamed(`${HEAD}<DATETIME>&lol9;</DATETIME>`, hosts(1), 1, '</RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>');
    await expect(readDetectionPage(source)).rejects.toThrow(QualysProtocolError);
  });

  it(`deep nesting: refused past ${MAX_DEPTH} levels, long before the end`, async () => {
    const { source, pulled } = streamed(HEAD, Buffer.from('<a>'.repeat(20_000)), 500, '');
    const err = await readDetectionPage(source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysContractError);
    expect((err as Error).message).toMatch(/nests elements more than 256 deep/);
    expect(pulled.bytes).toBeLessThan(MB);
  });

  it('a 100 MB text node the reader collects: refused once it passes the limit, without holding it', async () => {
    const { source, pulled } = streamed(`${HEAD}<DATETIME>`, Buffer.alloc(64 * 1024, 'x'), 1600, '</DATETIME></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>');
    const err = await readDetectionPage(source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysContractError);
    expect(pulled.bytes).toBeLessThan(MAX_PENDING_TEXT + MB);
    expect(pulled.peakHeapGrowth, `${(pulled.peakHeapGrowth / MB).toFixed(0)} MB`).toBeLessThan(2 * MAX_PENDING_TEXT);
  });

  it('a 100 MB RESULTS text the reader skips: read through in flat memory, counted right', async () => {
    const head = `${HEAD}<DATETIME>now</DATETIME><HOST_LIST><HOST><ID>7</ID><DETECTION_LIST><DETECTION><TYPE>Confirmed</TYPE><SEVERITY>5</SEVERITY><RESULTS><![CDATA[`;
    const { source, pulled } = streamed(head, Buffer.alloc(64 * 1024, 'r'), 1600, ']]></RESULTS><STATUS>New</STATUS></DETECTION></DETECTION_LIST></HOST></HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>');
    const { summary } = await readDetectionPage(source);
    expect(summary).toMatchObject({ hosts: 1, detections: 1, matrix: { '5|New|Confirmed': 1 } });
    expect(pulled.bytes).toBeGreaterThan(100 * MB);
    expect(pulled.peakHeapGrowth, `${(pulled.peakHeapGrowth / MB).toFixed(0)} MB`).toBeLessThan(8 * MB);
  });
});

describe('the custom endpoint pattern in the OpenAPI document', () => {
  it('accepts exactly the paths custom requests accept', () => {
    const pattern = new RegExp(ENDPOINT_PATH_PATTERN, 'u');
    const pathArb = fc.string({ unit: fc.constantFrom('/', 'api', '2.0', 'fo', 'session', 'scan', '.', '..', '%2e', '%2F', '%00', '?', '#', ' ', '\\', 'a', '=', '\t', 'é', '\ud800', '\udc00', '🔒'), maxLength: 10 });
    fc.assert(
      fc.property(pathArb, (path) => {
        expect(pattern.test(path), JSON.stringify(path)).toBe(customRequestSchema.safeParse({ endpoint: path }).success);
      }),
      options(2000),
    );
  });
});
