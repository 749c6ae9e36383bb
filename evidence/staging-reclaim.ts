/**
 * The rule for staging left behind by a killed process (a `kill -9` during a
 * pull or a seal leaves a half-written `.part` file or multipart upload).
 *
 * A staging entry is removed when its owner is not alive: the owner's
 * heartbeat (refreshed every `graceMs / 4`, at most every 30 s, while it has
 * a stage open) is missing or older than `graceMs`. The entry's own age does
 * not matter: a live writer's stage may sit unchanged for many minutes while
 * Qualys prepares a page, and some S3-compatible servers do not even report
 * when a multipart upload began.
 *
 * That is safe because entries are listed before heartbeats: an owner writes
 * its heartbeat before it creates an entry and removes it only after its last
 * entry is gone (staging-owner.ts), so an entry that still exists when the
 * heartbeats are listed has a fresh heartbeat unless its owner died; an entry
 * that went away in between is removed a second time, which does nothing.
 *
 * Entries whose name carries no owner (written before owners existed) are
 * removed once older than OWNERLESS_MAX_AGE_MS. Heartbeats older than the
 * grace with no entry left are removed too.
 */

export const DEFAULT_STAGING_GRACE_MS = 5 * 60_000;
export const OWNERLESS_MAX_AGE_MS = 24 * 60 * 60_000;
const MAX_HEARTBEAT_INTERVAL_MS = 30_000;

export function heartbeatIntervalMs(graceMs: number): number {
  return Math.max(100, Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.floor(graceMs / 4)));
}

export interface StagingEntry {
  name: string;
  /** null for a name without an owner. */
  owner: string | null;
  /** When the entry was created or last written, by the store's clock (only ownerless entries are judged by it). */
  at: Date;
}

export interface OwnerHeartbeat {
  owner: string;
  at: Date;
}

export interface ReclaimDecision {
  remove: StagingEntry[];
  keep: StagingEntry[];
  staleHeartbeats: OwnerHeartbeat[];
}

export function decideReclaim(entries: StagingEntry[], heartbeats: OwnerHeartbeat[], now: Date, graceMs: number): ReclaimDecision {
  const cutoff = now.getTime() - graceMs;
  const alive = new Set(heartbeats.filter((h) => h.at.getTime() > cutoff).map((h) => h.owner));
  const remove: StagingEntry[] = [];
  const keep: StagingEntry[] = [];
  for (const entry of entries) {
    const abandoned = entry.owner === null ? now.getTime() - entry.at.getTime() > OWNERLESS_MAX_AGE_MS : !alive.has(entry.owner);
    (abandoned ? remove : keep).push(entry);
  }
  const stillOwning = new Set(keep.map((e) => e.owner));
  const staleHeartbeats = heartbeats.filter((h) => h.at.getTime() <= cutoff && !stillOwning.has(h.owner));
  return { remove, keep, staleHeartbeats };
}
