/**
 * A sealed evidence file described as a list of byte segments: ranges of
 * stored pages plus a few literal bytes. Planning reads at most a few small
 * ranges; the bytes themselves only flow when the plan is streamed.
 */
import type { CsvLayout, XmlLayout } from '../qualys/page-summary.js';
import type { BlobPart, BlobStore } from './blob-store.js';

/**
 * How pages are joined. 1: every page's list inside kept whole (evidence
 * sealed before range pulls); 2: pages joined at their last record, so the
 * file does not depend on where pages were cut. Recorded in each manifest.
 */
export type SealVersion = 1 | 2;
export const CURRENT_SEAL_VERSION: SealVersion = 2;

/** The byte layout the Qualys page reader records for each page it stores. */
export type PageLayout = XmlLayout | CsvLayout;

/** A piece of the sealed file: a range of a stored page, or literal bytes. */
export type Segment = BlobPart;

/** A stored page with its size, as the planners receive it. */
export interface SealPage<L extends PageLayout> {
  pageNo: number;
  blobKey: string;
  bytes: number;
  layout: L;
}

/** Reads a small range [start, end) of a stored blob into memory. */
export type ReadRange = (blobKey: string, start: number, end: number) => Promise<Buffer>;

/** The pages cannot be merged as given; the message names the page and the layout field. */
export class SealError extends Error {
  override readonly name = 'SealError';
}

export function rangeOf(page: SealPage<PageLayout>, start: number, end: number): Segment {
  return { kind: 'range', blobKey: page.blobKey, start, end };
}

export function readRangeFrom(store: BlobStore): ReadRange {
  return async (blobKey, start, end) => {
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(blobKey, { start, end })) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
}

/** Checks that a layout offset lies inside the page, naming the field when it does not. */
export function checkOffset(page: SealPage<PageLayout>, field: string, value: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min || value > page.bytes) {
    throw new SealError(
      `page ${page.pageNo}: layout.${field} is ${value}, expected an integer between ${min} and the page size ${page.bytes}`,
    );
  }
}
