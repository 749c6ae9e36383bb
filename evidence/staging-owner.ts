/**
 * Who is writing staging entries. Every store instance is one owner; staging
 * names carry its id, and while the owner has any stage open it refreshes a
 * heartbeat entry (`tmp/owners/<id>`) in the store itself. A process killed
 * with SIGKILL stops refreshing, which is how another process can tell its
 * staging is abandoned (staging-reclaim.ts) without any other shared service.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';

/** Where the heartbeat of an owner lives; the store decides what "write" means (a file, an object). */
export interface HeartbeatTarget {
  write(ownerId: string): Promise<void>;
  remove(ownerId: string): Promise<void>;
}

const OWNER_ID = /^[A-Za-z0-9-]{1,100}$/;
const STAGING_NAME = /^([A-Za-z0-9-]{1,100})\.([0-9a-f-]{36})\.part$/;
/** Staging files written before owners existed: `<uuid>.part`. */
const OWNERLESS_STAGING_NAME = /^[0-9a-f-]{36}\.part$/;

/** Host, process and a random suffix: unique across machines and PID reuse, readable in a listing. */
export function newOwnerId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9-]+/g, '-').slice(0, 60) || 'host';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function stagingName(ownerId: string, uuid: string): string {
  return `${ownerId}.${uuid}.part`;
}

/** The owner a staging name carries: a string, null for an ownerless legacy name, undefined when it is no staging name. */
export function ownerOfStagingName(name: string): string | null | undefined {
  const match = STAGING_NAME.exec(name);
  if (match) return match[1]!;
  return OWNERLESS_STAGING_NAME.test(name) ? null : undefined;
}

export function isOwnerId(value: string): boolean {
  return OWNER_ID.test(value);
}

/**
 * Counts open stages and keeps the heartbeat fresh while there is one. The
 * heartbeat is written before the first stage is created and removed only
 * after the last one is gone, so a staging entry that exists always has a
 * heartbeat unless its writer died. Writes and removals run one after the
 * other, so a removal can never land after a later write.
 */
export class StagingOwner {
  readonly id = newOwnerId();
  private open = 0;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly target: HeartbeatTarget,
    private readonly intervalMs: number,
  ) {}

  /** Call before creating a stage; call the returned function once the stage is gone (committed or discarded). */
  async enter(): Promise<() => Promise<void>> {
    this.open += 1;
    if (this.open === 1) {
      this.timer = setInterval(() => void this.serially(() => this.target.write(this.id)).catch(() => {}), this.intervalMs);
      this.timer.unref();
    }
    try {
      await this.serially(() => this.target.write(this.id));
    } catch (error) {
      await this.leave();
      throw error;
    }
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      await this.leave();
    };
  }

  private async leave(): Promise<void> {
    this.open -= 1;
    if (this.open > 0) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A failed removal only leaves a stale heartbeat, which the next reclaim removes.
    await this.serially(async () => {
      if (this.open === 0) await this.target.remove(this.id);
    }).catch(() => {});
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => {});
    return next;
  }
}
