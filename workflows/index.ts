export { fetcherRun, progressQuery } from './fetcher-run.js';
export { webhookDelivery } from './webhook-delivery.js';
