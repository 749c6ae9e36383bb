/**
 * The console's reader for JSON with one long list (the SLA report's
 * exceptions): whatever the chunking, the object comes back whole with the
 * list cut to its first entries and the entries counted; brackets, commas
 * and quotes inside strings, nested values and multi-byte characters split
 * across chunks change nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Reader = (stream: ReadableStream<Uint8Array>, key: string, keep: number) => Promise<{ value: Record<string, unknown>; listed: number }>;
const { readWithLongList } = (await import(new URL('../console/json-stream.js', import.meta.url).href)) as { readWithLongList: Reader };

function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      let at = 0;
      for (let i = 0; at < bytes.length; i++) {
        const n = sizes.length ? sizes[i % sizes.length]! : bytes.length;
        controller.enqueue(bytes.slice(at, at + n));
        at += n;
      }
      controller.close();
    },
  });
}

const tricky = fc.oneof(fc.string(), fc.constantFrom('"', '\\', '],{"exceptions":[', 'é—😀', '}', '[', ','));
const entry = fc.oneof(
  fc.record({ hostId: fc.nat(), note: tricky, nested: fc.array(fc.oneof(fc.nat(), tricky, fc.record({ x: tricky })), { maxLength: 3 }) }),
  tricky,
  fc.integer(),
  fc.constant(null),
);

describe('readWithLongList', () => {
  it('keeps the first entries, counts them all and returns the rest of the object, however the bytes are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ head: tricky, exceptions: fc.array(entry, { maxLength: 30 }), tail: fc.record({ counts: fc.array(fc.nat(), { maxLength: 4 }), text: tricky }) }),
        fc.nat({ max: 35 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { maxLength: 6 }),
        async (report, keep, sizes) => {
          const bytes = new TextEncoder().encode(JSON.stringify(report));
          const { value, listed } = await readWithLongList(chunked(bytes, sizes), 'exceptions', keep);
          expect(listed).toBe(report.exceptions.length);
          expect(value).toEqual({ ...report, exceptions: report.exceptions.slice(0, keep) });
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  it('leaves a list of the same name deeper in the object alone', async () => {
    const text = '{"exceptions":[1,2,3],"nested":{"exceptions":[4,5,6]},"list":[{"exceptions":[7]}]}';
    const { value, listed } = await readWithLongList(chunked(new TextEncoder().encode(text), [5]), 'exceptions', 1);
    expect(listed).toBe(3);
    expect(value).toEqual({ exceptions: [1], nested: { exceptions: [4, 5, 6] }, list: [{ exceptions: [7] }] });
  });
});
