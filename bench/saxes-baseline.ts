/**
 * This machine's bare-saxes speed on a Qualys answer, printed beside every
 * benchmark's figures so results from machines of different speed can be
 * compared: a ratio to it travels, an absolute number does not.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpawnedSimulator } from '../simulator/spawn.js';
import { bundleForNode, runChild } from './child.js';
import { spread, type Spread } from './stats.js';

const ROUNDS = 3;

/** Saves a ~100 MB Host List Detection answer from the simulator and times bare saxes over it. */
export async function bareSaxesMBps(sim: SpawnedSimulator, credentials: { user: string; password: string }, hosts = 3_500): Promise<Spread> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-saxes-'));
  const child = await bundleForNode(fileURLToPath(new URL('./reader-child.ts', import.meta.url)));
  try {
    const ids = sim.dataset.hostIds();
    const file = path.join(dir, 'answer.xml');
    const env = { ...process.env, BENCH_USER: credentials.user, BENCH_PASSWORD: credentials.password };
    const params = JSON.stringify({ action: 'list', truncation_limit: '0', id_max: String(ids[Math.min(hosts, ids.length) - 1]) });
    await runChild(child.file, ['reader', sim.url, params, file], env);
    const speeds: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const m = await runChild<{ bytes: number; seconds: number }>(child.file, ['saxes', file], env);
      speeds.push(m.bytes / 1e6 / m.seconds);
    }
    return spread(speeds, 1);
  } finally {
    await child.cleanup();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
