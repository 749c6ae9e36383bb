/**
 * Typed search attributes of a fetcher run. Shared by the workflow (which
 * upserts RunOutcome), the client that starts runs, and the dev server
 * start-up that registers them.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const FETCHER_ID = defineSearchAttributeKey('FetcherId', SearchAttributeType.KEYWORD);
export const CONNECTION_ID = defineSearchAttributeKey('ConnectionId', SearchAttributeType.KEYWORD);
export const FETCHER_KIND = defineSearchAttributeKey('FetcherKind', SearchAttributeType.KEYWORD);
export const RUN_OUTCOME = defineSearchAttributeKey('RunOutcome', SearchAttributeType.KEYWORD);

export const RUN_SEARCH_ATTRIBUTES = [FETCHER_ID, CONNECTION_ID, FETCHER_KIND, RUN_OUTCOME] as const;
