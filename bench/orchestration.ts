/**
 * Benchmark `orchestration`: a pull of 200 pages (1000 hosts each) as a
 * fetcher run through Temporal, against the same pages pulled by a plain loop
 * over the qualys/ client, from the same simulator in one run. Both seal the
 * pages into one file, so they do the same work and must produce the same
 * bytes. The worker runs in a process of its own, whose peak RSS during the
 * pull (well over 1 GB) is reported. Targets: overheadRatio < 1.10,
 * peakWorkerRssMB < 200. Needs Postgres (DATABASE_URL, default the local one):
 * the worker process and this one share the database.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startFetcherRun } from '../api/run-starter.js';
import { createConnection } from '../db/connections.js';
import { openDatabase } from '../db/database.js';
import { createScratchDatabase, LOCAL_POSTGRES_URL } from '../db/scratch-database.js';
import { createFetcher } from '../db/fetchers.js';
import { buildHostListDetectionParams, hostListDetectionFiltersSchema } from '../qualys/hld-params.js';
import { CACHE_DIR, PROJECT_ROOT } from '../runtime/paths.js';
import { ensureTemporalCli } from '../runtime/temporal-cli.js';
import { startTemporalDevServer } from '../runtime/temporal-dev-server.js';
import { spawnSimulator } from '../simulator/spawn.js';
import { runWorkflowId, type FetcherRunResult } from '../shared/contracts.js';
import { bundleForNode, runChild } from './child.js';

const PAGES = 200;
const HOSTS_PER_PAGE = 1000;
/** Without RESULTS a page is about 14 MB, so the pull is well over 1 GB. */
const RESULTS_OFF = { show_results: 0 };
/** The worker process's memory settings, as `npm run worker` sets them (see the README). */
const WORKER_NODE_FLAGS = ['--max-semi-space-size=2'];
const WORKER_ENV = { MALLOC_ARENA_MAX: '2' };

const say = (m: string) => process.stderr.write(`orchestration: ${m}\n`);

/** Peak resident set of another process (Linux /proc), in MB. */
async function peakRssOf(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 102.4) / 10;
}

/** Mean time between one page's last byte and the next page's request: the orchestration's own cost. */
function pageGaps(log: Array<{ at: number; durationMs: number; endpoint: string; idMin: string | null }>) {
  const pages = log.filter((e) => e.endpoint === 'detection');
  let gaps = 0;
  for (let i = 1; i < pages.length; i++) gaps += pages[i]!.at - (pages[i - 1]!.at + pages[i - 1]!.durationMs);
  return { requests: log.length, meanGapMs: pages.length > 1 ? Math.round((gaps / (pages.length - 1)) * 10) / 10 : 0 };
}

function waitForLine(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`worker did not say "${text}" in ${timeoutMs} ms: ${seen.slice(-500)}`)), timeoutMs);
    const onData = (b: Buffer) => {
      seen += b.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${seen.slice(-500)}`)));
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const work = await fs.mkdtemp(path.join(CACHE_DIR, 'orchestration-'));
  cleanups.push(() => fs.rm(work, { recursive: true, force: true }));
  try {
    // Hosts without a matching detection are not listed, so the subscription is larger than the pull.
    const hosts = Math.ceil((PAGES * HOSTS_PER_PAGE) / 0.85);
    say(`simulator with ${hosts} hosts, Temporal dev server, Postgres database`);
    const sim = await spawnSimulator({ hosts, seed: 3, now: '2026-11-01T00:00:00Z', user: 'bench', password: 'bench-pass' });
    cleanups.push(() => sim.close());
    // Exactly PAGES pages: host IDs up to the one before page PAGES + 1 starts.
    const all = sim.dataset.expected({ action: 'list', truncation_limit: String(HOSTS_PER_PAGE), show_results: '0' });
    if (all.pages <= PAGES) throw new Error(`the simulated subscription gives only ${all.pages} pages`);
    const filters = { extraParams: { ...RESULTS_OFF, ids: `1-${all.pageIdMins[PAGES - 1]! - 1}` } };
    const temporal = await startTemporalDevServer({ binary: await ensureTemporalCli(), uiPort: null });
    cleanups.push(() => temporal.stop());
    const database = await createScratchDatabase(process.env.DATABASE_URL || LOCAL_POSTGRES_URL, 'qec_bench');
    cleanups.push(() => database.drop());
    const db = await openDatabase({ url: database.url, max: 2 });
    cleanups.push(() => db.close());

    say('bundling workflows and the worker');
    const bundlePath = path.join(work, 'workflows.js');
    await fs.writeFile(bundlePath, (await bundleWorkflowCode({ workflowsPath: path.join(PROJECT_ROOT, 'workflows/index.ts') })).code);
    const workerBundle = await bundleForNode(fileURLToPath(new URL('./worker-entry.ts', import.meta.url)));
    cleanups.push(() => workerBundle.cleanup());
    const loopBundle = await bundleForNode(fileURLToPath(new URL('./orchestration-child.ts', import.meta.url)));
    cleanups.push(() => loopBundle.cleanup());

    const secretsKey = randomBytes(32).toString('base64');
    const taskQueue = 'bench-orchestration';
    const worker = spawn(process.execPath, [...WORKER_NODE_FLAGS, workerBundle.file], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        SECRETS_KEY: secretsKey,
        DATA_DIR: path.join(work, 'worker'),
        WORKFLOW_BUNDLE_PATH: bundlePath,
        LOG_LEVEL: 'info',
        ...WORKER_ENV,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.unshift(async () => {
      if (worker.exitCode === null) worker.kill('SIGKILL');
    });
    await waitForLine(worker, 'worker started', 60_000);

    const { createSecretBox } = await import('../security/secret-box.js');
    const connection = await createConnection(db.db, createSecretBox(Buffer.from(secretsKey, 'base64')), {
      name: 'bench simulator',
      apiBaseUrl: sim.url,
      username: 'bench',
      password: 'bench-pass',
    });
    const fetcher = await createFetcher(db.db, {
      connectionId: connection.id,
      name: 'bench',
      kind: 'host_list_detection',
      config: filters,
      format: 'XML',
      pageSize: HOSTS_PER_PAGE,
    });
    const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse(filters), { apiVersion: '5.0', truncationLimit: HOSTS_PER_PAGE });

    say('plain loop over the qualys/ client…');
    const plain = await runChild<{ seconds: number; pages: number; bytes: number; sha256: string }>(
      loopBundle.file,
      [sim.url, JSON.stringify(params), path.join(work, 'plain.xml')],
      { ...process.env, BENCH_USER: 'bench', BENCH_PASSWORD: 'bench-pass' },
    );
    await fs.rm(path.join(work, 'plain.xml'), { force: true });
    say(`plain loop: ${plain.pages} pages, ${(plain.bytes / 1e9).toFixed(2)} GB in ${plain.seconds.toFixed(1)} s`);
    const plainGaps = pageGaps((await sim.stats()).log);

    say('the same pull as a fetcher run through Temporal…');
    const temporalConnection = await Connection.connect({ address: temporal.address });
    cleanups.unshift(() => temporalConnection.close());
    const client = new Client({ connection: temporalConnection });
    const started = process.hrtime.bigint();
    const { run: runRow } = await startFetcherRun({ db: db.db, client, taskQueue }, { fetcher, trigger: 'cli', triggeredBy: 'bench' });
    const result = (await client.workflow.getHandle(runWorkflowId(runRow.id)).result()) as FetcherRunResult;
    const temporalSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const peakWorkerRssMB = await peakRssOf(worker.pid!);
    const temporalGaps = pageGaps((await sim.stats()).log.slice(plainGaps.requests));
    say(`through Temporal: ${result.totals.pages} pages in ${temporalSeconds.toFixed(1)} s, worker peak RSS ${peakWorkerRssMB} MB`);

    return {
      pages: result.totals.pages,
      pulledGB: Math.round((result.totals.bytes / 1e9) * 100) / 100,
      plainSeconds: Math.round(plain.seconds * 10) / 10,
      temporalSeconds: Math.round(temporalSeconds * 10) / 10,
      overheadRatio: Math.round((temporalSeconds / plain.seconds) * 1000) / 1000,
      peakWorkerRssMB,
      plainGapMsPerPage: plainGaps.meanGapMs,
      temporalGapMsPerPage: temporalGaps.meanGapMs,
      sameEvidence: result.evidence.sha256 === plain.sha256,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => say(`cleanup: ${String(err)}`));
  }
}
