/**
 * Keeps Temporal schedules in step when the database retires what they run.
 * The database change is already committed, so a schedule that Temporal no
 * longer knows is not an error: there is simply nothing left to do.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';

async function ignoringMissing(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}

export async function pauseTemporalSchedules(client: Client, scheduleIds: string[], note: string): Promise<void> {
  for (const id of scheduleIds) await ignoringMissing(() => client.schedule.getHandle(id).pause(note));
}

export async function deleteTemporalSchedules(client: Client, scheduleIds: string[]): Promise<void> {
  for (const id of scheduleIds) await ignoringMissing(() => client.schedule.getHandle(id).delete());
}
