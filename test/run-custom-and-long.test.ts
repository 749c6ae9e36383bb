/**
 * Custom fetchers (any Qualys endpoint, paged lists followed and sealed),
 * long pulls that continue as new, and the secrets invariant: the Qualys
 * password appears in no workflow history, no log line and no database
 * column except as ciphertext.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SaxesParser } from 'saxes';
import { sql } from 'drizzle-orm';
import { getEvidence } from '../db/evidence.js';
import { runWorkflowId, type RunProgress } from '../shared/contracts.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';

const PASSWORD = 'S3cret-Pa55word-for-tests';
let stack: RunStack;

beforeAll(async () => {
  stack = await startRunStack({
    simulator: { hosts: 200, users: [{ username: 'grc-bot', password: PASSWORD, role: 'Manager' }] },
    // One range: the long-pull test counts executions by pages; run-range-pulls.test.ts continues ranges as new.
    rangePulls: { maxParallel: 1 },
  });
});
afterAll(async () => {
  await stack?.close();
});

async function readBlob(key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stack.blobStore.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function elementTexts(xml: string, element: string, parent: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  let text = '';
  const parser = new SaxesParser();
  parser.on('opentag', (t) => {
    stack.push(t.name);
    text = '';
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (t) => {
    if (t.name === element && stack.at(-2) === parent) out.push(text.trim());
    stack.pop();
  });
  parser.write(xml).close();
  return out;
}


describe('custom fetchers', () => {
  it('follows the truncation chain of a paged XML list and seals it like Host List Detection', async () => {
    const connection = await stack.addConnection({ username: 'grc-bot', password: PASSWORD });
    const fetcher = await stack.addCustomFetcher(connection, {
      method: 'POST',
      endpoint: '/api/2.0/fo/asset/group/?action=list',
      params: { truncation_limit: 4, show_attributes: 'ALL' },
    });
    const { result } = await stack.runToEnd(fetcher);
    const groups = stack.sim.dataset.assetGroups;
    expect(result.totals.pages).toBe(Math.ceil(groups.length / 4));
    expect(result.totals.records).toBe(groups.length);

    const evidence = (await getEvidence(stack.database.db, result.evidence.evidenceId))!;
    expect(evidence.format).toBe('XML');
    const xml = await readBlob(evidence.blobKey);
    expect(elementTexts(xml, 'ID', 'ASSET_GROUP').map(Number)).toEqual(groups.map((g) => g.id));
    expect(xml).not.toContain('<WARNING>');
    const manifest = evidence.manifest as { qualys: { endpoint: string; method: string; params: Record<string, string> } };
    expect(manifest.qualys).toMatchObject({ endpoint: '/api/2.0/fo/asset/group/?action=list', method: 'POST', params: { truncation_limit: '4' } });
  });

  it('stores a single non-list answer as it came', async () => {
    const connection = await stack.addConnection({ username: 'grc-bot', password: PASSWORD });
    const fetcher = await stack.addCustomFetcher(connection, { method: 'GET', endpoint: '/api/2.0/fo/qid/search_list/dynamic/?action=list', params: {} });
    const { result } = await stack.runToEnd(fetcher);
    expect(result.totals.pages).toBe(1);
    const evidence = (await getEvidence(stack.database.db, result.evidence.evidenceId))!;
    expect(evidence.format).toBe('RAW');
    const body = await readBlob(evidence.blobKey);
    expect(body).toContain('<DYNAMIC_SEARCH_LIST_OUTPUT>');
    expect(evidence.filename).toMatch(/\.xml$/);
    // The raw answer is the sealed file itself: the one page's bytes.
    const manifest = evidence.manifest as { pages: Array<{ sha256: string }> };
    expect(manifest.pages[0]!.sha256).toBe(evidence.sha256);
  });
});

describe('long pulls', () => {
  it('continues as new every few pages and still seals every page exactly once', async () => {
    const connection = await stack.addConnection({ username: 'grc-bot', password: PASSWORD });
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 8 });
    const run = await stack.startRun(fetcher, { ...FAST_TUNING, pagesPerExecution: 4 });
    const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
    const result = await handle.result();
    const expected = stack.sim.dataset.expected({ action: 'list', output_format: 'XML', truncation_limit: '8' });
    expect(result.totals.pages).toBe(expected.pages);
    expect(result.totals.hosts).toBe(expected.hosts);

    const executions = [];
    for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${runWorkflowId(run.id)}'` })) executions.push(execution);
    expect(executions.length).toBe(Math.ceil(expected.pages / 4));
    const continued = executions.filter((e) => e.status.name === 'CONTINUED_AS_NEW');
    expect(continued).toHaveLength(executions.length - 1);
    // Only the last execution ends the run: the others record no outcome and announce nothing.
    for (const execution of continued) {
      const history = await stack.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
      expect(scheduled).toContain('pullPages');
      expect(scheduled).not.toContain('finishRun');
      expect(scheduled).not.toContain('listWebhookSubscribers');
    }

    // The progress query of the latest execution carries the whole run's counters.
    const progress = await handle.query<RunProgress>('progress');
    expect(progress).toMatchObject({ step: 'done', outcome: 'succeeded', pages: expected.pages, hosts: expected.hosts });
    const sealed = await readBlob(result.evidence.blobKey);
    expect(elementTexts(sealed, 'ID', 'HOST').map(Number)).toEqual(expected.hostIds);
  });
});

describe('secrets', () => {
  it('keeps the Qualys password out of workflow histories, logs and plain database columns', async () => {
    const connection = await stack.addConnection({ username: 'grc-bot', password: PASSWORD });
    const runIds: string[] = [];
    for (const fetcher of [
      await stack.addHldFetcher(connection, {}, { pageSize: 120 }),
      await stack.addCustomFetcher(connection, { method: 'POST', endpoint: '/api/2.0/fo/asset/group/?action=list', params: { truncation_limit: 10 } }),
    ]) {
      runIds.push((await stack.runToEnd(fetcher)).run.id);
    }
    for (const runId of runIds) {
      for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${runWorkflowId(runId)}'` })) {
        const history = await stack.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
        const json = JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
        expect(json).toContain('pullPage');
        expect(json).not.toContain(PASSWORD);
        expect(json).not.toContain(Buffer.from(PASSWORD).toString('base64'));
      }
    }
    expect(stack.logLines.length).toBeGreaterThan(0);
    expect(stack.logLines.join('\n')).not.toContain(PASSWORD);

    const tables = await stack.database.db.execute<{ tablename: string }>(sql`select tablename from pg_tables where schemaname = 'public'`);
    let ciphertexts = 0;
    for (const { tablename } of tables as unknown as Array<{ tablename: string }>) {
      const rows = await stack.database.db.execute<{ row: string }>(sql.raw(`select row_to_json(t)::text as row from "${tablename}" t`));
      for (const { row } of rows as unknown as Array<{ row: string }>) {
        expect(row, `table ${tablename}`).not.toContain(PASSWORD);
        if (tablename === 'connections' && row.includes('"grc-bot"')) {
          expect(JSON.parse(row).password_ciphertext).toMatch(/^v1\./);
          ciphertexts += 1;
        }
      }
    }
    expect(ciphertexts).toBeGreaterThanOrEqual(1);
  });
});
