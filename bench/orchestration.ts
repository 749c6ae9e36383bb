/**
 * Benchmark `orchestration`: a sequential pull of 200 pages (1000 hosts each,
 * well over 1 GB) as a fetcher run through Temporal, against the same pages
 * pulled by a plain loop over the qualys/ client, from the same simulator.
 * Each side runs `--runs` times (default 3), interleaved, and the figures are
 * medians with their ranges. A plain run comes before each Temporal run and
 * one more after the last, and each Temporal run is compared with the mean of
 * the two plain runs around it: this machine's speed drifts by 10-20 % over
 * minutes, and a run compared only with the one before it carried that drift
 * into its ratio (overheadRatioToPlainBefore keeps that older figure). Both seal the pages into one file, so they do
 * the same work and must produce the same bytes. The worker runs in a process
 * of its own, configured like `npm run worker` with one range at a time (this
 * measures the cost of orchestrating a page, not parallelism: see `scale`),
 * and its peak RSS over all runs is reported. The plain loop runs with the
 * same V8 flags and malloc settings (BENCH_NODE_FLAGS replaces its flags). Beside the totals: the median
 * time from one page's request to the next on each side (what a page costs
 * in all), the mean gap between a page's last byte and the next request, the
 * steps inside a page's activity, and the worker's seal.
 * Beside the wall-time ratio, cpuRatio: the CPU the worker process used (all
 * its threads) against the loop's, which a busy machine disturbs far less.
 * Targets: overheadRatio < 1.10 in every run, the page gap within 30 ms of
 * the plain loop's, peakWorkerRssMB < 180.
 * Options: --pages N (default 200), --runs N (default 3).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostListDetectionFiltersSchema, planHostListDetection } from '../qualys/hld-params.js';
import { CACHE_DIR } from '../runtime/paths.js';
import { spawnSimulator } from '../simulator/spawn.js';
import { bundleForNode, runChild } from './child.js';
import { BENCH_CREDENTIALS, startFetcherRunStack } from './fetcher-run-stack.js';
import { bareSaxesMBps } from './saxes-baseline.js';
import { WORKER_ENV, WORKER_NODE_FLAGS } from './worker-process.js';
import { spread } from './stats.js';

const HOSTS_PER_PAGE = 1000;
/** Without RESULTS a page is about 14 MB, so the pull is well over 1 GB. */
const RESULTS_OFF = { show_results: 0 };

const say = (m: string) => process.stderr.write(`orchestration: ${m}\n`);
const mean = (a: number, b: number) => (a + b) / 2;

export interface OrchestrationOptions {
  pages?: number;
  runs?: number;
}

type LogEntry = { at: number; durationMs: number; endpoint: string; idMin: string | null };

/**
 * The pull's pages: its first page, then every page that follows a cursor.
 * The seal's completeness check asks the same endpoint for hosts missing from
 * the evidence (without a cursor); that call is not a page of the pull.
 */
function pullPages(log: LogEntry[]): LogEntry[] {
  const detection = log.filter((e) => e.endpoint === 'detection');
  return detection.filter((e, i) => i === 0 || e.idMin !== null);
}

/** Median time from one page's request to the next's: all a page costs, reading and bookkeeping. */
function medianPageIntervalMs(pages: LogEntry[]): number {
  return pages.length > 1 ? spread(pages.slice(1).map((p, i) => p.at - pages[i]!.at), 1).median : 0;
}

/**
 * Seconds from the start to the first page's request, and from the last
 * page's last byte to the end: what a pull costs besides its pages (for
 * Temporal: starting the run, checking the connection, planning; sealing and
 * finishing).
 */
function leadAndTail(pages: LogEntry[], startedAt: number, endedAt: number): { lead: number; tail: number } {
  if (pages.length === 0) return { lead: 0, tail: 0 };
  const last = pages.at(-1)!;
  return { lead: (pages[0]!.at - startedAt) / 1000, tail: (endedAt - (last.at + last.durationMs)) / 1000 };
}

/** Mean time between one page's last byte and the next page's request: the orchestration's own cost. */
function meanPageGapMs(pages: LogEntry[]): number {
  let gaps = 0;
  for (let i = 1; i < pages.length; i++) gaps += pages[i]!.at - (pages[i - 1]!.at + pages[i - 1]!.durationMs);
  return pages.length > 1 ? gaps / (pages.length - 1) : 0;
}

export async function run(options: OrchestrationOptions = {}): Promise<Record<string, unknown>> {
  const pagesWanted = options.pages ?? 200;
  const runs = options.runs ?? 3;
  // Clean-ups run newest first: the worker stops before its folder is removed.
  const cleanups: Array<() => Promise<unknown>> = [];
  await fs.mkdir(CACHE_DIR, { recursive: true });
  const work = await fs.mkdtemp(path.join(CACHE_DIR, 'orchestration-'));
  cleanups.push(() => fs.rm(work, { recursive: true, force: true, maxRetries: 5 }));
  try {
    // Hosts without a matching detection are not listed, so the subscription is larger than the pull.
    const hosts = Math.ceil((pagesWanted * HOSTS_PER_PAGE) / 0.85);
    say(`simulator with ${hosts} hosts, Temporal dev server, Postgres`);
    const sim = await spawnSimulator({ hosts, seed: 3, now: '2026-11-01T00:00:00Z', ...BENCH_CREDENTIALS });
    cleanups.push(() => sim.close());
    // Exactly pagesWanted pages: host IDs up to the one before the next page starts.
    const all = sim.dataset.expected({ action: 'list', truncation_limit: String(HOSTS_PER_PAGE), show_results: '0' });
    if (all.pages <= pagesWanted) throw new Error(`the simulated subscription gives only ${all.pages} pages`);
    const filters = { extraParams: { ...RESULTS_OFF, ids: `1-${all.pageIdMins[pagesWanted - 1]! - 1}` } };
    say('Temporal dev server, Postgres, the workflows and the worker');
    const loopBundle = await bundleForNode(fileURLToPath(new URL('./orchestration-child.ts', import.meta.url)));
    cleanups.push(() => loopBundle.cleanup());
    // Each page's own account of its time (the worker logs it with every stored page).
    const pageTimings: Array<Record<string, number>> = [];
    const sealTimings: Array<Record<string, number>> = [];
    const onWorkerLine = (line: string) => {
      const into = line.includes('"page stored"') ? pageTimings : line.includes('"evidence sealed"') ? sealTimings : null;
      if (!into) return;
      try {
        into.push(JSON.parse(line) as Record<string, number>);
      } catch {
        // a line cut by the pipe: one fewer in the breakdown
      }
    };
    const stack = await startFetcherRunStack({
      work,
      cleanups,
      simUrl: sim.url,
      name: 'orchestration',
      filters,
      pageSize: HOSTS_PER_PAGE,
      workerEnv: { RUN_MAX_PARALLEL_RANGES: '1' },
      onWorkerLine,
    });
    const { params } = planHostListDetection(hostListDetectionFiltersSchema.parse(filters), { apiVersion: '5.0', truncationLimit: HOSTS_PER_PAGE });

    const plain = { seconds: [] as number[], cpuSeconds: [] as number[], gaps: [] as number[], intervals: [] as number[], leads: [] as number[], tails: [] as number[], sha256: new Set<string>() };
    const orchestrated = { seconds: [] as number[], cpuSeconds: [] as number[], gaps: [] as number[], intervals: [] as number[], leads: [] as number[], tails: [] as number[], sha256: new Set<string>(), pages: 0, bytes: 0 };
    /** What the simulator saw of one side's pull: its page interval and gap, lead and tail. */
    const recordPull = (side: typeof plain, log: LogEntry[], startedAt: number, endedAt: number) => {
      const pages = pullPages(log);
      const { lead, tail } = leadAndTail(pages, startedAt, endedAt);
      side.gaps.push(meanPageGapMs(pages));
      side.intervals.push(medianPageIntervalMs(pages));
      side.leads.push(lead);
      side.tails.push(tail);
    };
    type PlainRun = { seconds: number; cpuSeconds: number; pages: number; bytes: number; sha256: string; startedAt: number; endedAt: number };
    const runPlain = async (): Promise<PlainRun> => {
      const logFrom = (await sim.stats()).log.length;
      const loop = await runChild<PlainRun>(
        loopBundle.file,
        [sim.url, JSON.stringify(params), path.join(work, 'plain.xml')],
        // The worker's memory settings, so that the ratio is the orchestration's cost and not theirs.
        { ...process.env, ...WORKER_ENV, BENCH_USER: BENCH_CREDENTIALS.user, BENCH_PASSWORD: BENCH_CREDENTIALS.password },
        WORKER_NODE_FLAGS,
      );
      await fs.rm(path.join(work, 'plain.xml'), { force: true });
      plain.seconds.push(loop.seconds);
      plain.cpuSeconds.push(loop.cpuSeconds);
      plain.sha256.add(loop.sha256);
      recordPull(plain, (await sim.stats()).log.slice(logFrom), loop.startedAt, loop.endedAt);
      return loop;
    };
    const plainRuns = [await runPlain()];
    for (let i = 1; i <= runs; i++) {
      const logFrom = (await sim.stats()).log.length;
      const cpuBefore = await stack.worker.cpuSeconds();
      const startedAt = Date.now();
      const { result, seconds } = await stack.runFetcher();
      const endedAt = Date.now();
      const workerCpu = (await stack.worker.cpuSeconds()) - cpuBefore;
      orchestrated.seconds.push(seconds);
      orchestrated.cpuSeconds.push(workerCpu);
      orchestrated.sha256.add(result.evidence.sha256);
      orchestrated.pages = result.totals.pages;
      orchestrated.bytes = result.totals.bytes;
      recordPull(orchestrated, (await sim.stats()).log.slice(logFrom), startedAt, endedAt);
      plainRuns.push(await runPlain());
      const [before, after] = [plainRuns[i - 1]!, plainRuns[i]!];
      say(
        `run ${i}/${runs}: plain ${before.seconds.toFixed(1)} s, through Temporal ${seconds.toFixed(1)} s, plain ${after.seconds.toFixed(1)} s · ` +
          `ratio ${(seconds / mean(before.seconds, after.seconds)).toFixed(3)} · CPU ${mean(before.cpuSeconds, after.cpuSeconds).toFixed(1)} s vs ${workerCpu.toFixed(1)} s`,
      );
    }
    const aroundEach = (field: 'seconds' | 'cpuSeconds', of: number[]) => of.map((value, i) => value / mean(plainRuns[i]![field], plainRuns[i + 1]![field]));
    const ratios = aroundEach('seconds', orchestrated.seconds);
    const cpuRatios = aroundEach('cpuSeconds', orchestrated.cpuSeconds);
    const peakWorkerRssMB = await stack.worker.peakRssMB();
    const median = (field: string) => (pageTimings.length ? spread(pageTimings.map((p) => Number(p[field] ?? 0)), 1).median : null);
    say('bare saxes on this machine, for comparing figures across machines…');
    const saxes = await bareSaxesMBps();

    return {
      runs,
      pages: orchestrated.pages,
      pulledGB: Math.round((orchestrated.bytes / 1e9) * 100) / 100,
      overheadRatio: spread(ratios, 3),
      overheadRatioToPlainBefore: spread(orchestrated.seconds.map((value, i) => value / plainRuns[i]!.seconds), 3),
      // Steadier than wall time on a busy machine: the worker process's CPU (all its threads) against the loop's.
      cpuRatio: spread(cpuRatios, 3),
      plainCpuSeconds: spread(plain.cpuSeconds, 1),
      workerCpuSeconds: spread(orchestrated.cpuSeconds, 1),
      plainSeconds: spread(plain.seconds, 1),
      temporalSeconds: spread(orchestrated.seconds, 1),
      plainPageMs: spread(plain.intervals, 1),
      temporalPageMs: spread(orchestrated.intervals, 1),
      plainGapMsPerPage: spread(plain.gaps, 1),
      temporalGapMsPerPage: spread(orchestrated.gaps, 1),
      // Before the first page's request and after the last page's last byte: a pull's fixed costs.
      plainLeadSeconds: spread(plain.leads, 2),
      temporalLeadSeconds: spread(orchestrated.leads, 2),
      plainTailSeconds: spread(plain.tails, 2),
      temporalTailSeconds: spread(orchestrated.tails, 2),
      // Medians over every page of every run: where a page's time went inside the activity.
      temporalPageStepsMs: { waitForSlot: median('slotMs'), qualys: median('qualysMs'), giveSlotBack: median('releaseMs'), storeBlob: median('storeMs'), recordPage: median('recordMs') },
      temporalSealSeconds: sealTimings.length ? spread(sealTimings.map((t) => Number(t.sealMs) / 1000), 1) : null,
      peakWorkerRssMB,
      sameEvidence: plain.sha256.size === 1 && orchestrated.sha256.size === 1 && [...plain.sha256][0] === [...orchestrated.sha256][0],
      saxesMBps: saxes,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => say(`cleanup: ${String(err)}`));
  }
}
