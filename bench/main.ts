/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name>` runs one.
 * Each prints progress on stderr and ends with one JSON line of its figures
 * on stdout. Benchmarks measure side by side in one run and print ratios;
 * they are never timed assertions.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../runtime/logger.js';
import { installTemporalRuntime } from '../runtime/temporal-runtime.js';

export interface BenchOptions {
  /** Repetitions of each side, interleaved (benchmarks that compare two sides). */
  runs?: number;
  /** Pages of the orchestration pull. */
  pages?: number;
  /** Hosts of the scale benchmark's subscription. */
  hosts?: number;
}

const BENCHMARKS: Record<string, { describe: string; load: () => Promise<{ run: (options: BenchOptions) => Promise<Record<string, unknown>> }> }> = {
  reader: { describe: 'Qualys page reader vs bare saxes, MB/s and peak RSS', load: () => import('./reader.js') },
  orchestration: { describe: 'pull through Temporal vs a plain loop, and worker RSS on a 1 GB pull', load: () => import('./orchestration.js') },
  api: { describe: 'run starts and status reads under concurrent load', load: () => import('./api.js') },
  scale: { describe: 'a large subscription at Qualys speed (100,000 hosts, or --hosts N): sequential pull vs range-parallel run', load: () => import('./scale.js') },
  verify: { describe: 'verification of ~1 GB evidence vs bare saxes, MB/s and peak RSS', load: async () => ({ run: (await import('./audit.js')).runVerify }) },
  sla: { describe: 'SLA as of a date over ~1 GB evidence vs bare saxes, MB/s and peak RSS', load: async () => ({ run: (await import('./audit.js')).runSla }) },
  diff: { describe: 'diff of two ~1 GB pulls vs bare saxes, MB/s and peak RSS', load: async () => ({ run: (await import('./audit.js')).runDiff }) },
};

async function main(): Promise<void> {
  // The SDK's own info logs (bundling, worker states) would bury the figures.
  await installTemporalRuntime(createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }));
  const { values, positionals: requested } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string' }, pages: { type: 'string' }, hosts: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(
      `usage: npm run bench [-- <name>... [--runs N] [--pages N] [--hosts N]]\n${Object.entries(BENCHMARKS).map(([n, b]) => `  ${n.padEnd(14)} ${b.describe}`).join('\n')}\n`,
    );
    return;
  }
  const options: BenchOptions = {
    runs: positiveInt('--runs', values.runs),
    pages: positiveInt('--pages', values.pages),
    hosts: positiveInt('--hosts', values.hosts),
  };
  const unknown = requested.filter((n) => !(n in BENCHMARKS));
  if (unknown.length) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}`);
  for (const name of requested.length ? requested : Object.keys(BENCHMARKS)) {
    process.stderr.write(`== ${name}: ${BENCHMARKS[name]!.describe}\n`);
    const { run } = await BENCHMARKS[name]!.load();
    const figures = await run(options);
    process.stdout.write(`${JSON.stringify({ benchmark: name, ...figures })}\n`);
  }
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number above 0, got "${value}"`);
  return n;
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
