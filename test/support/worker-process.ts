/**
 * The worker as a separate process, configured like production through the
 * environment, for tests that kill it: the production worker (worker.ts's
 * runWorkerProcess) bundled once by the test set-up, started by node itself,
 * so no wrapper process stands between us and the worker for SIGKILL to miss.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inject, vi } from 'vitest';
import { PROJECT_ROOT } from '../../runtime/paths.js';
import type { RunStack } from './run-stack.js';

export interface WorkerProcesses {
  start(extraEnv?: NodeJS.ProcessEnv): Promise<ChildProcess>;
  /** Sends the signal and resolves with the exit code once the process is gone. */
  stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null>;
  killAll(): void;
}

export function workerProcesses(stack: RunStack): WorkerProcesses {
  const children = new Set<ChildProcess>();
  return {
    async start(extraEnv = {}) {
      const child = spawn(process.execPath, [inject('workerBundlePath')], {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: stack.databaseUrl!,
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          TEMPORAL_TASK_QUEUE: stack.taskQueue,
          SECRETS_KEY: stack.secretsKey.toString('base64'),
          BLOB_DIR: stack.blobDir,
          DATA_DIR: path.join(stack.blobDir, 'worker-data'),
          WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
          // A killed worker's cached runs move on to the next worker within a second.
          WORKER_STICKY_QUEUE_TIMEOUT_MS: '1000',
          LOG_LEVEL: 'info',
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      let output = '';
      child.stdout!.on('data', (b) => (output += b));
      child.stderr!.on('data', (b) => (output += b));
      // vi.waitFor, unlike expect.poll, also works in beforeAll.
      await vi.waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`worker exited early: ${output}`);
          if (!output.includes('worker started')) throw new Error(`the worker has not started yet: ${output}`);
        },
        { timeout: 30_000, interval: 50 },
      );
      return child;
    },
    stop(child, signal) {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
    killAll() {
      for (const child of children) child.kill('SIGKILL');
    },
  };
}
