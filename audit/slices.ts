/**
 * Re-chunks a byte stream into pieces of at most 64 KB before parsing. Files
 * are read in large chunks (fewer system calls), but the XML readers decode
 * each chunk into a string, and V8 puts strings above about 128 KB straight
 * into large-object space, which only a full collection frees: heaps then
 * grow with the file. Strings of 64 KB die young instead, so memory stays flat.
 */
const PARSE_SLICE_BYTES = 64 * 1024;

export async function* inSlices(source: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer> {
  for await (const piece of source) {
    const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (chunk.length <= PARSE_SLICE_BYTES) {
      yield chunk;
      continue;
    }
    for (let i = 0; i < chunk.length; i += PARSE_SLICE_BYTES) yield chunk.subarray(i, i + PARSE_SLICE_BYTES);
  }
}
