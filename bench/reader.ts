/**
 * Benchmark `reader`: the Qualys page reader (parse + SHA-256 + write to a
 * file, over HTTP from the simulator in its own process) against bare saxes
 * tokenizing the very same bytes, side by side in one run; then the reader on
 * a 1 GB answer for peak RSS. Targets: ratio >= 0.8, peak RSS < 150 MB.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSimulator } from '../simulator/spawn.js';
import { bundleForNode, runChild } from './child.js';

/** About 30 KB of XML per host with results: these give ≥ 200 MB and ≥ 1 GB answers. */
const HOSTS_200MB = 7_500;
const HOSTS_1GB = 36_000;
const ROUNDS = 3;

interface Measured {
  bytes: number;
  seconds: number;
  peakRssMB: number;
}

const mbps = (m: Measured) => m.bytes / 1e6 / m.seconds;
const say = (m: string) => process.stderr.write(`reader: ${m}\n`);

export async function run(): Promise<Record<string, number>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-reader-'));
  const child = await bundleForNode(fileURLToPath(new URL('./reader-child.ts', import.meta.url)));
  const sim = await spawnSimulator({ hosts: HOSTS_1GB, seed: 7, now: '2026-11-01T00:00:00Z', user: 'bench', password: 'bench-pass' });
  const env = { ...process.env, BENCH_USER: 'bench', BENCH_PASSWORD: 'bench-pass' };
  try {
    const ids = sim.dataset.hostIds();
    const params = (lastHost: number) => JSON.stringify({ action: 'list', output_format: 'XML', truncation_limit: '0', id_max: String(ids[lastHost - 1]) });
    const answer = path.join(dir, 'answer-200.xml');

    const readers: Measured[] = [];
    const saxes: Measured[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await runChild<Measured>(child.file, ['reader', sim.url, params(HOSTS_200MB), answer], env);
      const s = await runChild<Measured>(child.file, ['saxes', answer], env);
      readers.push(r);
      saxes.push(s);
      say(`round ${round}: ${(r.bytes / 1e6).toFixed(0)} MB · reader ${mbps(r).toFixed(1)} MB/s (${r.peakRssMB} MB RSS) · bare saxes ${mbps(s).toFixed(1)} MB/s`);
    }
    // Best of the rounds for each: the least disturbed by whatever else the machine did.
    const bestReader = readers.reduce((a, b) => (mbps(b) > mbps(a) ? b : a));
    const bestSaxes = saxes.reduce((a, b) => (mbps(b) > mbps(a) ? b : a));

    say('1 GB answer for peak RSS…');
    const big = await runChild<Measured>(child.file, ['reader', sim.url, params(HOSTS_1GB), path.join(dir, 'answer-1g.xml')], env);
    say(`1 GB: ${(big.bytes / 1e6).toFixed(0)} MB at ${mbps(big).toFixed(1)} MB/s, peak RSS ${big.peakRssMB} MB`);
    return {
      saxesMBps: round1(mbps(bestSaxes)),
      readerMBps: round1(mbps(bestReader)),
      ratio: Math.round((mbps(bestReader) / mbps(bestSaxes)) * 100) / 100,
      peakRssMB200: Math.max(...readers.map((r) => r.peakRssMB)),
      peakRssMB1G: big.peakRssMB,
      answerMB200: Math.round(bestReader.bytes / 1e6),
      answerMB1G: Math.round(big.bytes / 1e6),
    };
  } finally {
    await sim.close();
    await child.cleanup();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
