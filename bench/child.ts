/**
 * Runs benchmark code in a child process of its own, bundled to plain
 * JavaScript so the figures (speed, peak RSS) are the code's own and not the
 * TypeScript loader's.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { MODULE_BUNDLE_OPTIONS } from '../runtime/module-bundle.js';
import { CACHE_DIR } from '../runtime/paths.js';

/**
 * Compiles our TypeScript entry into plain modules inside the project (so
 * packages resolve from node_modules as usual; they stay external).
 */
export async function bundleForNode(entry: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
  await fs.mkdir(CACHE_DIR, { recursive: true });
  const dir = await fs.mkdtemp(path.join(CACHE_DIR, 'bench-'));
  const file = path.join(dir, `${path.basename(entry, '.ts')}.mjs`);
  await build({ ...MODULE_BUNDLE_OPTIONS, entryPoints: [entry], outdir: dir });
  return { file, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/**
 * Runs the bundled script with args; resolves with the one JSON line it prints.
 * Node runs it with `nodeFlags`, or BENCH_NODE_FLAGS when that is set.
 */
export function runChild<T>(file: string, args: string[], env: NodeJS.ProcessEnv = process.env, nodeFlags: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    // Never the parent's execArgv: its TypeScript loader must not ride along.
    const execArgv = process.env.BENCH_NODE_FLAGS === undefined ? nodeFlags : process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean);
    const child = fork(file, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env, execArgv });
    let out = '';
    child.stdout!.on('data', (b) => (out += b));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${path.basename(file)} ${args[0] ?? ''} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as T);
      } catch {
        reject(new Error(`${path.basename(file)} printed no JSON: ${out.slice(0, 500)}`));
      }
    });
  });
}

export function maxRssMB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}
