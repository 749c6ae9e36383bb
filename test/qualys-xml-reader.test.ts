import type { SaxesTagPlain } from 'saxes';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { HashingFileSink } from '../evidence/hashing-file-sink.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import { readDetectionPage } from '../qualys/detection-page-reader.js';
import { QualysProtocolError, QualysSecurityError } from '../qualys/errors.js';
import type { XmlLayout } from '../qualys/page-summary.js';
import { XmlSource } from '../qualys/xml-source.js';
import { chunksOf, CollectingSink, fixture, sha256 } from './fixtures/qualys/helpers.js';

const slice = (buf: Buffer, range: { start: number; end: number } | null) => (range ? buf.subarray(range.start, range.end).toString('utf8') : null);

describe('Host List Detection XML page reader', () => {
  it('summarizes a page shaped like real output and passes the exact bytes to the sink', async () => {
    const doc = fixture('hld-basic.xml');
    const sink = new CollectingSink();
    const { summary, bytes, sha256: hash } = await readDetectionPage(chunksOf(doc, 64 * 1024), { sink });

    expect(sink.bytes.equals(doc)).toBe(true);
    expect(sink.writableFinished).toBe(true);
    expect(bytes).toBe(doc.length);
    expect(hash).toBe(sha256(doc));
    expect(summary).toMatchObject({
      format: 'XML',
      hosts: 3,
      detections: 5,
      severity: { '1': 1, '2': 1, '3': 1, '4': 1, '5': 1 },
      status: { New: 1, Active: 2, Fixed: 1, 'Re-Opened': 1 },
      type: { Confirmed: 3, Potential: 1, Info: 1 },
      minHostId: 101,
      maxHostId: 310,
      datetime: '2026-02-17T09:41:07Z',
      truncated: false,
      nextIdMin: null,
      nextUrl: null,
    });
    expect(summary.matrix).toEqual({
      '3|Active|Confirmed': 1,
      '2|New|Potential': 1,
      '1|Fixed|Info': 1,
      '5|Re-Opened|Confirmed': 1,
      '4|Active|Confirmed': 1,
    });
  });

  it('takes the hash from a sink that hashes what it writes, as the blob store sinks do, instead of hashing every chunk twice', async () => {
    const doc = fixture('hld-basic.xml');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-hashing-sink-'));
    try {
      const staged = await createLocalBlobStore(dir).stage();
      const sink = staged.sink as HashingFileSink;
      const digest = vi.spyOn(sink, 'digest');
      const { bytes, sha256: hash } = await readDetectionPage(chunksOf(doc, 1000), { sink });
      expect(digest).toHaveBeenCalled();
      expect(hash).toBe(sha256(doc));
      expect(bytes).toBe(doc.length);
      // The commit asks the sink again, after the reader did, and gets the same digest.
      await expect(staged.commit()).resolves.toMatchObject({ sha256: sha256(doc), bytes: doc.length });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('gives exact byte offsets even with multi-byte UTF-8 and a byte order mark before the list', async () => {
    const doc = fixture('hld-basic.xml');
    expect(doc.indexOf('試用版')).toBeGreaterThan(0); // the trial comment before the root is multi-byte
    const { summary } = await readDetectionPage(chunksOf(doc, 1000));
    const layout = summary.layout as XmlLayout;
    expect(layout.root).toBe('HOST_LIST_VM_DETECTION_OUTPUT');
    expect(slice(doc, layout.listOpen)).toBe('<HOST_LIST>');
    expect(slice(doc, layout.listClose)).toBe('</HOST_LIST>');
    expect(layout.warning).toBeNull();

    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), doc]);
    const bom = (await readDetectionPage(chunksOf(withBom, 2))).summary.layout as XmlLayout;
    expect(bom.listOpen).toEqual({ start: layout.listOpen!.start + 3, end: layout.listOpen!.end + 3 });
    expect(slice(withBom, bom.listClose)).toBe('</HOST_LIST>');
  });

  it('gives the identical summary and layout whatever the chunk size (1 byte, 7 bytes, 64 KB)', async () => {
    for (const name of ['hld-basic.xml', 'hld-truncated.xml', 'hld-empty.xml']) {
      const doc = fixture(name);
      const [one, seven, big] = await Promise.all([1, 7, 64 * 1024].map((size) => readDetectionPage(chunksOf(doc, size))));
      expect(one!.summary, name).toEqual(big!.summary);
      expect(seven!.summary, name).toEqual(big!.summary);
      expect(one!.sha256).toBe(sha256(doc));
    }
  });

  it('reads the truncation warning: id_min of the next page, the URL, and the WARNING byte range', async () => {
    const doc = fixture('hld-truncated.xml');
    const { summary } = await readDetectionPage(chunksOf(doc, 333));
    expect(summary).toMatchObject({ hosts: 2, detections: 2, truncated: true, nextIdMin: 1003, minHostId: 1001, maxHostId: 1002 });
    expect(summary.nextUrl).toBe(
      'https://qualysapi.qualys.com/api/5.0/fo/asset/host/vm/detection/?action=list&truncation_limit=2&output_format=XML&id_min=1003',
    );
    const warning = slice(doc, (summary.layout as XmlLayout).warning)!;
    expect(warning.startsWith('<WARNING>')).toBe(true);
    expect(warning.endsWith('</WARNING>')).toBe(true);
    expect(warning).toContain('<CODE>1980</CODE>');
  });

  it('reads an empty result, which has no HOST_LIST at all', async () => {
    const { summary } = await readDetectionPage(chunksOf(fixture('hld-empty.xml'), 50));
    expect(summary).toMatchObject({ hosts: 0, detections: 0, minHostId: null, maxHostId: null, datetime: '2026-02-17T09:41:07Z', truncated: false });
    expect(summary.layout).toEqual({ kind: 'xml', root: 'HOST_LIST_VM_DETECTION_OUTPUT', listOpen: null, listClose: null, warning: null });
  });

  it('keeps a host with more than 1 MB of RESULTS byte for byte and counts it right', async () => {
    const line = 'C:\\Windows\\System32\\drivers\\mod.sys\tVersion is 10.0.19041.1\tRequired 10.0.19041.9 ]] &apos; ü\n';
    const results = line.repeat(Math.ceil((1.5 * 1024 * 1024) / line.length));
    const doc = Buffer.from(
      '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM "https://x/output.dtd">\n' +
        '<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>2026-01-01T00:00:00Z</DATETIME><HOST_LIST>' +
        '<HOST><ID>7</ID><DETECTION_LIST>' +
        `<DETECTION><QID>1</QID><TYPE>Confirmed</TYPE><SEVERITY>4</SEVERITY><RESULTS><![CDATA[${results}]]></RESULTS><STATUS>Active</STATUS></DETECTION>` +
        `<DETECTION><QID>2</QID><TYPE>Potential</TYPE><SEVERITY>2</SEVERITY><RESULTS><![CDATA[${results}]]></RESULTS><STATUS>New</STATUS></DETECTION>` +
        '</DETECTION_LIST></HOST></HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>\n',
    );
    expect(doc.length).toBeGreaterThan(3 * 1024 * 1024);
    const sink = new CollectingSink();
    const { summary } = await readDetectionPage(chunksOf(doc, 64 * 1024), { sink });
    expect(sink.bytes.equals(doc)).toBe(true);
    expect(summary).toMatchObject({ hosts: 1, detections: 2, minHostId: 7, maxHostId: 7, severity: { '4': 1, '2': 1 } });
  });

  it('reads values written with entities, CDATA or split across chunks the slow way, with the same result', async () => {
    const doc = Buffer.from(
      '<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME> 2026-01-01T00:00:00Z </DATETIME><HOST_LIST>' +
        '<HOST><ID>&#x34;2</ID><DETECTION_LIST><DETECTION><TYPE><![CDATA[Confirmed]]></TYPE><SEVERITY>\n  3\n</SEVERITY>' +
        '<STATUS>Re&#45;Opened</STATUS></DETECTION><DETECTION><TYPE/><SEVERITY>9</SEVERITY><STATUS>Closed</STATUS></DETECTION>' +
        '</DETECTION_LIST></HOST></HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>',
    );
    for (const size of [1, 5, 1000]) {
      const { summary } = await readDetectionPage(chunksOf(doc, size));
      expect(summary).toMatchObject({ hosts: 1, detections: 2, minHostId: 42, maxHostId: 42, datetime: '2026-01-01T00:00:00Z' });
      // Undocumented values (severity 9, status Closed) count as `other`, an empty TYPE as `none`: totals still add up.
      expect(summary.matrix).toEqual({ '3|Re-Opened|Confirmed': 1, 'other|other|none': 1 });
      expect(summary.severity).toEqual({ '1': 0, '2': 0, '3': 1, '4': 0, '5': 0, none: 0, other: 1 });
      expect(summary.type).toEqual({ Confirmed: 1, Potential: 0, Info: 0, none: 1, other: 0 });
    }
  });

  it('tolerates control characters Qualys leaves in text, keeping the bytes', async () => {
    const doc = Buffer.from(fixture('hld-basic.xml').toString('utf8').replace('Red Hat Enterprise Linux 8.9', 'Red Hat\u0001 Linux\u0007').replace('<IP>10.10.10.7</IP>', '<IP>10.10.10.7\u0002</IP>'));
    const sink = new CollectingSink();
    const { summary } = await readDetectionPage(chunksOf(doc, 4096), { sink });
    expect(summary.hosts).toBe(3);
    expect(sink.bytes.equals(doc)).toBe(true);
  });

  it('never expands entities: a DOCTYPE declaring its own (internal subset) is a security error, not retried', async () => {
    const internal =
      '<?xml version="1.0"?>\n<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT [\n  <!ENTITY boom "EXPANDED">\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n' +
      '<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>&boom;</DATETIME></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>';
    for (const doc of [internal, internal.replace('&boom;', '&xxe;')]) {
      const err = await readDetectionPage(chunksOf(Buffer.from(doc), 64)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QualysSecurityError);
      expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/declares its own DTD/) });
    }
    // Without a DTD, a reference to an undeclared entity is malformed XML, never expanded.
    const undeclared = '<?xml version="1.0"?>\n<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>&boom;</DATETIME></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>';
    await expect(readDetectionPage(chunksOf(Buffer.from(undeclared), 64))).rejects.toThrow(/entity that is not one of the XML built-ins/);

    // A DOCTYPE without an internal subset (what Qualys sends) is fine.
    const plain = internal.replace(/<!DOCTYPE[\s\S]*?]>/, '<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM "https://x/output.dtd">').replace('&boom;', 'now');
    await expect(readDetectionPage(chunksOf(Buffer.from(plain), 64))).resolves.toMatchObject({ summary: { datetime: 'now' } });
  });

  it('refuses a document that ends early, naming the unclosed element and the byte', async () => {
    const doc = fixture('hld-basic.xml');
    const cut = doc.subarray(0, Math.floor(doc.length / 2));
    const err = await readDetectionPage(chunksOf(cut, 512)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysProtocolError);
    expect((err as Error).message).toMatch(/ends early: <\w+> is never closed \(the answer was cut off at byte \d+\)/);
    expect((err as QualysProtocolError).retryable).toBe(true);
  });

  it.each([
    ['an HTML page', '<!DOCTYPE html><html><body>Service unavailable</body></html>', /unexpected root element <html>/],
    ['JSON', '{"error":"nope"}', /expected a Host List Detection answer in XML or CSV, got an answer starting with "\{"error"/],
    ['an empty body', '', /got an empty answer/],
    ['CSV without metadata', '"Host ID","IP Address"\n"1","10.0.0.1"\n', /CSV_NO_METADATA/],
    ['malformed XML', '<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><HOST><ID>0</I D></RESPONSE>', /not well-formed XML near byte \d+/],
  ])('refuses %s as a protocol error', async (_name, body, message) => {
    const err = await readDetectionPage(chunksOf(Buffer.from(body), 8)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysProtocolError);
    expect((err as Error).message).toMatch(message);
  });

  it('destroys the sink without an error event when the page fails', async () => {
    const sink = new CollectingSink();
    let errored = false;
    sink.on('error', () => (errored = true));
    await expect(readDetectionPage(chunksOf(Buffer.from('<html></html>'), 4), { sink })).rejects.toBeInstanceOf(QualysProtocolError);
    expect(sink.destroyed).toBe(true);
    expect(errored).toBe(false);
  });

  it('stops when the signal aborts, with the signal reason', async () => {
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    async function* slowSource() {
      yield Buffer.from('<HOST_LIST_VM_DETECTION_OUTPUT>');
      controller.abort(reason);
      yield Buffer.from('<RESPONSE/></HOST_LIST_VM_DETECTION_OUTPUT>');
    }
    await expect(readDetectionPage(slowSource(), { signal: controller.signal })).rejects.toBe(reason);
  });
});

describe('the XML source under the readers', () => {
  const openTags = (xml: string, chunkSize: number) => {
    const source = new XmlSource();
    const tags: SaxesTagPlain[] = [];
    source.parser.on('opentag', (tag) => tags.push(tag));
    const bytes = Buffer.from(xml);
    for (let i = 0; i < bytes.length; i += chunkSize) source.write(bytes.subarray(i, i + chunkSize));
    source.end();
    return tags;
  };

  it('gives tags their attributes, and every tag without one the same frozen empty set', () => {
    const xml = `<ROOT a="1"><HOST/><ID>7</ID><RETURN status="FAILED" number="1965">x</RETURN><X\n  y='2'\tz="3" /><EMPTY ></EMPTY></ROOT>`;
    for (const size of [1, 5, 1024]) {
      const tags = openTags(xml, size);
      expect(tags.map((t) => [t.name, { ...t.attributes }, t.isSelfClosing])).toEqual([
        ['ROOT', { a: '1' }, false],
        ['HOST', {}, true],
        ['ID', {}, false],
        ['RETURN', { status: 'FAILED', number: '1965' }, false],
        ['X', { y: '2', z: '3' }, true],
        ['EMPTY', {}, false],
      ]);
      const bare = tags.filter((t) => Object.keys(t.attributes).length === 0);
      expect(new Set(bare.map((t) => t.attributes)).size).toBe(1);
      expect(Object.isFrozen(bare[0]!.attributes)).toBe(true);
      expect(Object.getPrototypeOf(bare[0]!.attributes)).toBeNull();
      expect(Object.getPrototypeOf(tags[0]!.attributes)).toBeNull();
    }
  });

  it('still refuses what saxes refuses in a start tag: a duplicate attribute, a bad character, a second root', () => {
    expect(() => openTags('<A x="1" x="2"/>', 3)).toThrow(/duplicate attribute: x/);
    expect(() => openTags('<A%></A>', 3)).toThrow(/disallowed character in tag name/);
    expect(() => openTags('<A/><B/>', 3)).toThrow(/only one root/);
  });
});
