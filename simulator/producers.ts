/** Picks the document generator for a route; constructing one validates the request. */
import type { BodyProducer, RenderContext } from './body-producer.js';
import type { Dataset } from './dataset.js';
import { parseHldQuery } from './hld-query.js';
import { AssetGroupListProducer } from './render-asset-groups.js';
import { HldCsvProducer } from './render-hld-csv.js';
import { HldXmlProducer } from './render-hld-xml.js';
import { HostListProducer } from './render-host-list.js';
import { SearchListProducer } from './render-search-lists.js';
import type { Params } from './request-params.js';
import type { Route } from './routes.js';

export interface Answer {
  readonly producer: BodyProducer;
  readonly contentType: string;
}

const XML = 'text/xml;charset=UTF-8';

export function createAnswer(route: Route, params: Params, dataset: Dataset, ctx: RenderContext): Answer {
  switch (route.endpoint) {
    case 'detection': {
      const query = parseHldQuery(params, route.version, dataset, dataset.clock.nowMs());
      return query.format === 'XML'
        ? { producer: new HldXmlProducer(dataset, query, ctx), contentType: XML }
        : { producer: new HldCsvProducer(dataset, query, ctx), contentType: 'text/csv;charset=UTF-8' };
    }
    case 'assetGroups':
      return { producer: new AssetGroupListProducer(dataset, params, ctx), contentType: XML };
    case 'searchLists':
      return { producer: new SearchListProducer(dataset, params, ctx), contentType: XML };
    case 'hostList':
      return { producer: new HostListProducer(dataset, params, ctx), contentType: XML };
  }
}
