/**
 * Staging left by a process killed with SIGKILL mid-write is reclaimed, in
 * both stores, while the staging of a live writer survives every sweep.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { decideReclaim, OWNERLESS_MAX_AGE_MS, type StagingEntry } from '../evidence/staging-reclaim.js';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { localHarness, s3Harness, type StoreHarness } from './support/blob-stores.js';
import { describeWhenAvailable } from './support/unavailable.js';

describe('the reclaim rule', () => {
  const now = new Date('2026-11-01T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const entry = (name: string, owner: string | null, ageMs: number): StagingEntry => ({ name, owner, at: ago(ageMs) });

  it('removes the entries of owners without a fresh heartbeat, and nothing of a live owner however old', () => {
    const grace = 60_000;
    const decision = decideReclaim(
      [
        entry('dead-old', 'dead', 2 * grace),
        entry('dead-young', 'dead', 10),
        entry('live-old', 'live', 100 * grace),
        entry('gone-old', 'gone', 2 * grace),
        entry('legacy-old', null, OWNERLESS_MAX_AGE_MS + 1),
        entry('legacy-young', null, 10 * grace),
      ],
      [
        { owner: 'live', at: ago(grace / 4) },
        { owner: 'dead', at: ago(grace + 1) },
        { owner: 'idle', at: ago(3 * grace) },
      ],
      now,
      grace,
    );
    expect(decision.remove.map((e) => e.name).sort()).toEqual(['dead-old', 'dead-young', 'gone-old', 'legacy-old']);
    expect(decision.keep.map((e) => e.name).sort()).toEqual(['legacy-young', 'live-old']);
    expect(decision.staleHeartbeats.map((h) => h.owner).sort()).toEqual(['dead', 'idle']);
  });
});

const s3proxy = inject('s3proxy');
// Well above the 1 s resolution of S3's LastModified, which heartbeats are read from.
const GRACE_MS = 3000;
const stores: Array<{ name: string; unavailable: string | null; open: () => Promise<StoreHarness> }> = [
  { name: 'local', unavailable: null, open: () => localHarness({ stagingGraceMs: GRACE_MS }) },
  { name: 'S3', unavailable: s3proxy.available ? null : s3proxy.reason, open: () => s3Harness(s3proxy, { stagingGraceMs: GRACE_MS }) },
];

for (const { name, unavailable, open } of stores) {
  describeWhenAvailable(`reclaiming ${name} staging after kill -9`, unavailable, () => {
    let harness: StoreHarness | null = null;
    afterEach(async () => {
      await harness?.close();
    });

    it('removes the killed writer\'s staging and keeps the live writer\'s', async () => {
      harness = await open();
      const live = await harness.store.stage();
      await new Promise<void>((resolve, reject) => live.sink.write(Buffer.alloc(6 * 1024 * 1024, 0x42), (e) => (e ? reject(e) : resolve())));
      await expect.poll(() => harness!.staging(), { timeout: 10_000 }).toHaveLength(1);
      const liveEntries = await harness.staging();

      const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test/support/stage-and-hold.ts')], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...harness.env, BLOB_STAGING_GRACE_SEC: '3', S3_PART_SIZE_MB: '5', LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (b) => (output += b));
      child.stderr!.on('data', (b) => (output += b));
      await expect
        .poll(
          () => {
            if (child.exitCode !== null) throw new Error(`the staging process exited early: ${output}`);
            return output.includes('staged');
          },
          { timeout: 30_000, interval: 50 },
        )
        .toBe(true);
      await expect.poll(() => harness!.staging(), { timeout: 10_000 }).toHaveLength(2);
      const killedEntry = (await harness.staging()).find((e) => !liveEntries.includes(e))!;
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));

      // Another process sweeps until the killed writer's heartbeat has gone stale.
      const sweeper = harness.reopen({ stagingGraceMs: GRACE_MS });
      const removed: string[] = [];
      await expect
        .poll(
          async () => {
            removed.push(...(await sweeper.reclaimStaging()).removed);
            return harness!.staging();
          },
          { timeout: 15_000, interval: 250 },
        )
        .toEqual(liveEntries);
      expect(removed.some((r) => killedEntry.includes(r.split('#')[0]!))).toBe(true);

      // The live writer, older than the grace by now, was never touched and still commits.
      await new Promise<void>((resolve, reject) => live.sink.write(Buffer.from('tail'), (e) => (e ? reject(e) : resolve())));
      const stat = await live.commit();
      expect((await harness.store.stat(stat.key))?.bytes).toBe(6 * 1024 * 1024 + 4);
      expect(await harness.everything()).toEqual([stat.key]);
      // Nothing is left to reclaim, and a sweep of an idle store is harmless.
      expect((await sweeper.reclaimStaging()).removed).toEqual([]);
      await harness.store.put(Readable.from([Buffer.from('after the sweep')]));
    });
  });
}
