/**
 * The rule for staging left behind by a killed process (a `kill -9` during a
 * pull or a seal leaves a half-written `.part` file or multipart upload).
 *
 * A staging entry is removed when both hold:
 *  - its owner is not alive: the owner's heartbeat (refreshed every
 *    `graceMs / 4`, at most every 30 s, while it has a stage open) is missing
 *    or older than `graceMs`;
 *  - the entry itself is older than `graceMs`, so an entry created a moment
 *    ago is never judged on a heartbeat listing taken before it existed.
 * Entries whose name carries no owner (written before owners existed) are
 * removed once older than OWNERLESS_MAX_AGE_MS. Heartbeats older than the
 * grace with no entry left are removed too.
 *
 * Entries are listed before heartbeats: an entry that still exists when the
 * heartbeats are listed has a heartbeat unless its owner died (see
 * staging-owner.ts), so a live writer's stage is never removed, however long
 * Qualys takes to answer.
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
  /** When the entry was created or last written, by the store's clock. */
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
    const age = now.getTime() - entry.at.getTime();
    const abandoned = entry.owner === null ? age > OWNERLESS_MAX_AGE_MS : !alive.has(entry.owner) && age > graceMs;
    (abandoned ? remove : keep).push(entry);
  }
  const stillOwning = new Set(keep.map((e) => e.owner));
  const staleHeartbeats = heartbeats.filter((h) => h.at.getTime() <= cutoff && !stillOwning.has(h.owner));
  return { remove, keep, staleHeartbeats };
}
