/**
 * Qualys callers that share a subscription's budget, as runs on several
 * workers do: each caller makes its calls one after another through
 * activities/call-slots.ts against the simulator. Used in-process by the
 * budget tests and, as a script, by a second process (env below), which
 * prints one JSON line with what happened; with BUDGET_HOLD=1 it makes one
 * call that never ends and prints "holding" once it has the slot.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createCallSlots } from '../../activities/call-slots.js';
import { openDatabase } from '../../db/database.js';
import type { AppDatabase } from '../../db/database.js';
import { createQualysClient } from '../../qualys/client.js';

export interface CallerOptions {
  db: AppDatabase;
  simUrl: string;
  callers: number;
  callsEach: number;
  reserve: number;
  leaseTtlMs: number;
}

export interface CallerReport {
  ok: number;
  failed: string[];
}

export async function runCallers(options: CallerOptions): Promise<CallerReport> {
  const client = createQualysClient({ apiBaseUrl: options.simUrl, username: 'demo', password: 'demo-pass' });
  const slots = createCallSlots({ db: options.db, logger: pino({ level: 'silent' }), qualysBudget: { concurrencyReserve: options.reserve, leaseTtlMs: options.leaseTtlMs } });
  const report: CallerReport = { ok: 0, failed: [] };
  const signal = new AbortController().signal;
  try {
    await Promise.all(
      Array.from({ length: options.callers }, async (_, caller) => {
        for (let i = 0; i < options.callsEach; i++) {
          try {
            await slots.run(client, { signal, maxWaitMs: 60_000, purpose: `caller ${caller} call ${i}` }, (s) => client.checkConnection(s));
            report.ok += 1;
          } catch (err) {
            report.failed.push((err as Error).message);
          }
        }
      }),
    );
  } finally {
    await client.close();
  }
  return report;
}

async function main(): Promise<void> {
  const env = process.env;
  const handle = await openDatabase({ url: env.DATABASE_URL!, max: 4 });
  const options = {
    db: handle.db,
    simUrl: env.SIM_URL!,
    callers: Number(env.BUDGET_CALLERS ?? 1),
    callsEach: Number(env.BUDGET_CALLS_EACH ?? 1),
    reserve: Number(env.BUDGET_RESERVE ?? 0),
    leaseTtlMs: Number(env.BUDGET_LEASE_TTL_MS ?? 60_000),
  };
  if (env.BUDGET_HOLD === '1') {
    const client = createQualysClient({ apiBaseUrl: options.simUrl, username: 'demo', password: 'demo-pass' });
    const slots = createCallSlots({ db: options.db, logger: pino({ level: 'silent' }), qualysBudget: { concurrencyReserve: options.reserve, leaseTtlMs: options.leaseTtlMs } });
    await slots.run(client, { signal: new AbortController().signal, maxWaitMs: 60_000, purpose: 'holder' }, (s) => {
      process.stdout.write('holding\n');
      return client.checkConnection(s);
    });
    return;
  }
  const report = await runCallers(options);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await handle.close();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
