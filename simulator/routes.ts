/** Which API paths the simulator serves; anything else is a 404. */
import type { EndpointName } from './faults.js';
import type { ApiVersion } from './hld-query.js';

export interface Route {
  readonly endpoint: EndpointName;
  readonly version: ApiVersion;
}

const VERSIONED: ReadonlyArray<readonly [RegExp, EndpointName]> = [
  [/^\/api\/(2\.0|3\.0|4\.0|5\.0)\/fo\/asset\/host\/vm\/detection\/?$/, 'detection'],
  [/^\/api\/(2\.0|3\.0|4\.0|5\.0)\/fo\/asset\/host\/?$/, 'hostList'],
];
const FIXED: ReadonlyArray<readonly [RegExp, EndpointName]> = [
  [/^\/api\/2\.0\/fo\/asset\/group\/?$/, 'assetGroups'],
  [/^\/api\/2\.0\/fo\/qid\/search_list\/dynamic\/?$/, 'searchLists'],
  [/^\/api\/2\.0\/fo\/knowledge_base\/vuln\/?$/, 'knowledgeBase'],
  [/^\/msp\/about\.php$/, 'about'],
];

export function matchRoute(pathname: string): Route | null {
  for (const [pattern, endpoint] of VERSIONED) {
    const m = pattern.exec(pathname);
    if (m) return { endpoint, version: m[1] as ApiVersion };
  }
  for (const [pattern, endpoint] of FIXED) if (pattern.test(pathname)) return { endpoint, version: '2.0' };
  return null;
}
