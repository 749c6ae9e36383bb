import type { ActivityDeps } from './deps.js';
import { attachEvidence as link, attachmentTargetsForFetcher } from '../db/attachments.js';
import { listFetcherControls } from '../db/fetchers.js';
import { recordStep } from '../db/run-activity.js';
import type { AttachResult } from '../shared/contracts.js';

export interface AttachEvidenceInput {
  runId: string;
  evidenceId: string;
  fetcherId: string;
}

/**
 * Files the evidence under the fetcher's controls and the open audit requests
 * that cover them. Links are unique, so a retried attach adds nothing.
 */
export function attachEvidence({ db, workerIdentity }: ActivityDeps) {
  return async ({ runId, evidenceId, fetcherId }: AttachEvidenceInput): Promise<AttachResult> => {
    await recordStep(db, runId, 'attach', workerIdentity ?? null);
    const targets = await attachmentTargetsForFetcher(db, fetcherId);
    await link(db, evidenceId, targets);
    const controls = await listFetcherControls(db, fetcherId);
    return {
      controls: controls.map((c) => ({ id: c.id, framework: c.framework, code: c.code })),
      requestIds: targets.filter((t) => t.targetType === 'request').map((t) => t.targetId),
    };
  };
}
