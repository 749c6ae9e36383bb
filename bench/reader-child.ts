/**
 * The two contenders of the reader benchmark, each in a fresh process:
 *   saxes <file>          bare saxes tokenization of a saved answer (no handlers)
 *   reader <url> <params> the Qualys page reader over HTTP (parse + hash + write)
 * Each prints one JSON line: bytes, seconds, peak RSS.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { SaxesParser } from 'saxes';
import { createQualysClient } from '../qualys/client.js';
import { maxRssMB } from './child.js';

/** The chunk size both contenders read with. */
const CHUNK = 1024 * 1024;

async function bareSaxes(file: string) {
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

async function reader(url: string, paramsJson: string, out: string) {
  const client = createQualysClient({ apiBaseUrl: url, username: process.env.BENCH_USER!, password: process.env.BENCH_PASSWORD! });
  const started = process.hrtime.bigint();
  const page = await client.fetchDetectionPage({ params: JSON.parse(paramsJson) as Record<string, string>, sink: createWriteStream(out) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.close();
  return { bytes: page.bytes, seconds, peakRssMB: maxRssMB(), hosts: page.summary.hosts, detections: page.summary.detections, sha256: page.sha256 };
}

const [mode, ...args] = process.argv.slice(2);
const result = mode === 'saxes' ? await bareSaxes(args[0]!) : await reader(args[0]!, args[1]!, args[2]!);
process.stdout.write(`${JSON.stringify(result)}\n`);
