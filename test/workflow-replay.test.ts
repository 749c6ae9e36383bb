/**
 * Runs and schedules live for months, so today's workflow code must replay
 * the histories that earlier versions wrote: a change that would break a
 * workflow in flight fails here (non-determinism), not in production.
 * Histories are recorded with `npm run record-histories` (see the README).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../runtime/paths.js';

const HISTORIES = path.join(PROJECT_ROOT, 'test/fixtures/workflow-histories');

const files = fs
  .readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('workflow replay of committed histories', () => {
  it('finds histories of every representative run, and of every version', () => {
    const versions = new Set(files.map((f) => f.split('/')[0]));
    expect([...versions].sort()).toEqual(['v1-sequential', 'v2-range-pulls', 'v3-adaptive-page-size', 'v4-page-calls']);
    expect(files.map((f) => path.basename(f, '.json'))).toContain('page-size-halved');
    const names = new Set(files.map((f) => path.basename(f, '.json')));
    expect(files).toContain('v4-page-calls/page-call-interrupted.json');
    for (const name of ['hld-xml-with-webhook', 'webhook-delivery', 'hld-csv', 'custom-paged-list', 'waits-and-continue-as-new-first', 'waits-and-continue-as-new-last', 'page-retry', 'auth-failure', 'cancelled']) {
      expect(names, name).toContain(name);
    }
  });

  it('replays every history without non-determinism', async () => {
    const histories = files.map((file) => ({
      workflowId: file,
      history: JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8')) as unknown,
    }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: 'committed-histories' }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
