/**
 * This machine's bare-saxes speed on a Qualys answer, printed beside every
 * benchmark's figures so results from machines of different speed can be
 * compared: a ratio to it travels, an absolute number does not.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSimulator } from '../simulator/spawn.js';
import { bundleForNode, runChild } from './child.js';
import { spread, type Spread } from './stats.js';

const ROUNDS = 3;

/** About 100 MB of Host List Detection XML with results. */
const HOSTS = 3_500;

/** Saves a ~100 MB Host List Detection answer from a simulator of its own and times bare saxes over it. */
export async function bareSaxesMBps(): Promise<Spread> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-saxes-'));
  const child = await bundleForNode(fileURLToPath(new URL('./reader-child.ts', import.meta.url)));
  const sim = await spawnSimulator({ hosts: HOSTS, seed: 7, now: '2026-11-01T00:00:00Z', user: 'bench', password: 'bench-pass' });
  try {
    const file = path.join(dir, 'answer.xml');
    const env = { ...process.env, BENCH_USER: 'bench', BENCH_PASSWORD: 'bench-pass' };
    await runChild(child.file, ['reader', sim.url, JSON.stringify({ action: 'list', truncation_limit: '0' }), file], env);
    const speeds: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const m = await runChild<{ bytes: number; seconds: number }>(child.file, ['saxes', file], env);
      speeds.push(m.bytes / 1e6 / m.seconds);
    }
    return spread(speeds, 1);
  } finally {
    await sim.close();
    await child.cleanup();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
