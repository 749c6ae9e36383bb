import type { ActivityDeps } from './deps.js';
import { attachEvidence as link, attachmentTargetsForFetcher } from '../db/attachments.js';
import { getEvidence } from '../db/evidence.js';
import { listFetcherControls } from '../db/fetchers.js';
import { notFound } from './failures.js';
import { recordStep } from '../db/run-activity.js';
import type { AttachResult } from '../shared/contracts.js';

export interface AttachEvidenceInput {
  runId: string;
  evidenceId: string;
  fetcherId: string;
}

/**
 * Files the evidence under the fetcher's controls and the open audit requests
 * that cover them and whose period holds the day it was collected. Links are
 * unique, so a retried attach adds nothing; each new link is an event
 * recorded with the run as its actor.
 */
export function attachEvidence({ db, workerIdentity }: ActivityDeps) {
  return async ({ runId, evidenceId, fetcherId }: AttachEvidenceInput): Promise<AttachResult> => {
    await recordStep(db, runId, 'attach', workerIdentity ?? null);
    const evidence = await getEvidence(db, evidenceId);
    if (!evidence) throw notFound('evidence', evidenceId);
    const targets = await attachmentTargetsForFetcher(db, fetcherId, evidence.collectedAt);
    await link(db, evidenceId, targets, { source: 'run', actor: runId });
    const controls = await listFetcherControls(db, fetcherId);
    return {
      controls: controls.map((c) => ({ id: c.id, framework: c.framework, code: c.code })),
      requestIds: targets.filter((t) => t.targetType === 'request').map((t) => t.targetId),
    };
  };
}
