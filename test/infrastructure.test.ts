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
});
