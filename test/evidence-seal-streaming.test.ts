import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../evidence/blob-store.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import type { XmlLayout } from '../qualys/page-summary.js';
import { sealPages } from '../evidence/seal.js';
import { hldHostXml } from './evidence-pages.js';

const MB = 1024 * 1024;
const PAGES = 4;
const BLOCKS_PER_PAGE = 50;

let root: string;
let store: BlobStore;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'evidence-seal-streaming-'));
  store = createLocalBlobStore(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** About 1 MB of HOST elements, repeated to make large pages without holding them. */
function hostBlock(): Buffer {
  const hosts: string[] = [];
  let size = 0;
  for (let id = 1; size < MB; id++) {
    const host = `\n${hldHostXml(id)}`;
    hosts.push(host);
    size += Buffer.byteLength(host);
  }
  return Buffer.from(hosts.join(''), 'utf8');
}

describe('sealing large pulls', () => {
  it(`streams ${PAGES} pages of ~${BLOCKS_PER_PAGE} MB into one file with flat memory`, async () => {
    const block = hostBlock();
    const head = (page: number) =>
      Buffer.from(`<?xml version="1.0" encoding="UTF-8" ?>\n<HOST_LIST_VM_DETECTION_OUTPUT>\n  <RESPONSE>\n    <DATETIME>2026-11-28T10:0${page}:00Z</DATETIME>\n    <HOST_LIST>`);
    const warning = Buffer.from('\n    <WARNING>\n      <CODE>1980</CODE>\n      <TEXT>x</TEXT>\n    </WARNING>');
    const tail = (truncated: boolean) =>
      Buffer.concat([Buffer.from('\n    </HOST_LIST>'), truncated ? warning : Buffer.alloc(0), Buffer.from('\n  </RESPONSE>\n</HOST_LIST_VM_DETECTION_OUTPUT>\n')]);

    const pages: Array<{ blobKey: string; layout: XmlLayout }> = [];
    for (let page = 0; page < PAGES; page++) {
      const h = head(page);
      const t = tail(page < PAGES - 1);
      const blocksEnd = h.length + BLOCKS_PER_PAGE * block.length;
      const { key } = await store.put(
        (async function* () {
          yield h;
          for (let i = 0; i < BLOCKS_PER_PAGE; i++) yield block;
          yield t;
        })(),
      );
      // Markers located in the small head and tail, shifted past the blocks between them.
      const inTail = (marker: string, end = false) => {
        const at = t.indexOf(marker);
        return at < 0 ? null : blocksEnd + at + (end ? marker.length : 0);
      };
      const closeStart = inTail('</HOST_LIST>')!;
      const warningStart = inTail('<WARNING>');
      pages.push({
        blobKey: key,
        layout: {
          kind: 'xml',
          root: 'HOST_LIST_VM_DETECTION_OUTPUT',
          listOpen: { start: h.indexOf('<HOST_LIST>'), end: h.length },
          listClose: { start: closeStart, end: closeStart + '</HOST_LIST>'.length },
          warning: warningStart === null ? null : { start: warningStart, end: inTail('</WARNING>', true)! },
        },
      });
    }

    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const sealed = await sealPages({ store, format: 'XML', pages });
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);

    // The expected file, hashed from its parts without building it.
    const expected = createHash('sha256');
    let bytes = 0;
    const add = (b: Buffer) => {
      expected.update(b);
      bytes += b.length;
    };
    add(head(0));
    // Pages join at their last record; the list's closing indentation comes once, at the end.
    for (let page = 0; page < PAGES; page++) {
      for (let i = 0; i < BLOCKS_PER_PAGE; i++) add(block);
    }
    add(Buffer.from('\n    '));
    add(Buffer.from('</HOST_LIST>\n  </RESPONSE>\n</HOST_LIST_VM_DETECTION_OUTPUT>\n'));
    expect(sealed).toMatchObject({ bytes, sha256: expected.digest('hex') });

    const growthMB = (peak - baseline) / MB;
    expect(bytes).toBeGreaterThan(200 * MB);
    expect(growthMB, `RSS grew ${growthMB.toFixed(1)} MB while sealing ${(bytes / MB).toFixed(0)} MB`).toBeLessThan(50);
  });
});
