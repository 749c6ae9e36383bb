/** The asset group list (`ASSET_GROUP_LIST_OUTPUT`), paged by truncation_limit/id_min like Host List Detection. */
import { XML_GARBAGE, xmlHead, xmlTail, type BodyProducer, type RenderContext } from './body-producer.js';
import type { AssetGroup } from './asset-groups.js';
import type { ChunkWriter } from './chunk-writer.js';
import { formatEpochSeconds } from './clock.js';
import type { Dataset } from './dataset.js';
import { cdata } from './escape.js';
import { inRanges, parseIntRanges, toRuns } from './int-ranges.js';
import { intToIp } from './ipv4.js';
import { invalidValue } from './qualys-error.js';
import { echoRequestXml } from './render-echo.js';
import type { Params } from './request-params.js';
import { truncationText } from './truncation.js';

export const ASSET_GROUP_PARAMS: ReadonlySet<string> = new Set([
  'action', 'echo_request', 'ids', 'id_min', 'id_max', 'truncation_limit', 'network_ids', 'unit_id', 'user_id',
  'title', 'show_attributes', 'output_format',
]);

interface Page {
  readonly groups: readonly AssetGroup[];
  readonly next: AssetGroup | undefined;
  readonly limit: number;
  readonly showHostIds: boolean;
  readonly echo: boolean;
}

export class AssetGroupListProducer implements BodyProducer {
  private readonly page: Page;

  /** Validates the request; rendering waits for `step` so faults decided later still apply. */
  constructor(
    private readonly dataset: Dataset,
    private readonly params: Params,
    private readonly ctx: RenderContext,
  ) {
    params.requireListAction(ASSET_GROUP_PARAMS);
    this.page = selectPage(dataset, params);
  }

  step(w: ChunkWriter): boolean {
    w.utf8(render(this.dataset, this.params, this.ctx, this.page));
    return false;
  }
}

function selectPage(dataset: Dataset, params: Params): Page {
  const format = params.get('output_format');
  if (format && format.toUpperCase() !== 'XML') throw invalidValue('output_format', format, 'the simulator answers this list as XML only');
  const idsValue = params.get('ids');
  const ids = idsValue ? parseIntRanges('ids', idsValue) : null;
  const idMin = params.int('id_min', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const idMax = params.int('id_max', 0, Number.MAX_SAFE_INTEGER) ?? Number.MAX_SAFE_INTEGER;
  const limit = params.int('truncation_limit', 0, 1_000_000) ?? 1000;
  const title = params.get('title');
  const attributes = (params.get('show_attributes') ?? '').toUpperCase().split(',');
  const matching = dataset.assetGroups.filter(
    (g) => g.id >= idMin && g.id <= idMax && (!ids || inRanges(ids, g.id)) && (!title || g.title === title),
  );
  return {
    groups: limit > 0 ? matching.slice(0, limit) : matching,
    next: limit > 0 ? matching[limit] : undefined,
    limit,
    showHostIds: attributes.includes('ALL') || attributes.includes('HOST_IDS'),
    echo: params.flag('echo_request', false),
  };
}

function render(dataset: Dataset, params: Params, ctx: RenderContext, page: Page): string {
  let s = xmlHead('ASSET_GROUP_LIST_OUTPUT', `${ctx.baseUrl}/api/2.0/fo/asset/group/asset_group_list_output.dtd`, ctx.trial);
  if (page.echo) s += echoRequestXml(ctx, params);
  s += `  <RESPONSE>\n    <DATETIME>${ctx.datetime}</DATETIME>\n`;
  if (page.groups.length > 0) {
    s += '    <ASSET_GROUP_LIST>\n';
    for (const g of page.groups) {
      s +=
        `      <ASSET_GROUP>\n        <ID>${g.id}</ID>\n        <TITLE>${cdata(g.title)}</TITLE>\n` +
        `        <OWNER_ID>${g.ownerId}</OWNER_ID>\n        <UNIT_ID>0</UNIT_ID>\n        <NETWORK_ID>0</NETWORK_ID>\n` +
        `        <LAST_UPDATE>${formatEpochSeconds(dataset.anchorSec - g.lastUpdateAgo)}</LAST_UPDATE>\n` +
        `        <BUSINESS_IMPACT>${cdata(g.businessImpact)}</BUSINESS_IMPACT>\n`;
      if (g.ipRanges.length > 0) {
        s += '        <IP_SET>\n';
        for (const [lo, hi] of g.ipRanges) s += lo === hi ? `          <IP>${intToIp(lo)}</IP>\n` : `          <IP_RANGE>${intToIp(lo)}-${intToIp(hi)}</IP_RANGE>\n`;
        s += '        </IP_SET>\n';
      }
      if (page.showHostIds) s += `        <HOST_IDS>${hostIdsOf(dataset, g.ipRanges)}</HOST_IDS>\n`;
      s += '      </ASSET_GROUP>\n';
    }
    s += '    </ASSET_GROUP_LIST>\n';
  }
  if (ctx.malformed) s += XML_GARBAGE;
  if (page.next) {
    const url = `${ctx.baseUrl}${ctx.path}?${params.queryWith('id_min', String(page.next.id))}`;
    s += `    <WARNING>\n      <CODE>1980</CODE>\n      <TEXT>${truncationText(page.limit)}</TEXT>\n      <URL><![CDATA[${url}]]></URL>\n    </WARNING>\n`;
  }
  return s + `  </RESPONSE>\n${xmlTail('ASSET_GROUP_LIST_OUTPUT', ctx.trial)}`;
}

function hostIdsOf(dataset: Dataset, ranges: ReadonlyArray<readonly [number, number]>): string {
  const ids: number[] = [];
  const { layout } = dataset;
  for (const [lo, hi] of ranges) {
    for (let i = layout.ipLowerBound(lo); i < layout.count && layout.ip(i) <= hi; i++) ids.push(layout.hostId(i));
  }
  ids.sort((a, b) => a - b);
  return toRuns([...new Set(ids)])
    .map(([a, b]) => (a === b ? String(a) : `${a}-${b}`))
    .join(',');
}
