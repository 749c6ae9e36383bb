/**
 * The two contenders of the reader benchmark, each in a fresh process:
 *   saxes <file>          bare saxes tokenization of a saved answer (no handlers)
 *   reader <url> <params> the Qualys page reader over HTTP (parse + hash + write)
 * Each prints one JSON line: bytes, seconds, peak RSS.
 */
import { createWriteStream } from 'node:fs';
import { createQualysClient } from '../qualys/client.js';
import { bareSaxes } from './bare-saxes.js';
import { maxRssMB } from './child.js';

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
