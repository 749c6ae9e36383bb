/**
 * The same run on the embedded database that `npm start` uses by default:
 * the code and migrations are shared with Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../db/evidence.js';
import { getRun } from '../db/runs.js';
import { listRunPages } from '../db/run-pages.js';
import { expectPageChains } from './support/page-chains.js';
import { startRunStack, type RunStack } from './support/run-stack.js';

let stack: RunStack;

beforeAll(async () => {
  stack = await startRunStack({ database: 'pglite', simulator: { hosts: 60 } });
});
afterAll(async () => {
  await stack?.close();
});

describe('runs on embedded PGlite', () => {
  it('pulls, seals and attaches exactly as on Postgres', async () => {
    expect(stack.database.kind).toBe('pglite');
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, { format: 'CSV' }, { pageSize: 9, controls: [['FedRAMP Moderate', 'RA-5']] });
    const { run, result } = await stack.runToEnd(fetcher);
    const expected = stack.sim.dataset.expected({ action: 'list', output_format: 'CSV', truncation_limit: '9' });
    expect(result.totals).toMatchObject({ hosts: expected.hosts, detections: expected.detections });
    // Ranges pulled in parallel on PGlite too: every range's pages were stored once.
    expectPageChains(await listRunPages(stack.database.db, run.id));
    expect(result.attachedTo.controls.map((c) => c.code)).toEqual(['RA-5']);
    const evidence = (await getEvidence(stack.database.db, result.evidence.evidenceId))!;
    expect(evidence).toMatchObject({ format: 'CSV', complete: true, runId: run.id });
    expect((await getRun(stack.database.db, run.id))!.status).toBe('succeeded');
  });
});
