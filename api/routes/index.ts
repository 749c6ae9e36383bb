/** Every /v1 resource, registered on the app. */
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { registerApiKeyRoutes } from './api-keys.js';
import { registerAttachmentRoutes } from './attachments.js';
import { registerConnectionRoutes } from './connections.js';
import { registerConsoleRoutes } from './console.js';
import { registerControlUpgradeRoutes } from './control-upgrade.js';
import { registerControlRoutes } from './controls.js';
import { registerEvidenceAuditRoutes } from './evidence-audit.js';
import { registerEvidenceRoutes } from './evidence.js';
import { registerFetcherRoutes } from './fetchers.js';
import { registerRequestExportRoutes } from './request-export.js';
import { registerRequestRoutes } from './requests.js';
import { registerRunRoutes } from './runs.js';
import { registerScheduleRoutes } from './schedules.js';
import { registerWebhookRoutes } from './webhooks.js';

export function registerRoutes(app: ApiApp, deps: ApiDeps): void {
  registerConnectionRoutes(app, deps);
  registerFetcherRoutes(app, deps);
  registerControlUpgradeRoutes(app, deps);
  registerControlRoutes(app, deps);
  registerRequestRoutes(app, deps);
  registerRunRoutes(app, deps);
  registerEvidenceRoutes(app, deps);
  registerEvidenceAuditRoutes(app, deps);
  registerAttachmentRoutes(app, deps);
  registerRequestExportRoutes(app, deps);
  registerScheduleRoutes(app, deps);
  registerWebhookRoutes(app, deps);
  registerApiKeyRoutes(app, deps);
  registerConsoleRoutes(app);
}
