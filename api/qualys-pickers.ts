/**
 * The options of the fetcher form's pickers (asset groups, dynamic search
 * lists), read from Qualys and kept briefly per connection. A form opens the
 * pickers and then saves a fetcher whose IDs are checked against the same
 * lists, so a short cache saves Qualys calls (they count against the
 * account's rate limit) without serving lists that are long out of date.
 */
import { LRUCache } from 'lru-cache';
import type { IdListItem } from '../qualys/client.js';
import type { ApiDeps } from './deps.js';
import { withStoredConnection } from './qualys-access.js';

export type PickerKind = 'asset-groups' | 'search-lists';

export interface PickerList {
  items: IdListItem[];
  /** When Qualys was asked; the list is reused until `fetchedAt` + TTL. */
  fetchedAt: Date;
}

export interface QualysPickers {
  /** `refresh` skips a cached list, e.g. when an ID the user just picked is missing from it. */
  list(connectionId: string, kind: PickerKind, options?: { refresh?: boolean }): Promise<PickerList>;
  /** Drops a connection's lists, e.g. after its credentials changed. */
  forget(connectionId: string): void;
}

export const PICKER_TTL_MS = 60_000;
/** Lists of this many connection × picker pairs stay cached; older ones are dropped first. */
const MAX_LISTS = 500;

export function createQualysPickers(deps: ApiDeps): QualysPickers {
  // Promises are cached, so callers arriving while Qualys answers wait for the same call.
  const lists = new LRUCache<string, Promise<PickerList>>({ max: MAX_LISTS, ttl: PICKER_TTL_MS });
  const key = (connectionId: string, kind: PickerKind) => `${connectionId}\u0000${kind}`;

  const fetchList = (connectionId: string, kind: PickerKind): Promise<PickerList> =>
    withStoredConnection(deps, connectionId, async (client) => ({
      items: kind === 'asset-groups' ? await client.listAssetGroups() : await client.listSearchLists(),
      fetchedAt: new Date(),
    }));

  return {
    list(connectionId, kind, { refresh = false } = {}) {
      const k = key(connectionId, kind);
      const cached = lists.get(k);
      if (cached && !refresh) return cached;
      const list = fetchList(connectionId, kind);
      lists.set(k, list);
      // A failed call is not remembered: the next caller asks Qualys again.
      list.catch(() => {
        if (lists.get(k) === list) lists.delete(k);
      });
      return list;
    },
    forget(connectionId) {
      lists.delete(key(connectionId, 'asset-groups'));
      lists.delete(key(connectionId, 'search-lists'));
    },
  };
}

const perApp = new WeakMap<ApiDeps, QualysPickers>();

/** The one picker cache of an API instance, shared by its connection and fetcher routes. */
export function qualysPickersFor(deps: ApiDeps): QualysPickers {
  let pickers = perApp.get(deps);
  if (!pickers) {
    pickers = createQualysPickers(deps);
    perApp.set(deps, pickers);
  }
  return pickers;
}
