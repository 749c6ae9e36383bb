/**
 * Qualys connections. The password only ever reaches the database as
 * secret-box ciphertext bound to the connection's id; reads return the
 * connection without it, and `getConnectionCredentials` is the one way to get
 * the plaintext back (for the activity that calls Qualys).
 */
import { randomUUID } from 'node:crypto';
import { and, eq, getTableColumns, inArray, isNull, sql } from 'drizzle-orm';
import type { SecretBox } from '../security/secret-box.js';
import type { AppDatabase } from './app-database.js';
import { ConnectionDisconnectedError } from './errors.js';
import { isEmptyPatch } from './patch.js';
import { preparedPerDatabase } from './prepared.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import {
  connections,
  fetchers,
  schedules,
  toJsonRecord,
  type ConnectionRow,
  type ConnectionStatus,
  type JsonRecordInput,
} from './schema.js';

/** A connection as it may be shown: everything but the password ciphertext. */
export type Connection = Omit<ConnectionRow, 'passwordCiphertext'>;

export interface ConnectionCredentials {
  connection: Connection;
  password: string;
}

export interface NewConnection {
  name: string;
  platform?: string | null;
  apiBaseUrl: string;
  apiVersion?: string;
  username: string;
  password: string;
  proxyUrl?: string | null;
  /** The API checks credentials before saving, so it can store the outcome at once. */
  status?: ConnectionStatus;
  statusReason?: string | null;
  limits?: JsonRecordInput | null;
  lastCheckedAt?: Date | null;
}

export interface ConnectionPatch {
  name?: string;
  platform?: string | null;
  apiBaseUrl?: string;
  apiVersion?: string;
  username?: string;
  /** A new password replaces (rotates) the stored one. */
  password?: string;
  proxyUrl?: string | null;
  status?: ConnectionStatus;
  statusReason?: string | null;
  limits?: JsonRecordInput | null;
  lastCheckedAt?: Date | null;
}

export interface DisconnectResult {
  connection: Connection;
  disabledFetcherIds: string[];
  /** Temporal schedules of the connection's fetchers, now marked paused here; pause them in Temporal too. */
  pausedTemporalScheduleIds: string[];
}

const { passwordCiphertext: _omitted, ...publicColumns } = getTableColumns(connections);

/** Associated data binding a password ciphertext to its connection row. */
export function connectionPasswordAad(connectionId: string): string {
  return `connection:${connectionId}:password`;
}

export async function createConnection(db: AppDatabase, box: SecretBox, input: NewConnection): Promise<Connection> {
  const id = randomUUID();
  const { password, limits, ...fields } = input;
  const [row] = await db
    .insert(connections)
    .values({
      ...fields,
      id,
      limits: limits == null ? limits : toJsonRecord(limits),
      passwordCiphertext: box.encrypt(password, connectionPasswordAad(id)),
    })
    .returning(publicColumns);
  return row!;
}

const connectionById = preparedPerDatabase((db) =>
  db.select(publicColumns).from(connections).where(eq(connections.id, sql.placeholder('id'))).prepare('connection_by_id'),
);

export async function getConnection(db: AppDatabase, id: string): Promise<Connection | null> {
  const [row] = await connectionById(db).execute({ id });
  return row ?? null;
}

export async function listConnections(db: AppDatabase, page: PageRequest = {}): Promise<Page<Connection>> {
  const limit = pageLimit(page.limit);
  const rows = await db
    .select(publicColumns)
    .from(connections)
    .where(afterCursor(connections.createdAt, connections.id, page.cursor))
    .orderBy(...newestFirst(connections.createdAt, connections.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}

export async function updateConnection(
  db: AppDatabase,
  box: SecretBox,
  id: string,
  patch: ConnectionPatch,
): Promise<Connection | null> {
  if (isEmptyPatch(patch)) return getConnection(db, id);
  const { password, limits, ...fields } = patch;
  const [row] = await db
    .update(connections)
    .set({
      ...fields,
      limits: limits == null ? limits : toJsonRecord(limits),
      ...(password === undefined ? {} : { passwordCiphertext: box.encrypt(password, connectionPasswordAad(id)) }),
    })
    .where(eq(connections.id, id))
    .returning(publicColumns);
  return row ?? null;
}

/** Decrypts the stored password; throws `ConnectionDisconnectedError` once the secret has been erased. */
export async function getConnectionCredentials(
  db: AppDatabase,
  box: SecretBox,
  id: string,
): Promise<ConnectionCredentials | null> {
  const [row] = await db.select().from(connections).where(eq(connections.id, id));
  if (!row) return null;
  const { passwordCiphertext, ...connection } = row;
  if (passwordCiphertext === null) throw new ConnectionDisconnectedError(id);
  return { connection, password: box.decrypt(passwordCiphertext, connectionPasswordAad(id)) };
}

/** Records the outcome of a credential check (and the account limits Qualys reported). */
export async function markConnectionStatus(
  db: AppDatabase,
  id: string,
  status: ConnectionStatus,
  reason: string | null,
  extra: { limits?: JsonRecordInput; checkedAt?: Date } = {},
): Promise<Connection | null> {
  const [row] = await db
    .update(connections)
    .set({
      status,
      statusReason: reason,
      lastCheckedAt: extra.checkedAt ?? new Date(),
      ...(extra.limits === undefined ? {} : { limits: toJsonRecord(extra.limits) }),
    })
    .where(eq(connections.id, id))
    .returning(publicColumns);
  return row ?? null;
}

/**
 * Disconnects: erases the stored password, disables the connection's fetchers
 * and marks their schedules paused, in one transaction. Past runs and
 * evidence stay.
 */
export async function disconnectConnection(db: AppDatabase, id: string): Promise<DisconnectResult | null> {
  return db.transaction(async (tx) => {
    const [connection] = await tx
      .update(connections)
      .set({ passwordCiphertext: null, status: 'disconnected', statusReason: 'disconnected by user' })
      .where(eq(connections.id, id))
      .returning(publicColumns);
    if (!connection) return null;
    const disabled = await tx
      .update(fetchers)
      .set({ enabled: false })
      .where(and(eq(fetchers.connectionId, id), eq(fetchers.enabled, true), isNull(fetchers.deletedAt)))
      .returning({ id: fetchers.id });
    const paused = await tx
      .update(schedules)
      .set({ paused: true })
      .where(
        inArray(
          schedules.fetcherId,
          tx.select({ id: fetchers.id }).from(fetchers).where(eq(fetchers.connectionId, id)),
        ),
      )
      .returning({ temporalScheduleId: schedules.temporalScheduleId });
    return {
      connection,
      disabledFetcherIds: disabled.map((f) => f.id),
      pausedTemporalScheduleIds: paused.map((s) => s.temporalScheduleId),
    };
  });
}
