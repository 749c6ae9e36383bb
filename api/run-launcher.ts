/**
 * The API answers a start as soon as the run is stored and starts its
 * workflow in the background, so a start costs the caller one database write,
 * not a round trip to Temporal as well. A start that does not get through
 * (Temporal down, the API stopped in between) leaves the run queued without
 * `launchedAt`; the sweep finds such runs and starts them, so a stored run
 * always gets its workflow. Starting is idempotent on the workflow id (see
 * run-starter.ts), so a launch and a sweep racing for one run start it once.
 */
import { getFetcher } from '../db/fetchers.js';
import { runsAwaitingLaunch } from '../db/runs.js';
import type { FetcherRow, RunRow } from '../db/schema.js';
import type { Logger } from '../runtime/logger.js';
import { launchWorkflow, type RunStarterDeps } from './run-starter.js';

/** A run this old without its workflow was not just being started by a launch in flight. */
export const LAUNCH_GRACE_MS = 10_000;
/** Between sweeps: how long a run whose start failed may wait for its workflow. */
export const LAUNCH_SWEEP_INTERVAL_MS = 15_000;
/** Runs started per sweep; the next sweep takes the rest. */
const SWEEP_BATCH = 100;

export interface RunLauncher {
  /** Starts the stored run's workflow in the background; a failure is logged and left to the sweep. */
  launch(run: RunRow, fetcher: FetcherRow): void;
  /** Resolves once this process has no start of the run in flight (a cancel waits for it, so it finds the workflow). */
  settled(runId: string): Promise<void>;
  /** Resolves once no start is in flight in this process. */
  idle(): Promise<void>;
  /** Starts the workflows of runs left queued without one; returns how many it started. */
  sweep(): Promise<number>;
  /** Stops sweeping and waits for the launches in flight. */
  close(): Promise<void>;
}

export interface RunLauncherOptions {
  /** Sweep at once and then every so often (`npm run api`, `npm start`); never when absent. */
  sweepEveryMs?: number;
  graceMs?: number;
}

export function createRunLauncher(deps: RunStarterDeps & { logger: Logger }, options: RunLauncherOptions = {}): RunLauncher {
  const { db, logger } = deps;
  const graceMs = options.graceMs ?? LAUNCH_GRACE_MS;
  const inFlight = new Map<string, Promise<void>>();
  let sweeping: Promise<number> = Promise.resolve(0);

  /** Registers a start of the run until it ends; returns it as it was. */
  const track = <T>(runId: string, work: Promise<T>): Promise<T> => {
    const ended = work.then(
      () => undefined,
      () => undefined,
    );
    inFlight.set(runId, ended);
    void ended.then(() => {
      if (inFlight.get(runId) === ended) inFlight.delete(runId);
    });
    return work;
  };

  const sweepOnce = async (): Promise<number> => {
    let started = 0;
    for (const run of await runsAwaitingLaunch(db, graceMs, SWEEP_BATCH)) {
      const fetcher = await getFetcher(db, run.fetcherId, { includeDeleted: true });
      if (!fetcher) continue;
      try {
        // Tracked like a launch, so that a cancel arriving meanwhile waits for it.
        await track(run.id, launchWorkflow(deps, run, fetcher));
        started += 1;
      } catch (err) {
        logger.warn({ runId: run.id, error: (err as Error).message }, 'could not start a queued run; the next sweep tries again');
      }
    }
    if (started > 0) logger.info({ started }, 'started queued runs whose start had not got through');
    return started;
  };
  const sweep = () => {
    sweeping = sweeping.then(sweepOnce, sweepOnce);
    return sweeping;
  };

  let timer: NodeJS.Timeout | null = null;
  if (options.sweepEveryMs !== undefined) {
    const sweepQuietly = () => void sweep().catch((err: unknown) => logger.warn({ error: (err as Error).message }, 'could not look for queued runs; will try again'));
    sweepQuietly();
    timer = setInterval(sweepQuietly, options.sweepEveryMs);
    timer.unref();
  }

  return {
    launch(run, fetcher) {
      // Replays of one Idempotency-Key arrive together: one start of the run at a time is enough.
      if (inFlight.has(run.id)) return;
      track(
        run.id,
        launchWorkflow(deps, run, fetcher).catch((err: unknown) => {
          logger.warn({ runId: run.id, error: (err as Error).message }, 'could not start the run yet; the launch sweep will');
        }),
      );
    },
    settled: async (runId) => {
      await inFlight.get(runId);
    },
    idle: async () => {
      await Promise.allSettled([...inFlight.values()]);
    },
    sweep,
    async close() {
      if (timer) clearInterval(timer);
      await Promise.allSettled([...inFlight.values(), sweeping]);
    },
  };
}
