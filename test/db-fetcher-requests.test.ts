/**
 * Explicit fetcher ↔ audit request mappings and how they widen where
 * evidence attaches, on Postgres and on PGlite.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { attachmentTargetsForFetcher } from '../db/attachments.js';
import { createConnection } from '../db/connections.js';
import { FRAMEWORKS } from '../db/control-catalog.js';
import { findControl } from '../db/controls.js';
import type { AppDatabase } from '../db/database.js';
import { UnknownReferenceError } from '../db/errors.js';
import {
  createFetcher,
  deleteFetcher,
  listFetcherRequests,
  listFetchersForControl,
  listMappingsOfFetchers,
  setFetcherControls,
  setFetcherRequests,
} from '../db/fetchers.js';
import { closeRequest, createRequest, deleteRequest } from '../db/requests.js';
import { fetcherRequests, type ControlRow } from '../db/schema.js';
import { databaseBackends } from './support/db-backends.js';
import { createSecretBox } from '../security/secret-box.js';

const BACKENDS = databaseBackends('qec_fetcherreq');

const box = createSecretBox(randomBytes(32));

describe.each(BACKENDS)('fetcher ↔ request mappings on $name', (backend) => {
  let db: AppDatabase;
  let cleanup: () => Promise<void>;
  let pci112: ControlRow;
  let fedrampRa5: ControlRow;

  beforeAll(async () => {
    const opened = await backend.open();
    db = opened.handle.db;
    cleanup = opened.cleanup;
    pci112 = (await findControl(db, FRAMEWORKS.PCI_DSS, '11.2'))!;
    fedrampRa5 = (await findControl(db, FRAMEWORKS.FEDRAMP_MODERATE, 'RA-5'))!;
  });

  afterAll(async () => {
    await cleanup?.();
  });

  async function newFetcher(name = 'HLD') {
    const connection = await createConnection(db, box, {
      name: 'Qualys',
      apiBaseUrl: 'https://qualysapi.qualys.com',
      username: 'api_user',
      password: 'not-used-here',
    });
    return createFetcher(db, { connectionId: connection.id, name, kind: 'host_list_detection', config: {}, format: 'XML' });
  }

  const newRequest = (title: string, controlIds: string[] = []) =>
    createRequest(db, { title, periodStart: '2026-01-01', periodEnd: '2026-03-31', controlIds });

  it('replaces the set, deduplicates, and refuses unknown ids without changing anything', async () => {
    const fetcher = await newFetcher();
    const a = await newRequest('A');
    const b = await newRequest('B');
    await setFetcherRequests(db, fetcher.id, [b.id, a.id, b.id]);
    expect((await listFetcherRequests(db, fetcher.id)).map((r) => r.id)).toEqual([a.id, b.id]);

    const bogus = randomUUID();
    const failure = await setFetcherRequests(db, fetcher.id, [a.id, bogus]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UnknownReferenceError);
    expect(failure).toMatchObject({ field: 'requestIds', ids: [bogus] });
    expect((await listFetcherRequests(db, fetcher.id)).map((r) => r.id)).toEqual([a.id, b.id]);

    await setFetcherRequests(db, fetcher.id, [b.id]);
    expect((await listFetcherRequests(db, fetcher.id)).map((r) => r.id)).toEqual([b.id]);
    await setFetcherRequests(db, fetcher.id, []);
    expect(await listFetcherRequests(db, fetcher.id)).toEqual([]);
  });

  it('attaches to open explicitly mapped requests, once, next to the requests reached through controls', async () => {
    const fetcher = await newFetcher();
    await setFetcherControls(db, fetcher.id, [pci112.id]);
    const viaControl = await newRequest('PCI Q1', [pci112.id]);
    const both = await newRequest('PCI and explicit', [pci112.id]);
    const explicitOnly = await newRequest('Explicit, other control', [fedrampRa5.id]);
    const explicitClosed = await newRequest('Explicit but closed');
    await closeRequest(db, explicitClosed.id);
    await setFetcherRequests(db, fetcher.id, [both.id, explicitOnly.id, explicitClosed.id]);

    const targets = await attachmentTargetsForFetcher(db, fetcher.id, new Date('2026-02-01T00:00:00Z'));
    expect(targets).toEqual([
      { targetType: 'control', targetId: pci112.id },
      { targetType: 'request', targetId: viaControl.id },
      { targetType: 'request', targetId: both.id },
      { targetType: 'request', targetId: explicitOnly.id },
    ]);
  });

  it('attaches to explicit requests even when the fetcher has no controls', async () => {
    const fetcher = await newFetcher();
    const request = await newRequest('Ad hoc');
    await setFetcherRequests(db, fetcher.id, [request.id]);
    expect(await attachmentTargetsForFetcher(db, fetcher.id, new Date('2026-02-01T00:00:00Z'))).toEqual([{ targetType: 'request', targetId: request.id }]);
  });

  it('reads the mappings of many fetchers at once and the live fetchers of a control', async () => {
    const first = await newFetcher('first');
    const second = await newFetcher('second');
    const unmapped = await newFetcher('unmapped');
    const request = await newRequest('R');
    await setFetcherControls(db, first.id, [pci112.id, fedrampRa5.id]);
    await setFetcherControls(db, second.id, [pci112.id]);
    await setFetcherRequests(db, second.id, [request.id]);

    const mappings = await listMappingsOfFetchers(db, [first.id, second.id, unmapped.id]);
    expect(mappings.get(first.id)!.controls.map((c) => c.id).sort()).toEqual([pci112.id, fedrampRa5.id].sort());
    expect(mappings.get(first.id)!.requestIds).toEqual([]);
    expect(mappings.get(second.id)).toEqual({ controls: [pci112], requestIds: [request.id] });
    expect(mappings.get(unmapped.id)).toEqual({ controls: [], requestIds: [] });
    expect((await listMappingsOfFetchers(db, [])).size).toBe(0);

    const forPci = (await listFetchersForControl(db, pci112.id)).map((f) => f.id);
    expect(forPci).toEqual(expect.arrayContaining([first.id, second.id]));
    await deleteFetcher(db, first.id);
    expect((await listFetchersForControl(db, pci112.id)).map((f) => f.id)).not.toContain(first.id);
  });

  it('drops the mapping rows with the request', async () => {
    const fetcher = await newFetcher();
    const request = await newRequest('Short-lived');
    await setFetcherRequests(db, fetcher.id, [request.id]);
    expect(await deleteRequest(db, request.id)).toBe(true);
    expect(await db.select().from(fetcherRequests).where(eq(fetcherRequests.requestId, request.id))).toEqual([]);
    expect(await listFetcherRequests(db, fetcher.id)).toEqual([]);
  });
});
