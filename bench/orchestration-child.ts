/**
 * The plain-loop contender of the orchestration benchmark: the same pull as
 * a fetcher run, page by page over the qualys/ client and sealed into one
 * file, with no Temporal and no database. Prints one JSON line.
 */
import { createQualysClient } from '../qualys/client.js';
import { pullToFile } from '../scripts/pull-to-file.js';
import { maxRssMB } from './child.js';

const [url, paramsJson, out] = process.argv.slice(2) as [string, string, string];
const client = createQualysClient({ apiBaseUrl: url, username: process.env.BENCH_USER!, password: process.env.BENCH_PASSWORD! });
const startedAt = Date.now();
const started = process.hrtime.bigint();
const cpuBefore = process.cpuUsage();
const result = await pullToFile(client, { params: JSON.parse(paramsJson) as Record<string, string>, out });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const endedAt = Date.now();
await client.close();
process.stdout.write(`${JSON.stringify({ startedAt, endedAt, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, pages: result.pages.length, bytes: result.bytes, sha256: result.sha256, peakRssMB: maxRssMB() })}\n`);
