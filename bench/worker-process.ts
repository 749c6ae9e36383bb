/**
 * The production worker process for benchmarks: bundled to plain JavaScript
 * (the figures are the worker's, not the TypeScript loader's) and started
 * with `npm run worker`'s memory settings, configured through the
 * environment like a deployment.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { bundleForNode } from './child.js';

/**
 * As `npm run worker` sets them (see the README's production notes).
 * BENCH_WORKER_FLAGS replaces them for an experiment, e.g.
 * `--max-semi-space-size=2 --optimize-for-size --cpu-prof --cpu-prof-dir=/tmp/prof` with
 * BENCH_WORKER_STOP_SIGNAL=SIGTERM, so the worker exits and writes its profile.
 * BENCH_WORKER_LOG=<file> keeps everything the worker printed (its JSON log:
 * each stored page with its timings, each range, the seal) for reading after.
 */
export const WORKER_NODE_FLAGS = (process.env.BENCH_WORKER_FLAGS ?? '--max-semi-space-size=2 --optimize-for-size').split(' ').filter(Boolean);
export const WORKER_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '16384' };
/** USER_HZ: Linux reports process times in these ticks on every architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface BenchWorker {
  pid: number;
  /** Peak resident set so far (Linux VmHWM), in MB. */
  peakRssMB(): Promise<number>;
  /** CPU time (user + system, all its threads) the worker has used so far, in seconds. */
  cpuSeconds(): Promise<number>;
  /** The last few KB the worker printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** `onLine` sees every line of the worker's log (JSON, on stderr). */
export async function startBenchWorker(env: NodeJS.ProcessEnv, onLine?: (line: string) => void): Promise<BenchWorker> {
  const bundle = await bundleForNode(fileURLToPath(new URL('./worker-entry.ts', import.meta.url)));
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, bundle.file], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...WORKER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let seen = '';
  const keep = (b: Buffer) => void (seen = (seen + b.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (process.env.BENCH_WORKER_LOG) {
    const log = createWriteStream(process.env.BENCH_WORKER_LOG);
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    child.once('exit', () => log.end());
  }
  if (onLine) {
    let partial = '';
    child.stderr!.on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) onLine(line);
    });
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(process.env.BENCH_WORKER_STOP_SIGNAL === 'SIGTERM' ? 'SIGTERM' : 'SIGKILL');
    await exited;
    await bundle.cleanup();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the worker did not start within 60 s: ${seen.slice(-500)}`)), 60_000);
      const check = () => {
        if (!seen.includes('worker started')) return;
        clearTimeout(timer);
        resolve();
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      child.once('exit', (code) => reject(new Error(`the worker exited with ${code}: ${seen.slice(-500)}`)));
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid: child.pid!,
    async peakRssMB() {
      const status = await fs.readFile(`/proc/${child.pid}/status`, 'utf8');
      return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 102.4) / 10;
    },
    async cpuSeconds() {
      // Fields 14 and 15 of /proc/<pid>/stat (utime, stime) in clock ticks, counted after the command's closing parenthesis.
      const stat = await fs.readFile(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    },
    output: () => seen,
    stop,
  };
}
