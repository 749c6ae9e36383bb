/**
 * The load generator of the `api` benchmark, run in a process of its own so
 * that it does not share an event loop with the API it measures. Over one
 * keep-alive connection pool it runs two fixed-length phases with
 * `concurrency` requests in flight: starting runs (each with its own
 * Idempotency-Key), then reading the status of the runs it started. It
 * prints progress on stderr and, at the end, one JSON line with every
 * request's latency.
 *
 * Usage: api-load <baseUrl> <token> <fetcherId> <concurrency> <startMs> <statusMs>
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface PhaseReport {
  /** Milliseconds from sending the request to reading the last body byte, for each request. */
  latenciesMs: number[];
  /** Requests answered with something other than the expected status (or not at all). */
  errors: number;
  elapsedMs: number;
}

export interface LoadReport {
  start: PhaseReport;
  status: PhaseReport;
  runsStarted: number;
}

const [baseUrl, token, fetcherId, concurrencyText, startMsText, statusMsText] = process.argv.slice(2);
if (!baseUrl || !token || !fetcherId || !concurrencyText || !startMsText || !statusMsText) {
  process.stderr.write('usage: api-load <baseUrl> <token> <fetcherId> <concurrency> <startMs> <statusMs>\n');
  process.exit(2);
}
const concurrency = Number(concurrencyText);
const pool = new Pool(baseUrl, { connections: concurrency, keepAliveTimeout: 60_000 });
const authorization = `Bearer ${token}`;

async function phase(name: string, durationMs: number, request: () => Promise<boolean>): Promise<PhaseReport> {
  const latenciesMs: number[] = [];
  let errors = 0;
  const began = performance.now();
  const deadline = began + durationMs;
  const progress = setInterval(() => {
    const seconds = (performance.now() - began) / 1000;
    process.stderr.write(`api-load: ${name} ${seconds.toFixed(0)} s, ${latenciesMs.length} requests (${(latenciesMs.length / seconds).toFixed(0)}/s), ${errors} errors\n`);
  }, 2_000);
  const loop = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      let ok = false;
      try {
        ok = await request();
      } catch {
        ok = false;
      }
      latenciesMs.push(Math.round((performance.now() - sent) * 100) / 100);
      if (!ok) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  clearInterval(progress);
  return { latenciesMs, errors, elapsedMs: performance.now() - began };
}

const runIds: string[] = [];
let keyCounter = 0;

const start = await phase('start runs', Number(startMsText), async () => {
  const res = await pool.request({
    method: 'POST',
    path: `/v1/fetchers/${fetcherId}/runs`,
    headers: { authorization, 'idempotency-key': `bench-${process.pid}-${(keyCounter += 1)}` },
  });
  const body = (await res.body.json()) as { id?: string };
  if (res.statusCode !== 202 || !body.id) return false;
  runIds.push(body.id);
  return true;
});
if (runIds.length === 0) throw new Error('no run was started; the status phase has nothing to read');

let next = 0;
const status = await phase('read status', Number(statusMsText), async () => {
  const id = runIds[(next += 1) % runIds.length]!;
  const res = await pool.request({ method: 'GET', path: `/v1/runs/${id}`, headers: { authorization } });
  await res.body.text();
  return res.statusCode === 200;
});

await pool.close();
const report: LoadReport = { start, status, runsStarted: runIds.length };
process.stdout.write(`${JSON.stringify(report)}\n`);
