/**
 * Fetcher schedules in Temporal. Each schedule starts the `fetcherRun`
 * workflow with id `run-<schedule id>`; Temporal appends the action time
 * (`run-sched-…-2026-01-01T02:00:00Z`), so every scheduled run has its own
 * id derived from when it was due, and the workflow's prepare step creates
 * its run row from that id. Overlap is SKIP: a run still pulling when the
 * next is due makes that one skip rather than double the load on Qualys.
 */
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type CalendarSpec, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { msToTs, tsToDate } from '@temporalio/common/lib/time.js';
import type { FetcherRow } from '../db/schema.js';
import { CONNECTION_ID, FETCHER_ID, FETCHER_KIND, FETCHER_RUN_WORKFLOW, RUN_OUTCOME, RUN_WORKFLOW_ID_PREFIX, runIdOfWorkflowId, type FetcherRunInput } from '../shared/contracts.js';
import type { ScheduleTemporalState } from './schemas/schedule.js';

/** `describe` lists more upcoming times than a person reads. */
const NEXT_ACTION_TIMES = 5;

/** `sched-<uuid>`: readable in the Temporal UI, unique without asking the database. */
export function newTemporalScheduleId(): string {
  return `sched-${randomUUID()}`;
}

export interface TemporalScheduleDefinition {
  temporalScheduleId: string;
  /** The mirror row's id: recorded on each run as its schedule and trigger source. */
  scheduleRowId: string;
  fetcher: FetcherRow;
  taskQueue: string;
  calendars: CalendarSpec[];
  timezone: string;
  catchupWindow: string;
  jitter: string;
  paused: boolean;
  note?: string;
  /** Human description for the Temporal UI, e.g. "pci-quarterly". */
  label: string;
}

export async function createTemporalSchedule(client: Client, def: TemporalScheduleDefinition): Promise<void> {
  const input: FetcherRunInput = {
    fetcherId: def.fetcher.id,
    trigger: 'schedule',
    triggeredBy: def.scheduleRowId,
    scheduleId: def.scheduleRowId,
  };
  await client.schedule.create({
    scheduleId: def.temporalScheduleId,
    spec: { calendars: def.calendars, timezone: def.timezone, jitter: def.jitter as Duration },
    action: {
      type: 'startWorkflow',
      workflowType: FETCHER_RUN_WORKFLOW,
      workflowId: `${RUN_WORKFLOW_ID_PREFIX}${def.temporalScheduleId}`,
      taskQueue: def.taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: FETCHER_ID, value: def.fetcher.id },
        { key: CONNECTION_ID, value: def.fetcher.connectionId },
        { key: FETCHER_KIND, value: def.fetcher.kind },
        { key: RUN_OUTCOME, value: 'running' },
      ],
      staticSummary: `Scheduled fetcher "${def.fetcher.name}" (${def.label})`,
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: def.catchupWindow as Duration,
      pauseOnFailure: false,
    },
    typedSearchAttributes: [{ key: FETCHER_ID, value: def.fetcher.id }],
    state: { paused: def.paused, ...(def.note ? { note: def.note } : {}) },
  });
}

/** Temporal's view of the schedule, or null when Temporal no longer has it. */
export async function readTemporalState(client: Client, temporalScheduleId: string): Promise<ScheduleTemporalState | null> {
  let description;
  try {
    description = await client.schedule.getHandle(temporalScheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
  const { info, state } = description;
  return {
    paused: state.paused,
    note: state.note ?? null,
    nextActionTimes: info.nextActionTimes.slice(0, NEXT_ACTION_TIMES).map((d) => d.toISOString()),
    recentActions: info.recentActions.map((a) => {
      const runId = runIdOfWorkflowId(a.action.workflow.workflowId);
      return {
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: a.action.workflow.workflowId,
        runId,
        links: { run: `/v1/runs/${encodeURIComponent(runId)}` },
      };
    }),
    runningRunIds: info.runningActions.map((a) => runIdOfWorkflowId(a.workflow.workflowId)),
    actionsTaken: info.numActionsTaken,
    actionsSkippedOverlap: info.numActionsSkippedOverlap,
    actionsMissedCatchupWindow: info.numActionsMissedCatchupWindow,
  };
}

/** The times the schedule's spec fires within [start, end), as Temporal computes them. */
export async function matchingTimes(client: Client, namespace: string, temporalScheduleId: string, start: Date, end: Date): Promise<Date[]> {
  const response = await client.workflowService.listScheduleMatchingTimes({
    namespace,
    scheduleId: temporalScheduleId,
    startTime: msToTs(start.getTime()),
    endTime: msToTs(end.getTime()),
  });
  return (response.startTime ?? []).map((ts) => tsToDate(ts));
}

/** Deletes the Temporal schedule; one that is already gone is fine. */
export async function deleteTemporalSchedule(client: Client, temporalScheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(temporalScheduleId).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
