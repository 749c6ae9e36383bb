/** Bare saxes tokenizing a saved file (no handlers): the reference the reader and audit benchmarks compare with. */
import { createReadStream } from 'node:fs';
import { SaxesParser } from 'saxes';
import { maxRssMB } from './child.js';

/** The chunk size every contender reads with. */
const CHUNK = 1024 * 1024;

export async function bareSaxes(file: string) {
  const started = process.hrtime.bigint();
  const parser = new SaxesParser();
  const decoder = new TextDecoder('utf-8');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    bytes += (chunk as Buffer).length;
    parser.write(decoder.decode(chunk as Buffer, { stream: true }));
  }
  parser.close();
  return { bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMB: maxRssMB() };
}
