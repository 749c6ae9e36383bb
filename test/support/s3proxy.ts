/**
 * A real S3 server for tests: S3Proxy (org.gaul:s3proxy, the
 * jar-with-dependencies build) on a free loopback port with its filesystem
 * backend in a temp directory. The jar is found in `.cache/s3proxy/` (or at
 * S3PROXY_JAR) and otherwise fetched there from Maven Central by `mvn`.
 * Without Java the server cannot run: `startS3Proxy` then says why instead
 * of failing, and the S3 suites report that in the run's summary.
 *
 * `npx tsx test/support/s3proxy.ts --fetch` fetches the jar (CI does).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, isListening } from '../../runtime/free-port.js';
import { PROJECT_ROOT } from '../../runtime/paths.js';

export const S3PROXY_VERSION = '2.6.0';
const ARTIFACT = `org.gaul:s3proxy:${S3PROXY_VERSION}:jar:jar-with-dependencies`;
const JAR_DIR = path.join(PROJECT_ROOT, '.cache', 's3proxy');
const JAR_FILE = path.join(JAR_DIR, `s3proxy-${S3PROXY_VERSION}-jar-with-dependencies.jar`);
const STARTUP_TIMEOUT_MS = 60_000;

/** What test files need to reach the server: plain data, so it can be `provide`d. */
export type S3ProxyInfo =
  | { available: true; endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }
  | { available: false; reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's S3Proxy, or why it could not start. */
    s3proxy: S3ProxyInfo;
  }
}

export interface S3ProxyHandle {
  info: S3ProxyInfo;
  stop(): Promise<void>;
}

/** `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from PATH. */
function javaBinary(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function javaProblem(java: string): string | null {
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (probe.error) return `Java is not installed (${java}: ${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message}); S3Proxy needs Java 17 or newer`;
  const match = /version "(\d+)/.exec(probe.stderr ?? '');
  const major = match ? Number(match[1]) : NaN;
  if (!(major >= 17)) return `S3Proxy needs Java 17 or newer, found ${(probe.stderr ?? '').split('\n')[0]}`;
  return null;
}

/** The jar's path, fetching it with mvn when it is not cached; a reason string when that is impossible. */
export function ensureS3ProxyJar(): { jar: string } | { reason: string } {
  const configured = process.env.S3PROXY_JAR;
  if (configured) return fs.existsSync(configured) ? { jar: configured } : { reason: `S3PROXY_JAR=${configured} does not exist` };
  if (fs.existsSync(JAR_FILE)) return { jar: JAR_FILE };
  fs.mkdirSync(JAR_DIR, { recursive: true });
  const fetch = spawnSync('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${JAR_DIR}`], { encoding: 'utf8' });
  if (fetch.error) return { reason: `the S3Proxy jar is not in .cache/s3proxy and mvn is not installed to fetch ${ARTIFACT}` };
  if (fetch.status !== 0 || !fs.existsSync(JAR_FILE)) {
    return { reason: `mvn could not fetch ${ARTIFACT}: ${(fetch.stdout + fetch.stderr).trim().split('\n').slice(-3).join(' ')}` };
  }
  return { jar: JAR_FILE };
}

export async function startS3Proxy(): Promise<S3ProxyHandle> {
  const unavailable = (reason: string): S3ProxyHandle => ({ info: { available: false, reason }, stop: async () => {} });
  const java = javaBinary();
  const problem = javaProblem(java);
  if (problem) return unavailable(problem);
  const found = ensureS3ProxyJar();
  if ('reason' in found) return unavailable(found.reason);

  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'qec-s3proxy-'));
  const dataDir = path.join(dir, 'data');
  await fsp.mkdir(dataDir);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = 'qec-test';
  const secretAccessKey = 'qec-test-secret';
  const properties = [
    `s3proxy.endpoint=${endpoint}`,
    's3proxy.authorization=aws-v2-or-v4',
    `s3proxy.identity=${accessKeyId}`,
    `s3proxy.credential=${secretAccessKey}`,
    'jclouds.provider=filesystem-nio2',
    'jclouds.identity=local',
    'jclouds.credential=local',
    `jclouds.filesystem.basedir=${dataDir}`,
  ].join('\n');
  await fsp.writeFile(path.join(dir, 's3proxy.conf'), `${properties}\n`);
  const log = fs.openSync(path.join(dir, 's3proxy.log'), 'w');
  // The quick JIT only: S3Proxy lives for one test run, and the optimising compiler cost more CPU than it saved.
  const child: ChildProcess = spawn(java, ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-jar', found.jar, '--properties', path.join(dir, 's3proxy.conf')], {
    stdio: ['ignore', log, log],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  fs.closeSync(log);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await isListening('127.0.0.1', port, 500))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const output = await fsp.readFile(path.join(dir, 's3proxy.log'), 'utf8').catch(() => '');
      await stop();
      throw new Error(`S3Proxy did not start on ${endpoint}: ${output.split('\n').slice(-10).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { info: { available: true, endpoint, region: 'us-east-1', accessKeyId, secretAccessKey }, stop };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv.includes('--fetch')) {
  const found = ensureS3ProxyJar();
  if ('reason' in found) {
    process.stderr.write(`${found.reason}\n`);
    process.exit(1);
  }
  process.stdout.write(`${found.jar}\n`);
}
