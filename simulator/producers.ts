/** Picks the document generator for a route; constructing one validates the request. */
import type { BodyProducer, RenderContext } from './body-producer.js';
import type { Dataset } from './dataset.js';
import { HldMatcher } from './hld-matcher.js';
import { parseHldQuery, type HldQuery } from './hld-query.js';
import { AboutProducer } from './render-about.js';
import { AssetGroupListProducer } from './render-asset-groups.js';
import { HldCsvProducer } from './render-hld-csv.js';
import { HldXmlProducer } from './render-hld-xml.js';
import { HostListProducer } from './render-host-list.js';
import { KnowledgeBaseProducer } from './render-knowledge-base.js';
import { SearchListProducer } from './render-search-lists.js';
import type { Params } from './request-params.js';
import type { Route } from './routes.js';

export interface Answer {
  readonly producer: BodyProducer;
  readonly contentType: string;
  /** Hosts on this page, for a time to first byte that grows with them (counted only when asked). */
  hostsOnPage(): number;
}

const XML = 'text/xml;charset=UTF-8';
/** Successful Host List Detection answers come as application/xml, unlike the other lists. */
const HLD_XML = 'application/xml';
const NO_HOSTS = () => 0;

export function createAnswer(route: Route, params: Params, dataset: Dataset, ctx: RenderContext): Answer {
  switch (route.endpoint) {
    case 'detection': {
      const query = parseHldQuery(params, route.version, dataset, dataset.clock.nowMs());
      const hostsOnPage = () => countPageHosts(dataset, query);
      return query.format === 'XML'
        ? { producer: new HldXmlProducer(dataset, query, ctx), contentType: HLD_XML, hostsOnPage }
        : { producer: new HldCsvProducer(dataset, query, ctx), contentType: 'text/csv;charset=UTF-8', hostsOnPage };
    }
    case 'assetGroups':
      return { producer: new AssetGroupListProducer(dataset, params, ctx), contentType: XML, hostsOnPage: NO_HOSTS };
    case 'searchLists':
      return { producer: new SearchListProducer(dataset, params, ctx), contentType: XML, hostsOnPage: NO_HOSTS };
    case 'hostList':
      return { producer: new HostListProducer(dataset, params, ctx, route.version), contentType: XML, hostsOnPage: NO_HOSTS };
    case 'knowledgeBase':
      return { producer: new KnowledgeBaseProducer(dataset, params, ctx), contentType: XML, hostsOnPage: NO_HOSTS };
    case 'about':
      return { producer: new AboutProducer(ctx), contentType: XML, hostsOnPage: NO_HOSTS };
  }
}

function countPageHosts(dataset: Dataset, query: HldQuery): number {
  const matcher = new HldMatcher(dataset, query);
  const limit = query.truncationLimit;
  let hosts = 0;
  while ((limit === 0 || hosts < limit) && matcher.next()) hosts++;
  return hosts;
}
